"""What went wrong with a fetch, in words a user can act on.

The fetcher raises ``FeedError(url, problem)``; the ``problem`` texts for HTTP
statuses, redirect chains and httpx exceptions are written here, in one place,
so their wording stays consistent ("HTTP 404 Not Found", "connection refused",
"timed out after 10 s connecting", "redirect loop: a -> b -> a").
"""

from __future__ import annotations

import http
from datetime import UTC, datetime

import httpx

from bot.feeds.hints import retry_after_seconds

# What a 410 leaves on its feed, which is then never polled again (``bot.pipeline``).
GONE_PROBLEM = "gone (HTTP 410): remove it from feeds.yaml"


def describe_status(response: httpx.Response) -> str:
    """``"HTTP 404 Not Found"``, or ``"HTTP 429, retry after 120 s"`` when the server says."""
    status = response.status_code
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = response.reason_phrase
    text = f"HTTP {status} {reason}".rstrip()
    retry_after = response_retry_after(response)
    if retry_after is not None:
        text = f"HTTP {status}, retry after {round(retry_after)} s"
    return text


def response_retry_after(response: httpx.Response) -> float | None:
    """The response's Retry-After in seconds (an HTTP-date counts from its Date header)."""
    headers = response.headers
    return retry_after_seconds(
        headers.get("Retry-After"), date=headers.get("Date"), now=datetime.now(UTC)
    )


def describe_redirects(chain: list[str], max_redirects: int) -> str:
    """Why following ``chain`` (the feed URL, then each target) was given up."""
    if len(set(chain)) < len(chain):
        start = next(i for i, u in enumerate(chain) if chain.index(u) != i)
        loop_from = chain.index(chain[start])
        return "redirect loop: " + " -> ".join(chain[loop_from : start + 1])
    return f"too many redirects (more than {max_redirects}), last to {chain[-1]}"


def describe_http_error(
    exc: Exception, *, connect_timeout: float, read_timeout: float, max_redirects: int
) -> str:
    """A short, readable problem for an httpx exception; the limits are the ones in force."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {format_seconds(connect_timeout)} connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return f"timed out after {format_seconds(read_timeout)} reading"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timed out after {format_seconds(read_timeout)} sending the request"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.ConnectError):
        return _describe_connect_error(exc)
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {max_redirects})"
    if isinstance(exc, httpx.DecodingError):
        return f"could not decode the response body: {_first_line(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = _first_line(exc)
        if "without sending complete message body" in text:
            # h11's "(received N bytes, expected M)" is the useful part.
            counts = text[text.find("(") :] if "(" in text else ""
            return f"connection closed before the whole body arrived {counts}".rstrip()
        return f"server broke the HTTP protocol: {text}"
    if isinstance(exc, httpx.ReadError):
        return f"connection lost while reading: {_lost_reason(exc)}"
    if isinstance(exc, httpx.WriteError):
        return f"connection lost while sending the request: {_first_line(exc)}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL: {_first_line(exc)}"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {_first_line(exc)}"
    return f"request failed: {type(exc).__name__}: {_first_line(exc)}"


def _lost_reason(exc: Exception) -> str:
    """Why a connection dropped: httpx's own text is often empty, its cause is not."""
    causes = _cause_chain(exc)
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset by the server"
    if any(isinstance(c, BrokenPipeError | ConnectionAbortedError) for c in causes):
        return "connection closed by the server"
    text = str(exc).strip()
    return text.splitlines()[0] if text else "connection reset by the server"


def _describe_connect_error(exc: Exception) -> str:
    causes = _cause_chain(exc)
    text = " ".join(str(c) for c in causes).lower()
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        return "connection refused"
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("temporary failure in name resolution" in text)
    ):
        return "host not found"
    if "ssl" in text or "certificate" in text:
        return f"TLS handshake failed: {_first_line(exc)}"
    return f"could not connect: {_first_line(exc) or type(exc).__name__}"


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def format_seconds(value: float) -> str:
    """``10.0`` -> ``"10 s"``; as the limits are written."""
    return f"{value:g} s"


def format_size(size: int) -> str:
    """``10485760`` -> ``"10 MB"``; binary units, as the limits are written."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
