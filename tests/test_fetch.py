"""The fetcher against a real local HTTP server (and a fake transport for rare failures)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import __version__
from bot.errors import FeedError
from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult, format_size
from tests.support.feed_server import FeedServer

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title>
<item><title>One</title><guid>1</guid></item></channel></rss>
"""
FAST = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=5)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def fetch(url: str, limits: FetchLimits = FAST, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher(limits) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def fetch_error(url: str, limits: FetchLimits = FAST, **kwargs: Any) -> FeedError:
    with pytest.raises(FeedError) as caught:
        fetch(url, limits, **kwargs)
    assert caught.value.url == url
    return caught.value


# -- conditional GET -----------------------------------------------------------------


def test_200_then_304_with_the_stored_validators(server: FeedServer) -> None:
    server.add("/feed.xml", RSS)
    url = server.url("/feed.xml")

    first = fetch(url)
    assert (first.status, first.body, first.not_modified) == (200, RSS, False)
    assert first.url == first.final_url == url
    assert first.etag and first.last_modified
    assert first.content_type == "application/rss+xml"
    assert first.permanent_redirect is False

    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert (second.status, second.body, second.not_modified) == (304, None, True)
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = server.requests[-1].headers
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == first.last_modified

    server.set("/feed.xml", RSS.replace(b"One", b"Two"))
    third = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert third.status == 200 and third.body is not None and b"Two" in third.body
    assert third.etag != first.etag
    assert [r.status for r in server.requests] == [200, 304, 200]


def test_if_modified_since_alone_gives_304(server: FeedServer) -> None:
    server.add("/feed.xml", RSS)
    first = fetch(server.url("/feed.xml"))
    again = fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert again.not_modified


def test_304_without_validators_keeps_the_ones_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["If-None-Match"] == '"v1"'
        return httpx.Response(304)

    async def go() -> FetchResult:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as fetcher:
            return await fetcher.fetch("https://feeds.example/x", etag='"v1"', last_modified="L")

    result = asyncio.run(go())
    assert (result.status, result.body, result.etag, result.last_modified) == (
        304,
        None,
        '"v1"',
        "L",
    )


def test_request_headers_name_claimbot(server: FeedServer) -> None:
    server.add("/feed.xml", RSS)
    fetch(server.url("/feed.xml"))
    headers = server.requests[0].headers
    assert headers["User-Agent"] == (
        f"claimbot/{__version__} (+https://github.com/claimbot/claimbot)"
    )
    for media_type in ("application/rss+xml", "application/atom+xml", "application/feed+json"):
        assert media_type in headers["Accept"]
    assert "gzip" in headers["Accept-Encoding"]
    assert "If-None-Match" not in headers


def test_cookies_are_neither_kept_nor_sent(server: FeedServer) -> None:
    # One client fetches every feed; a server's Set-Cookie must not follow later requests.
    cookie = {"Set-Cookie": "s=1; Path=/"}
    server.add("/start", redirect_to="/feed.xml", headers=cookie)
    server.add("/feed.xml", RSS, headers=cookie)

    async def go() -> None:
        async with Fetcher(FAST) as fetcher:
            await fetcher.fetch(server.url("/start"))
            await fetcher.fetch(server.url("/feed.xml"))

    asyncio.run(go())
    assert [(r.path, r.status) for r in server.requests] == [
        ("/start", 302),
        ("/feed.xml", 200),
        ("/feed.xml", 200),
    ]
    assert [r.headers.get("Cookie") for r in server.requests] == [None, None, None]


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    server.add("/feed.xml", RSS, gzip=True)
    assert fetch(server.url("/feed.xml")).body == RSS


# -- size cap --------------------------------------------------------------------------


def test_body_over_the_cap_is_refused(server: FeedServer) -> None:
    server.add("/big.xml", b"x" * 10_000)
    limits = FetchLimits(max_bytes=4096, read_timeout=2)
    assert fetch_error(server.url("/big.xml"), limits).problem == "body larger than 4 KB"


def test_body_over_the_cap_is_refused_without_content_length(server: FeedServer) -> None:
    # Chunked/close-delimited bodies are counted as they stream in.
    server.add("/big.xml", b"x" * 10_000, gzip=True)
    limits = FetchLimits(max_bytes=4096, read_timeout=2)
    assert fetch_error(server.url("/big.xml"), limits).problem == "body larger than 4 KB"


def test_gzip_bomb_is_refused(server: FeedServer) -> None:
    inflated = b"\0" * (20 * 1024 * 1024)
    assert len(gzip.compress(inflated)) < 64 * 1024  # a few KB on the wire
    server.add("/bomb.xml", inflated, gzip=True)
    limits = FetchLimits(max_bytes=1024 * 1024, read_timeout=2)
    assert fetch_error(server.url("/bomb.xml"), limits).problem == "body larger than 1 MB"


def fetch_encoded(body: bytes, encoding: str) -> FetchResult:
    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, not content=: content= would be read and decoded by httpx up front.
        headers = {"Content-Encoding": encoding}
        return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)

    async def go() -> FetchResult:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as fetcher:
            return await fetcher.fetch("https://feeds.example/rss")

    return asyncio.run(go())


