"""Fetch feed documents over HTTP(S) or from local files.

``Fetcher`` sends ``httpx.Request``s through one httpx transport (aiohttp's
connections, ``bot.feeds.transport``) and turns a feed URL into a
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
- semaphores bounding how many fetches run at once, in all and per host;
- no cookies, sent or kept: every poll of every feed is the same stateless request.

It calls the transport itself rather than through an ``httpx.AsyncClient``: the
client's layers (auth, redirect and cookie handling, request building) were a
quarter of the CPU of a poll answered 304, and the fetcher follows redirects by
hand and wants no cookies or auth anyway.

Error texts are in ``bot.feeds.fetch_errors``; the bounded gzip/deflate decoder
is ``bot.feeds.decode``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from bot import __version__
from bot.errors import FeedError
from bot.feeds.decode import BoundedDecoder, is_identity
from bot.feeds.fetch_errors import (
    describe_http_error,
    describe_redirects,
    describe_status,
    format_seconds,
    format_size,
    response_retry_after,
)
from bot.feeds.hints import cache_max_age

__all__ = [
    "ACCEPT", "USER_AGENT", "FetchCancelled", "FetchLimits", "FetchResult", "Fetcher",
    "format_size",
]

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
# The statuses whose Retry-After means "come back then" (RFC 9110, 6585).
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_BAD_HOST_RE = re.compile(r"[\s%\[\]\\/@<>\"{}|^`]")


class FetchCancelled(Exception):
    """The caller's ``ready`` check said no once the fetch had its slots."""

    def __init__(self, url: str) -> None:
        super().__init__(f"fetch of {url} cancelled by its caller")
        self.url = url


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch (seconds and bytes) and on the fetcher as a whole."""

    connect_timeout: float = 10
    read_timeout: float = 20
    total_timeout: float = 60
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_concurrency: int = 20
    max_per_host: int = 4  # fetches at once to one host (scheme://host:port)


@dataclass(frozen=True)
class FetchResult:
    """What one fetch brought back.

    ``etag`` and ``last_modified`` are the validators to store and send next
    time; on a 304 without new validators they are the ones sent.
    ``permanent_redirect`` is true when every redirect followed was a 301/308,
    so ``final_url`` may replace the stored feed URL. ``max_age`` is how long
    the server says the document stays fresh (Cache-Control max-age less Age),
    in seconds: the scheduler polls no sooner.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    permanent_redirect: bool
    max_age: float | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@functools.lru_cache(maxsize=16_384)
def _request_url(url: str) -> httpx.URL:
    """``url`` parsed for httpx, once per URL: httpx parses a string on every request
    (~0.1 ms, about a tenth of a poll answered 304), and a feed's URL is the same every
    pass. ``httpx.URL`` is immutable, so sharing one is safe."""
    return httpx.URL(url)


