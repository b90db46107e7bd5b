"""A local feed server for tests and benchmarks.

It serves byte bodies over real HTTP on 127.0.0.1 the way feed servers do:
with an ETag (a hash of the body) and Last-Modified, answering 304 to a
matching If-None-Match / If-Modified-Since. Per path it can also misbehave:
answer an error status, redirect, stall, drip the body slowly, gzip it, serve
an HTML page instead of the feed, or break the connection (``fault=``: reset
it before answering, reset it halfway through the body, or close it after
sending less body than Content-Length promised).

    with FeedServer() as server:
        server.add("/feed.xml", rss_bytes)
        server.add("/gone", status=410)
        server.add("/old", redirect_to="/feed.xml", status=301)
        result = await fetcher.fetch(server.url("/feed.xml"))
        assert server.requests[-1].status == 200

Every response closes its connection (``Connection: close``), so stopping the
server never waits on an idle keep-alive socket. ``max_in_flight`` records the
largest number of requests handled at once, for concurrency bounds: each counts from
its arrival until its answer starts going out (a client that has read an answer may
send its next request before this server's thread has finished with the last one).
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

HTML_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Just a moment...</title></head>
<body><h1>Checking your browser</h1><p>Please enable JavaScript and cookies.</p></body>
</html>
"""


# Ways to break the connection (``FeedServer.add(..., fault=...)``):
FAULTS = frozenset({
    "reset",  # read the request, then reset the connection (TCP RST) without a byte of answer
    "reset-mid-body",  # send the headers and half the body, then reset the connection
    "short-body",  # promise the whole body in Content-Length, send half, close cleanly
})


class Request(NamedTuple):
    """One request as the server saw it; ``headers`` is case-insensitive."""

    path: str
    status: int
    headers: Message


@dataclass(frozen=True)
class Route:
    """How one path answers; see ``FeedServer.add``."""

    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str | None = None
    delay: float = 0.0
    drip: float = 0.0
    drip_chunk: int = 16
    gzip: bool = False
    etag: str = ""
    last_modified: float = 0.0
    wire_body: bytes = b""  # the body as sent: gzip-compressed once, when ``gzip``
    fault: str | None = None  # see FAULTS
    validators: bool = True  # send ETag / Last-Modified (and answer 304 to them)


class FeedServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._last_modified = 0.0
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        # Requests for one path being answered at the same time (two workers on one feed).
        self._path_in_flight: Counter[str] = Counter()
        self.overlapping: list[str] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.feed_server = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._started = False

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FeedServer:
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled handlers, wait for them, close the socket."""
        self._stopping.set()
        if self._started:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()  # joins handler threads (they are not daemonic)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- content -----------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes = b"",
        content_type: str = "application/rss+xml",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        redirect_to: str | None = None,
        delay: float = 0.0,
        drip: float = 0.0,
        drip_chunk: int = 16,
        gzip: bool = False,
        html: bool = False,
        fault: str | None = None,
        validators: bool = True,
    ) -> None:
        """Serve ``body`` at ``path``.

        ``status``: answer with it (an error page body unless ``body`` is given);
        ``headers``: extra response headers (``{"Retry-After": "120"}``);
        ``redirect_to``: a path or URL to redirect to (302 unless ``status`` is a 3xx);
        ``delay``: seconds to wait before answering;
        ``drip``: seconds to wait between chunks of ``drip_chunk`` body bytes;
        ``gzip``: send the body gzip-compressed with ``Content-Encoding: gzip``;
        ``html``: serve an HTML page (text/html) instead of ``body``;
        ``fault``: break the connection, one of ``FAULTS``.
        ``validators=False``: no ETag / Last-Modified, so every GET is a full 200.
        """
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {sorted(FAULTS)}")
        if html:
            body = body or HTML_PAGE
            content_type = "text/html; charset=utf-8"
        if redirect_to is not None and not 300 <= status < 400:
            status = 302
        route = Route(
            body=body,
            content_type=content_type,
            status=status,
            headers=dict(headers or {}),
            redirect_to=redirect_to,
            delay=delay,
            drip=drip,
            drip_chunk=max(1, drip_chunk),
            gzip=gzip,
            fault=fault,
            validators=validators,
        )
        with self._lock:
            self._routes[path] = self._stamp(route)

    def set(self, path: str, body: bytes) -> None:
        """Change the body at ``path`` (new ETag, later Last-Modified), keeping its faults."""
        with self._lock:
            self._routes[path] = self._stamp(replace(self._routes[path], body=body))

    def remove(self, path: str) -> None:
        with self._lock:
            del self._routes[path]

    def _stamp(self, route: Route) -> Route:
        # Last-Modified has one-second resolution: make every change strictly later,
        # so If-Modified-Since never hides a change made within the same second.
        stamp = max(float(int(time.time())), self._last_modified + 1)
        self._last_modified = stamp
        etag = '"' + hashlib.sha256(route.body).hexdigest()[:20] + '"'
        wire_body = gzip_module.compress(route.body, mtime=0) if route.gzip else route.body
        return replace(route, etag=etag, last_modified=stamp, wire_body=wire_body)

    def route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)

    def _enter(self, path: str) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._path_in_flight[path] += 1
            if self._path_in_flight[path] > 1:
                self.overlapping.append(path)

    def _answering(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _leave(self, path: str, *, answered: bool) -> None:
        with self._lock:
            if not answered:
                self.in_flight -= 1
            self._path_in_flight[path] -= 1

    def _record(self, path: str, status: int, headers: Message) -> None:
        with self._lock:
            self.requests.append(Request(path, status, headers))


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for handlers: a clean stop
    request_queue_size = 128  # benchmarks open many connections at once
    block_on_close = True
    feed_server: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out and hang up are the point of several tests.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and never speaks cannot hold stop() forever
    server: _Server
    _answered = False  # this request's answer has started (``_send``)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.feed_server
        path = urlsplit(self.path).path
        owner._enter(path)
        self._answered = False
        try:
            route = owner.route(path)
            if route is not None and route.delay and owner._stopping.wait(route.delay):
                return
            self._respond(route, send_body=send_body)
        finally:
            owner._leave(path, answered=self._answered)

    def _respond(self, route: Route | None, *, send_body: bool) -> int:
        if route is None:
            return self._send(404, b"not found\n", "text/plain", {}, send_body=send_body)
        if route.fault == "reset":
            self.server.feed_server._record(self.path, 0, self.headers)
            self._reset()
            return 0
        headers = dict(route.headers)
        if route.redirect_to is not None:
            target = route.redirect_to
            if target.startswith("/"):
                target = self.server.feed_server.url(target)
            headers["Location"] = target
            return self._send(route.status, b"", "text/plain", headers, send_body=send_body)
        if route.status != 200:
            if route.body:
                body, content_type = route.body, route.content_type
            else:
                body, content_type = f"error {route.status}\n".encode(), "text/plain"
            return self._send(route.status, body, content_type, headers, send_body=send_body)
        if route.validators:
            headers["ETag"] = route.etag
            headers["Last-Modified"] = formatdate(route.last_modified, usegmt=True)
        if route.validators and self._not_modified(route):
            return self._send(304, b"", None, headers, send_body=False)
        body = route.wire_body
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
        return self._send(
            200,
            body,
            route.content_type,
            headers,
            send_body=send_body,
            drip=route.drip,
            drip_chunk=route.drip_chunk,
            fault=route.fault,
        )

    def _reset(self) -> None:
        """Drop the connection with a TCP reset (SO_LINGER 0), as a crashing server does."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _not_modified(self, route: Route) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return "*" in tags or route.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
            return route.last_modified <= since
        return False

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: dict[str, str],
        *,
        send_body: bool,
        drip: float = 0.0,
        drip_chunk: int = 16,
        fault: str | None = None,
    ) -> int:
        # Logged (and no longer in flight) before a byte goes out, so a client that has
        # its answer sees it logged, and its next request is not counted with this one.
        self.server.feed_server._record(self.path, status, self.headers)
        if not self._answered:
            self._answered = True
            self.server.feed_server._answering()
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not send_body or status == 304:
            return status
        if fault in ("reset-mid-body", "short-body"):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if fault == "reset-mid-body":
                self._reset()
            else:
                self.close_connection = True
            return status
        stopping = self.server.feed_server._stopping
        if drip <= 0:
            self.wfile.write(body)
            return status
        for start in range(0, len(body), drip_chunk):
            self.wfile.write(body[start : start + drip_chunk])
            self.wfile.flush()
            if stopping.wait(drip):
                break
        return status