def test_deflate_with_and_without_zlib_header() -> None:
    assert fetch_encoded(zlib.compress(RSS), "deflate").body == RSS
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert fetch_encoded(raw.compress(RSS) + raw.flush(), "deflate").body == RSS
    assert fetch_encoded(RSS, "identity").body == RSS


def test_unrequested_content_encoding_is_refused() -> None:
    with pytest.raises(FeedError, match="unsupported Content-Encoding 'br'"):
        fetch_encoded(b"\x0b\x02\x80", "br")


def test_a_transport_may_hand_over_a_body_already_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=RSS)

    async def go(max_bytes: int) -> FetchResult:
        transport = httpx.MockTransport(handler)
        async with Fetcher(FetchLimits(max_bytes=max_bytes), transport=transport) as fetcher:
            return await fetcher.fetch("https://feeds.example/rss")

    assert asyncio.run(go(1024)).body == RSS
    with pytest.raises(FeedError, match="body larger than 10 bytes"):
        asyncio.run(go(10))


def test_default_cap_reads_as_10_mb() -> None:
    assert format_size(FetchLimits().max_bytes) == "10 MB"
    assert format_size(1000) == "1000 bytes"


# -- redirects -------------------------------------------------------------------------


def test_permanent_redirect_is_followed_and_reported(server: FeedServer) -> None:
    server.add("/feed.xml", RSS)
    server.add("/old.xml", redirect_to="/feed.xml", status=301)
    result = fetch(server.url("/old.xml"))
    assert result.body == RSS
    assert result.url == server.url("/old.xml")
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_redirect is True


def test_temporary_redirect_is_not_permanent(server: FeedServer) -> None:
    server.add("/feed.xml", RSS)
    server.add("/moved", redirect_to="/feed.xml", status=308)
    server.add("/tmp", redirect_to="/moved")  # 302 first, then 308
    result = fetch(server.url("/tmp"))
    assert result.final_url == server.url("/feed.xml")
    assert result.permanent_redirect is False


def test_redirect_loop_is_named(server: FeedServer) -> None:
    server.add("/a", redirect_to="/b")
    server.add("/b", redirect_to="/a")
    error = fetch_error(server.url("/a"))
    assert error.problem == (
        f"redirect loop: {server.url('/a')} -> {server.url('/b')} -> {server.url('/a')}"
    )


def test_too_many_redirects(server: FeedServer) -> None:
    for hop in range(4):
        server.add(f"/r{hop}", redirect_to=f"/r{hop + 1}")
    server.add("/r4", RSS)
    assert fetch(server.url("/r0"), FetchLimits(max_redirects=4)).body == RSS
    error = fetch_error(server.url("/r0"), FetchLimits(max_redirects=3))
    assert error.problem.startswith("too many redirects (more than 3)")


def test_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.add("/ftp", redirect_to="ftp://files.example/feed.xml")
    assert "redirected to unsupported URL scheme 'ftp'" in fetch_error(server.url("/ftp")).problem


def test_redirect_to_an_unusable_url_is_refused(server: FeedServer) -> None:
    server.add("/bad-port", redirect_to="http://127.0.0.1:99999/feed.xml")
    assert "port 99999 out of range" in fetch_error(server.url("/bad-port")).problem


# -- timeouts --------------------------------------------------------------------------