@functools.lru_cache(maxsize=16_384)
def _origin(url: str) -> str:
    """``url``'s scheme and host, the key of its politeness bound; once per URL, as
    ``_request_url``."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _header_values(response: httpx.Response, *names: str) -> list[str | None]:
    """``response.headers.get(name)`` for each of ``names`` (lower case), in one pass over
    the raw headers: each ``get`` walks and decodes them all, and a poll asked for seven."""
    headers = response.headers
    encoding = headers.encoding
    found: dict[bytes, list[bytes]] = {}
    for key, value in headers.raw:
        found.setdefault(key.lower(), []).append(value)
    values: list[str | None] = []
    for name in names:
        raw = found.get(name.encode("ascii"))
        values.append(None if raw is None else ", ".join(v.decode(encoding) for v in raw))
    return values


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
        self._wire: httpx.AsyncBaseTransport | None = None
        # Sent with every request; the caller's If-None-Match / If-Modified-Since join them.
        self._headers = {
            "User-Agent": self._user_agent,
            "Accept": ACCEPT,
            # Only what httpx always decodes; brotli/zstd depend on optional packages.
            "Accept-Encoding": "gzip, deflate",
        }
        self._semaphore: asyncio.Semaphore | None = None
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        # Fetches queued for their host's slot now (a busy or slow host), which a caller
        # handing out work should not count as in progress.
        self.waiting_for_host = 0

    async def __aenter__(self) -> Fetcher:
        limits = self._limits
        # Made here, not in __init__, so it belongs to the event loop that uses it.
        self._semaphore = asyncio.Semaphore(max(1, limits.max_concurrency))
        # The wire is aiohttp's unless a caller (a test) brings its own transport: see
        # bot.feeds.transport for why. Made here, inside the loop that will use it.
        from bot.feeds.transport import AiohttpTransport  # aiohttp loads when a fetcher starts

        transport = self._transport or AiohttpTransport(
            max_connections=limits.max_concurrency,
            connect_timeout=limits.connect_timeout,
            read_timeout=limits.read_timeout,
        )
        self._wire = transport
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._wire is not None:
            await self._wire.aclose()
        self._wire = None
        self._semaphore = None
        self._host_slots = {}

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        ready: Callable[[], Awaitable[bool]] | None = None,
    ) -> FetchResult:
        """Fetch ``url`` (http(s)://, file:// or a file path); raises ``FeedError`` only.

        ``ready``, when given, is asked once this fetch has its slots, just before the
        request: a fetch can wait long for a busy host, and the caller may no longer
        want it then (another worker took the feed over). False raises ``FetchCancelled``.
        """
        wire, semaphore = self._wire, self._semaphore
        if wire is None or semaphore is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher()'")
        path = _local_path(url)
        # The host's slot first, then a global one: a fetch waiting for its busy host
        # must not hold a slot that a feed on another host could use meanwhile.
        async with contextlib.AsyncExitStack() as held:
            self.waiting_for_host += 1
            try:
                await held.enter_async_context(self._host_slot(url, path))
            finally:
                self.waiting_for_host -= 1
            await held.enter_async_context(semaphore)
            if ready is not None and not await ready():
                raise FetchCancelled(url)
            if path is not None:
                return await asyncio.to_thread(_read_file, url, path, self._limits.max_bytes)
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            try:
                async with asyncio.timeout(self._limits.total_timeout):
                    result = await self._fetch_http(wire, url, headers)
            except TimeoutError:
                total = format_seconds(self._limits.total_timeout)
                raise FeedError(url, f"timed out after {total} in total") from None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                problem = describe_http_error(
                    exc,
                    connect_timeout=self._limits.connect_timeout,
                    read_timeout=self._limits.read_timeout,
                    max_redirects=self._limits.max_redirects,
                )
                raise FeedError(url, problem) from exc
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
                max_age=result.max_age,
            )
        return result

    def _host_slot(
        self, url: str, path: Path | None
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        """The semaphore bounding fetches to ``url``'s host, so that many feeds on one
        server are not all requested at once; none for local files."""
        if path is not None:
            return contextlib.nullcontext()
        origin = _origin(url)
        slot = self._host_slots.get(origin)
        if slot is None:
            slot = self._host_slots[origin] = asyncio.Semaphore(max(1, self._limits.max_per_host))
        return slot

    async def _fetch_http(
        self, wire: httpx.AsyncBaseTransport, url: str, headers: dict[str, str]
    ) -> FetchResult:
        chain = [url]
        permanent = True
        current = url
        while True:
            request = httpx.Request(
                "GET", _request_url(current), headers={**self._headers, **headers}
            )
            response = await wire.handle_async_request(request)
            response.request = request  # as a client would: the response knows its URL
            try:
                if response.status_code in _REDIRECT_STATUSES:
                    target = _redirect_target(url, response)
                    permanent = permanent and response.status_code in _PERMANENT_REDIRECT_STATUSES
                    chain.append(target)
                    if len(chain) - 1 > self._limits.max_redirects:
                        raise FeedError(url, describe_redirects(chain, self._limits.max_redirects))
                    current = target
                    continue
                return await self._read_response(
                    url, response, redirected=len(chain) > 1, permanent=permanent
                )
            finally:
                await response.aclose()

    async def _read_response(
        self, url: str, response: httpx.Response, *, redirected: bool, permanent: bool
    ) -> FetchResult:
        status = response.status_code
        if status != 304 and not 200 <= status < 300:
            retry_after = None
            if status in _RETRY_AFTER_STATUSES:
                retry_after = response_retry_after(response)
            raise FeedError(url, describe_status(response), status=status, retry_after=retry_after)
        etag, last_modified, content_type, cache_control, age, encoding, length = (
            _header_values(response, "etag", "last-modified", "content-type", "cache-control",
                           "age", "content-encoding", "content-length")
        )
        body: bytes | None = None
        if status != 304:
            body = await self._read_body(
                url, response, "identity" if encoding is None else encoding, length or ""
            )
        return FetchResult(
            url=url,
            final_url=str(response.url),
            status=status,
            body=body,
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
            permanent_redirect=redirected and permanent,
            max_age=cache_max_age(cache_control, age),
        )

    async def _read_body(
        self, url: str, response: httpx.Response, encoding: str, declared: str
    ) -> bytes:
        """The body, bounded; ``encoding`` and ``declared`` are its Content-Encoding and
        Content-Length headers."""
        max_bytes = self._limits.max_bytes
        too_large = f"body larger than {format_size(max_bytes)}"
        if declared.isdigit() and int(declared) > max_bytes and is_identity(encoding):
            raise FeedError(url, too_large)
        if response.is_stream_consumed:
            # A transport that hands over a body already read and decoded
            # (httpx.MockTransport with content=...); nothing left to bound.
            if len(response.content) > max_bytes:
                raise FeedError(url, too_large)
            return response.content
        decoder = BoundedDecoder(url, encoding)
        chunks: list[bytes] = []
        size = 0
        # Decoded here rather than by httpx: httpx inflates each network read whole, so
        # one 64 KB read of a gzip bomb becomes ~64 MB before anyone can count it.
        received = 0
        try:
            async for raw in response.aiter_raw():
                received += len(raw)
                for chunk in decoder.decode(raw, max_bytes - size + 1):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FeedError(url, too_large)
                    chunks.append(chunk)
        except httpx.ReadError as exc:
            # Cut off mid-body: say how far it got, which tells a reset from a slow start.
            problem = describe_http_error(
                exc,
                connect_timeout=self._limits.connect_timeout,
                read_timeout=self._limits.read_timeout,
                max_redirects=self._limits.max_redirects,
            )
            raise FeedError(
                url, f"{problem} ({format_size(received)} of the body had arrived)"
            ) from exc
        size += len(tail := decoder.flush())
        if size > max_bytes:
            raise FeedError(url, too_large)
        chunks.append(tail)
        return b"".join(chunks)


def _local_path(url: str) -> Path | None:
    """The file ``url`` names, ``None`` for http(s); ``FeedError`` for anything else."""
    if not url.strip():
        raise FeedError(url, "empty feed URL")
    match = _SCHEME_RE.match(url)
    if match is None or len(match.group(1)) == 1:  # no scheme, or a Windows drive letter
        return Path(url)
    scheme = match.group(1).lower()
    if scheme in ("http", "https"):
        _check_feed_url(url)
        return None
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FeedError(url, f"file URL on another host ({parts.netloc}) is not supported")
        return Path(url2pathname(parts.path))
    raise FeedError(url, f"unsupported URL scheme {scheme!r} (use http, https, file or a path)")


@functools.lru_cache(maxsize=65_536)
def _check_feed_url(url: str) -> None:
    """``_check_http_url`` of a feed's own URL, once per URL: the same feeds are fetched
    every pass, and parsing each URL again was 4% of a pass's CPU (py-spy)."""
    _check_http_url(url, url)


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
