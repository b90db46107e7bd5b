"""httpx's request/response interface over aiohttp's connection handling.

Why: httpx's own async connection pool costs ~2 ms of CPU per request on this
project's machines (encode/httpx#3215, open), which made it the whole cost of a
pass where feeds answer 304: 2,000 conditional GETs took ~4 s of CPU. aiohttp
does the same request in ~0.1 ms. The fetcher keeps speaking httpx (its
requests, responses, errors and tests' ``MockTransport`` stay as they are);
only the wire goes through aiohttp.

The transport hands back the body *undecoded* (``auto_decompress=False``): the
fetcher inflates gzip/deflate itself in bounded steps (``bot.feeds.decode``), so
a gzip bomb is counted as it inflates. No cookie is stored or sent. aiohttp's
exceptions are raised as the httpx exceptions that mean the same, with the
underlying OS error as their cause, so ``describe_http_error`` names the
problem ("connection refused", "timed out after 2 s reading").
"""

from __future__ import annotations

import contextlib
import functools
import re
import ssl
from collections.abc import AsyncIterator, Iterator
from urllib.request import getproxies

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

# Headers aiohttp writes itself from the request; passing httpx's copies would send them twice.
_OWN_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding"})

# aiohttp's "Not enough data to satisfy content length header. (received 2048 of 4096 bytes)"
_COUNTS = re.compile(r"received (\d+) of (\d+) bytes")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session behind httpx's transport interface (the ``Fetcher`` calls it
    directly); made inside the event loop that uses it (aiohttp binds a session to its
    loop)."""

    def __init__(
        self, *, max_connections: int, connect_timeout: float, read_timeout: float
    ) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=max(1, max_connections),
                limit_per_host=0,  # the fetcher bounds each host itself
                ssl=_tls_context(),
            ),
            timeout=aiohttp.ClientTimeout(
                total=None,  # the fetcher's own deadline covers the whole fetch
                sock_connect=connect_timeout,
                sock_read=read_timeout,
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
            # HTTP(S)_PROXY / NO_PROXY, as httpx honours them; asked only when one is set,
            # since aiohttp otherwise reads the environment again for every request.
            trust_env=bool(getproxies()),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # From the raw pairs with one look at their encoding: ``multi_items`` asks for the
        # encoding twice per header, a measurable share of a pass of 304s.
        encoding = request.headers.encoding
        headers = [
            (name.decode(encoding), value.decode(encoding))
            for name, value in request.headers.raw
            if name.lower() not in _OWN_HEADERS
        ]
        body = await request.aread()
        with _as_httpx_errors():
            response = await self._session.request(
                request.method,
                URL(str(request.url), encoded=True),  # httpx has quoted it already
                headers=headers,
                data=body or None,
                allow_redirects=False,
                compress=None,
            )
        return httpx.Response(
            status_code=response.status,
            headers=[(bytes(name), bytes(value)) for name, value in response.raw_headers],
            stream=_BodyStream(response),
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": (response.reason or "").encode("latin-1", "replace")},
            request=request,
        )

    async def aclose(self) -> None:
        await self._session.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """certifi's roots, as httpx verifies; made once (loading them takes ~25 ms, and every
    pass opens a new session). Safe to share: client contexts are not changed after this."""
    return httpx.create_ssl_context()


class _BodyStream(httpx.AsyncByteStream):
    """The response body as it arrives; the connection goes back to the pool only when
    the body was read to its end (a half-read connection cannot be reused)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """Raise aiohttp's failures as the httpx exceptions the fetcher describes."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out") from exc
    except aiohttp.ServerTimeoutError as exc:  # sock_read, on the headers or the body
        raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        # Its OS error ("Connect call failed", "Name or service not known") is the cause.
        raise httpx.ConnectError(str(exc)) from exc.os_error
    except aiohttp.ServerDisconnectedError as exc:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response."
        ) from exc
    except aiohttp.ClientPayloadError as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, ConnectionResetError) or "reset" in str(exc).lower():
            raise httpx.ReadError(str(exc)) from ConnectionResetError(str(exc))
        # In h11's words, which the fetcher's description reads the byte counts from.
        counts = _COUNTS.search(str(exc))
        said = f" (received {counts[1]} bytes, expected {counts[2]})" if counts else ""
        raise httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body{said}"
        ) from exc
    except aiohttp.ClientResponseError as exc:  # a status line or header aiohttp cannot parse
        raise httpx.RemoteProtocolError(exc.message or str(exc)) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.InvalidURL(str(exc)) from exc
    except (aiohttp.ClientOSError, aiohttp.ClientConnectionResetError) as exc:
        raise httpx.ReadError(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