def test_slow_server_times_out_reading(server: FeedServer) -> None:
    server.add("/slow", RSS, delay=3)
    limits = FetchLimits(connect_timeout=1, read_timeout=0.2, total_timeout=5)
    started = time.monotonic()
    assert fetch_error(server.url("/slow"), limits).problem == "timed out after 0.2 s reading"
    assert time.monotonic() - started < 1.5


def test_slow_drip_body_hits_the_total_deadline(server: FeedServer) -> None:
    # Each chunk arrives well within the read timeout; only the deadline stops it.
    server.add("/drip", RSS * 10, drip=0.05, drip_chunk=16)
    limits = FetchLimits(connect_timeout=1, read_timeout=1, total_timeout=0.4)
    started = time.monotonic()
    assert fetch_error(server.url("/drip"), limits).problem == "timed out after 0.4 s in total"
    assert time.monotonic() - started < 1.5


# -- HTTP errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "problem"),
    [
        (404, {}, "HTTP 404 Not Found"),
        (410, {}, "HTTP 410 Gone"),
        (500, {}, "HTTP 500 Internal Server Error"),
        (429, {"Retry-After": "120"}, "HTTP 429, retry after 120 s"),
        (503, {"Retry-After": "soon"}, "HTTP 503 Service Unavailable"),
    ],
)
def test_error_status_becomes_feed_error(
    server: FeedServer, status: int, headers: dict[str, str], problem: str
) -> None:
    server.add("/feed.xml", status=status, headers=headers)
    error = fetch_error(server.url("/feed.xml"))
    assert (error.status, error.problem) == (status, problem)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "120"}, 120),
        (503, {"Retry-After": "Mon, 05 Jan 2026 13:00:00 GMT",
               "Date": "Mon, 05 Jan 2026 12:00:00 GMT"}, 3600),
        (503, {}, None),
        (500, {"Retry-After": "120"}, None),  # only 429 and 503 mean "come back then"
    ],
)
def test_retry_after_travels_with_the_error(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    async def go() -> None:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as fetcher:
            await fetcher.fetch("https://feeds.example/rss")

    with pytest.raises(FeedError) as caught:
        asyncio.run(go())
    assert caught.value.retry_after == retry_after


def test_max_age_is_read_from_200_and_304(server: FeedServer) -> None:
    server.add("/feed.xml", RSS, headers={"Cache-Control": "max-age=900", "Age": "100"})
    first = fetch(server.url("/feed.xml"))
    assert first.max_age == 800
    again = fetch(server.url("/feed.xml"), etag=first.etag)
    assert again.not_modified and again.max_age == 800
    server.add("/plain.xml", RSS)
    assert fetch(server.url("/plain.xml")).max_age is None


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ("reset", "connection lost while reading: connection reset by the server"),
        # How much arrives before the reset is up to the kernels: the start is what counts.
        ("reset-mid-body", "connection lost while reading: connection reset by the server"),
        (
            "short-body",
            "connection closed before the whole body arrived"
            " (received 2048 bytes, expected 4096)",
        ),
    ],
)
def test_broken_connections_are_named(server: FeedServer, fault: str, problem: str) -> None:
    server.add("/feed.xml", b"x" * 4096, fault=fault)
    assert fetch_error(server.url("/feed.xml")).problem.startswith(problem)


def test_unknown_path_is_404(server: FeedServer) -> None:
    assert fetch_error(server.url("/nothing-here")).status == 404


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    assert fetch_error(f"http://127.0.0.1:{port}/feed.xml").problem == "connection refused"


def test_broken_gzip_body(server: FeedServer) -> None:
    server.add("/feed.xml", RSS, headers={"Content-Encoding": "gzip"})
    assert "could not decode the gzip body" in fetch_error(server.url("/feed.xml")).problem


