"""Fetch feed documents over HTTP(S) or from local files.

``Fetcher`` owns one ``httpx.AsyncClient`` and turns a feed URL into a
``FetchResult``: the body (or ``None`` when the server says 304 Not Modified),
the validators to send next time, and where redirects led. It decides nothing
about what the body means; that is ``bot.feeds.parse``.

Every failure leaves ``fetch`` as a ``FeedError`` whose problem a user can act
on ("HTTP 404 Not Found", "connection refused", "body larger than 10 MB"); no
httpx exception escapes this module.

Guards, because feeds come from servers we do not control:

- timeouts for connecting and for each read, plus a total deadline so a server
  dripping one byte every few seconds cannot hold a worker forever;
- a cap on the *decoded* body size, counted while streaming; gzip and deflate are
  inflated here in bounded steps, so a gzip bomb never takes more memory than the cap;
- a bound on redirects, with loops named as such;
- a semaphore bounding how many fetches run at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from bot import __version__
from bot.errors import FeedError

USER_AGENT = f"claimbot/{__version__} (+https://github.com/claimbot/claimbot)"

ACCEPT = ", ".join(
    [
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml;q=0.9",
        "application/xml;q=0.8",
        "text/xml;q=0.8",
        "application/json;q=0.7",
        "*/*;q=0.1",
    ]
)

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECT_STATUSES = frozenset({301, 308})
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BAD_HOST_RE = re.compile(r"[\s%\[\]\\/@<>\"{}|^`]")


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch (seconds and bytes) and on the fetcher as a whole."""

    connect_timeout: float = 10
    read_timeout: float = 20
    total_timeout: float = 60
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_concurrency: int = 20


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought back.

    ``etag`` and ``last_modified`` are the validators to store and send next
    time; on a 304 without new validators they are the ones sent.
    ``permanent_redirect`` is true when every redirect followed was a 301/308,
    so ``final_url`` may replace the stored feed URL.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    permanent_redirect: bool

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """Fetches feeds; use as ``async with Fetcher() as fetcher: await fetcher.fetch(url)``."""

    def __init__(
        self,
        limits: FetchLimits = FetchLimits(),  # noqa: B008 - frozen, so sharing it is safe
        *,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._limits = limits
        self._user_agent = user_agent or USER_AGENT
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None

    async def __aenter__(self) -> Fetcher:
        limits = self._limits
        # Made here, not in __init__, so it belongs to the event loop that uses it.
        self._semaphore = asyncio.Semaphore(max(1, limits.max_concurrency))
        self._client = httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
            limits=httpx.Limits(max_connections=max(1, limits.max_concurrency)),
            follow_redirects=False,  # followed by hand: loops, permanence, scheme checks
            headers={
                "User-Agent": self._user_agent,
                "Accept": ACCEPT,
                # Only what httpx always decodes; brotli/zstd depend on optional packages.
                "Accept-Encoding": "gzip, deflate",
            },
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None
        self._semaphore = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` (http(s)://, file:// or a file path); raises ``FeedError`` only."""
        client, semaphore = self._client, self._semaphore
        if client is None or semaphore is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher()'")
        path = _local_path(url)
        async with semaphore:
            if path is not None:
                return await asyncio.to_thread(_read_file, url, path, self._limits.max_bytes)
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                async with asyncio.timeout(self._limits.total_timeout):
                    result = await self._fetch_http(client, url, headers)
            except TimeoutError:
                total = _seconds(self._limits.total_timeout)
                raise FeedError(url, f"timed out after {total} in total") from None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise FeedError(url, _describe_http_error(exc, self._limits)) from exc
        if result.not_modified:
            return FetchResult(
                url=result.url,
                final_url=result.final_url,
                status=result.status,
                body=None,
                etag=result.etag or etag,
                last_modified=result.last_modified or last_modified,
                content_type=result.content_type,
                permanent_redirect=result.permanent_redirect,
            )
        return result

    async def _fetch_http(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str]
    ) -> FetchResult:
        chain = [url]
        permanent = True
        current = url
        while True:
            async with client.stream("GET", current, headers=headers) as response:
                if response.status_code in _REDIRECT_STATUSES:
                    target = _redirect_target(url, response)
                    permanent = permanent and response.status_code in _PERMANENT_REDIRECT_STATUSES
                    chain.append(target)
                    if len(chain) - 1 > self._limits.max_redirects:
                        raise FeedError(url, _describe_redirects(chain, self._limits.max_redirects))
                    current = target
                    continue
                return await self._read_response(
                    url, response, redirected=len(chain) > 1, permanent=permanent
                )

    async def _read_response(
        self, url: str, response: httpx.Response, *, redirected: bool, permanent: bool
    ) -> FetchResult:
        status = response.status_code
        if status != 304 and not 200 <= status < 300:
            raise FeedError(url, _describe_status(response), status=status)
        body: bytes | None = None
        if status != 304:
            body = await self._read_body(url, response)
        return FetchResult(
            url=url,
            final_url=str(response.url),
            status=status,
            body=body,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type"),
            permanent_redirect=redirected and permanent,
        )

    async def _read_body(self, url: str, response: httpx.Response) -> bytes:
        max_bytes = self._limits.max_bytes
        too_large = f"body larger than {format_size(max_bytes)}"
        encoding = response.headers.get("Content-Encoding", "identity")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes and _is_identity(encoding):
            raise FeedError(url, too_large)
        if response.is_stream_consumed:
            # A transport that hands over a body already read and decoded
            # (httpx.MockTransport with content=...); nothing left to bound.
            if len(response.content) > max_bytes:
                raise FeedError(url, too_large)
            return response.content
        decoder = _BoundedDecoder(url, encoding)
        chunks: list[bytes] = []
        size = 0
        # Decoded here rather than by httpx: httpx inflates each network read whole, so
        # one 64 KB read of a gzip bomb becomes ~64 MB before anyone can count it.
        async for raw in response.aiter_raw():
            for chunk in decoder.decode(raw, max_bytes - size + 1):
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(url, too_large)
                chunks.append(chunk)
        size += len(tail := decoder.flush())
        if size > max_bytes:
            raise FeedError(url, too_large)
        chunks.append(tail)
        return b"".join(chunks)


class _BoundedDecoder:
    """Undoes Content-Encoding (gzip, deflate) without ever inflating more than asked."""

    def __init__(self, url: str, encoding: str) -> None:
        self._url = url
        self._encoding = encoding.strip().lower()
        self._raw_deflate_tried = False
        self._zlib: Any = None  # zlib's decompress object type is not public
        if self._encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self._encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif not _is_identity(self._encoding):
            raise FeedError(url, f"unsupported Content-Encoding {encoding!r}")

    def decode(self, data: bytes, limit: int) -> Iterator[bytes]:
        """Yield decoded pieces of ``data``, each at most ``limit`` bytes."""
        if self._zlib is None:
            yield data
            return
        limit = max(1, limit)
        while True:
            try:
                piece = self._zlib.decompress(data, limit)
            except zlib.error as exc:
                if self._encoding == "deflate" and not self._raw_deflate_tried:
                    # "deflate" is often sent raw, without the zlib header.
                    self._raw_deflate_tried = True
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise self._error(exc) from exc
            self._raw_deflate_tried = True
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < limit:
                return

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            return bytes(self._zlib.flush())
        except zlib.error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: zlib.error) -> FeedError:
        return FeedError(self._url, f"could not decode the {self._encoding} body: {exc}")


def _is_identity(encoding: str) -> bool:
    return encoding.strip().lower() in ("", "identity")


def _local_path(url: str) -> Path | None:
    """The file ``url`` names, ``None`` for http(s); ``FeedError`` for anything else."""
    if not url.strip():
        raise FeedError(url, "empty feed URL")
    match = _SCHEME_RE.match(url)
    if match is None or len(match.group(1)) == 1:  # no scheme, or a Windows drive letter
        return Path(url)
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        _check_http_url(url, url)
        return None
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FeedError(url, f"file URL on another host ({parts.netloc}) is not supported")
        return Path(url2pathname(parts.path))
    raise FeedError(url, f"unsupported URL scheme {scheme!r} (use http, https, file or a path)")


def _check_http_url(url: str, target: str) -> httpx.URL:
    """``target`` parsed, or ``FeedError`` (about feed ``url``) if it cannot be requested.

    httpx is lenient: it percent-encodes a space in a host name and sends it to
    DNS, and an out-of-range port escapes anyio as an OverflowError group.
    """
    try:
        parsed = httpx.URL(target)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FeedError(url, f"invalid URL {target!r}: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise FeedError(url, f"unsupported URL scheme {parsed.scheme!r} in {target!r}")
    if not parsed.host:
        raise FeedError(url, f"invalid URL {target!r}: no host")
    if _BAD_HOST_RE.search(parsed.host):
        raise FeedError(url, f"invalid URL {target!r}: bad host name")
    if port is not None and not 0 < port < 65536:
        raise FeedError(url, f"invalid URL {target!r}: port {port} out of range")
    return parsed


def _read_file(url: str, path: Path, max_bytes: int) -> FetchResult:
    try:
        with path.open("rb") as f:
            body = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise FeedError(url, f"file not found: {path}") from None
    except IsADirectoryError:
        raise FeedError(url, f"is a directory, not a feed file: {path}") from None
    except PermissionError:
        raise FeedError(url, f"permission denied reading {path}") from None
    except OSError as exc:
        raise FeedError(url, f"could not read {path}: {exc.strerror or exc}") from exc
    if len(body) > max_bytes:
        raise FeedError(url, f"body larger than {format_size(max_bytes)}")
    return FetchResult(
        url=url,
        final_url=url,
        status=200,
        body=body,
        etag=None,
        last_modified=None,
        content_type=None,
        permanent_redirect=False,
    )


def _redirect_target(url: str, response: httpx.Response) -> str:
    status = response.status_code
    location = response.headers.get("Location")
    if not location:
        raise FeedError(url, f"HTTP {status} redirect without a Location header", status=status)
    try:
        target = response.url.join(location)
    except httpx.InvalidURL as exc:
        raise FeedError(url, f"redirected to an invalid URL {location!r}: {exc}") from exc
    if target.scheme not in ("http", "https"):
        raise FeedError(url, f"redirected to unsupported URL scheme {target.scheme!r}")
    return str(_check_http_url(url, str(target)))


def _describe_redirects(chain: list[str], max_redirects: int) -> str:
    if len(set(chain)) < len(chain):
        start = next(i for i, u in enumerate(chain) if chain.index(u) != i)
        loop_from = chain.index(chain[start])
        return "redirect loop: " + " -> ".join(chain[loop_from : start + 1])
    return f"too many redirects (more than {max_redirects}), last to {chain[-1]}"


def _describe_status(response: httpx.Response) -> str:
    status = response.status_code
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = response.reason_phrase
    text = f"HTTP {status} {reason}".rstrip()
    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
    if retry_after is not None:
        text = f"HTTP {status}, retry after {retry_after} s"
    return text


def _retry_after_seconds(value: str | None) -> int | None:
    """Retry-After as whole seconds: either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, round((when - datetime.now(UTC)).total_seconds()))


def _describe_http_error(exc: Exception, limits: FetchLimits) -> str:
    """A short, readable problem for an httpx exception."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {_seconds(limits.connect_timeout)} connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return f"timed out after {_seconds(limits.read_timeout)} reading"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timed out after {_seconds(limits.read_timeout)} sending the request"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.ConnectError):
        return _describe_connect_error(exc)
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {limits.max_redirects})"
    if isinstance(exc, httpx.DecodingError):
        return f"could not decode the response body: {_first_line(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the HTTP protocol: {_first_line(exc)}"
    if isinstance(exc, httpx.ReadError):
        return f"connection lost while reading: {_first_line(exc)}"
    if isinstance(exc, httpx.WriteError):
        return f"connection lost while sending the request: {_first_line(exc)}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL: {_first_line(exc)}"
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {_first_line(exc)}"
    return f"request failed: {type(exc).__name__}: {_first_line(exc)}"


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


def _seconds(value: float) -> str:
    return f"{value:g} s"


def format_size(size: int) -> str:
    """``10485760`` -> ``"10 MB"``; binary units, as the limits are written."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