@pytest.mark.parametrize(
    ("exception", "problem"),
    [
        (httpx.ConnectTimeout("boom"), "timed out after 2 s connecting"),
        (httpx.ReadTimeout("boom"), "timed out after 2 s reading"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "host not found"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            "server broke the HTTP protocol: Server disconnected without sending a response.",
        ),
        (httpx.ReadError("reset"), "connection lost while reading: reset"),
    ],
)
def test_transport_failures_are_translated(exception: Exception, problem: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    async def go() -> None:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as fetcher:
            await fetcher.fetch("https://feeds.example/rss")

    with pytest.raises(FeedError) as caught:
        asyncio.run(go())
    assert caught.value.problem == problem
    assert caught.value.__cause__ is exception


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://files.example/feed.xml", "unsupported URL scheme 'ftp'"),
        ("mailto:someone@example.com", "unsupported URL scheme 'mailto'"),
        ("", "empty feed URL"),
        # Refused before any network: none of these may reach a resolver.
        ("http://exa mple.com/feed", "bad host name"),
        ("https://[not-an-ip/feed", "bad host name"),
        ("http://[::1/feed", "invalid URL"),
        ("http://a\x00b/", "invalid URL"),
        ("http:///no-host", "no host"),
        ("http://127.0.0.1:99999/feed", "port 99999 out of range"),
    ],
)
def test_bad_urls(url: str, problem: str) -> None:
    assert problem in fetch_error(url).problem


def test_fetch_outside_the_context_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(Fetcher().fetch("https://feeds.example/rss"))


# -- local files -----------------------------------------------------------------------


def test_absolute_path_and_file_url(tmp_path: Path) -> None:
    feed = tmp_path / "feed one.xml"
    feed.write_bytes(RSS)
    for url in (str(feed), feed.as_uri(), "file://localhost" + str(feed)):
        result = fetch(url)
        assert (result.status, result.body, result.final_url) == (200, RSS, url)
        assert (result.etag, result.last_modified, result.permanent_redirect) == (None, None, False)


def test_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "local.xml").write_bytes(RSS)
    monkeypatch.chdir(tmp_path)
    assert fetch("feeds/local.xml").body == RSS


def test_local_file_failures(tmp_path: Path) -> None:
    assert "file not found" in fetch_error(str(tmp_path / "missing.xml")).problem
    assert "is a directory" in fetch_error(str(tmp_path)).problem
    assert "another host" in fetch_error("file://server/share/feed.xml").problem
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 5000)
    assert fetch_error(str(big), FetchLimits(max_bytes=4096)).problem == "body larger than 4 KB"


# -- concurrency -----------------------------------------------------------------------


def test_concurrency_is_bounded(server: FeedServer) -> None:
    for n in range(9):
        server.add(f"/f{n}.xml", RSS, delay=0.15)

    async def go() -> list[FetchResult]:
        async with Fetcher(FetchLimits(max_concurrency=3)) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(server.url(f"/f{n}.xml")) for n in range(9))
            )

    results = asyncio.run(go())
    assert all(r.body == RSS for r in results)
    assert server.max_in_flight == 3


def test_fetches_to_one_host_are_bounded_apart_from_the_global_bound(
    server: FeedServer,
) -> None:
    """Four slow feeds on one server: at most ``max_per_host`` at once, though the global
    bound would allow all; a feed on another host is fetched while they still wait."""
    for n in range(4):
        server.add(f"/h{n}.xml", RSS, delay=0.3)

    async def go() -> tuple[list[FetchResult], int]:
        with FeedServer() as other:
            other.add("/other.xml", RSS)
            async with Fetcher(FetchLimits(max_concurrency=10, max_per_host=2)) as fetcher:
                busy = [asyncio.ensure_future(fetcher.fetch(server.url(f"/h{n}.xml")))
                        for n in range(4)]
                await asyncio.sleep(0)  # let them take their slots
                await fetcher.fetch(other.url("/other.xml"))
                done_meanwhile = sum(f.done() for f in busy)
                return await asyncio.gather(*busy), done_meanwhile

    results, done_meanwhile = asyncio.run(go())
    assert all(r.body == RSS for r in results)
    assert server.max_in_flight == 2
    assert done_meanwhile == 0  # not queued behind the busy host


def test_header_values_are_what_httpx_headers_get_gives() -> None:
    """One pass over the raw headers answers as ``Headers.get`` does, name by name: any
    case, repeats joined, absent as None, bytes beyond ASCII decoded alike."""
    from bot.feeds.fetch import _header_values

    raw = [(b"ETag", b'"v1"'), (b"cache-control", b"max-age=60"), (b"Cache-Control", b"public"),
           (b"X-Note", "caf\u00e9".encode()), (b"Content-Encoding", b"")]
    response = httpx.Response(200, headers=raw)
    names = ("etag", "cache-control", "x-note", "content-encoding", "age")
    assert _header_values(response, *names) == [response.headers.get(n) for n in names]
    assert _header_values(response, "cache-control", "age") == ["max-age=60, public", None]
