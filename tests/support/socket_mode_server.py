"""A local stand-in for Slack's Socket Mode WebSocket endpoint.

Slack's ``apps.connections.open`` hands an app a one-off ``wss://`` URL; the app
connects, Slack greets it with a ``hello`` message, then pushes envelopes
(interactions, slash commands, events) down the socket and expects each one to
be acknowledged with ``{"envelope_id": ...}`` (plus a ``payload`` where the
envelope accepts one) within three seconds. This module is that server, built
on the ``websockets`` library's threaded server so the real
``slack_sdk.socket_mode.builtin.SocketModeClient`` can talk to it over
``ws://127.0.0.1`` (the builtin client only skips TLS when the port is not 443).

It is transport only: it knows tickets, connections, envelopes and acks, not
what an envelope means. :class:`tests.support.slack_server.SlackStandIn` builds
the Slack payloads and issues URLs from its ``apps.connections.open``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

APP_ID = "A0TEST"
ACK_DEADLINE = 3.0  # seconds Slack waits for an ack before telling the user it failed
LINK_PATH = "/link/"

# Seconds the server waits for a client to finish a close handshake. The builtin
# client never answers a close frame (it just drops the socket), so keep it short.
_CLOSE_TIMEOUT = 1.0

_logger = logging.getLogger("tests.support.socket_mode_server")


@dataclass(frozen=True)
class SocketAck:
    """A client's acknowledgement of one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None  # what the client put in "payload", if anything
    seconds: float  # from sending the envelope to receiving the ack
    envelope: dict[str, Any]  # the envelope as sent

    @property
    def in_time(self) -> bool:
        """Whether Slack would have accepted the ack (it gives up after 3 s)."""
        return self.seconds <= ACK_DEADLINE


class SocketAckTimeout(TimeoutError):
    """No client acknowledged an envelope (or none was connected) in time."""

    def __init__(self, envelope_id: str, timeout: float, *, connected: bool) -> None:
        self.envelope_id = envelope_id
        self.timeout = timeout
        self.connected = connected
        what = "no ack" if connected else "no Socket Mode client connected"
        super().__init__(f"{what} for envelope {envelope_id} within {timeout:g} s")


@dataclass
class _Link:
    """One open WebSocket connection that has been greeted."""

    connection: ServerConnection
    draining: bool = False  # told to go away (disconnect / close): gets no new envelopes
    close_when_replaced: bool = False  # close it once the client's next connection is up


@dataclass
class _Pending:
    """An envelope on its way: when it left, and the ack once one comes."""

    sent_at: float = 0.0
    acked_at: float | None = None
    ack: dict[str, Any] | None = None


@dataclass
class _Counters:
    opened: int = 0  # connections greeted with hello, ever
    tickets_issued: int = 0
    rejected_handshakes: int = 0
    frames: list[str] = field(default_factory=list)  # every text frame clients sent
    stray_acks: list[dict[str, Any]] = field(default_factory=list)


class SocketModeServer:
    """A threaded WebSocket server on 127.0.0.1 that speaks Slack's Socket Mode.

    All public methods are thread-safe. ``available`` is asked before each
    handshake so an outage of the surrounding stand-in also refuses sockets.
    """

    def __init__(
        self,
        *,
        app_id: str = APP_ID,
        available: Callable[[], bool] | None = None,
    ) -> None:
        self._app_id = app_id
        self._available = available or (lambda: True)
        self._state = threading.Condition()
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._handlers: set[threading.Thread] = set()  # connection threads, to join on stop
        self._pending: dict[str, _Pending] = {}
        self._acks: list[SocketAck] = []
        self._counters = _Counters()
        self._closing = False
        self._port: int | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> SocketModeServer:
        """Bind a free port and serve in a daemon thread; idempotent."""
        with self._state:
            if self._server is not None:
                return self
            server = serve(
                self._serve_connection,
                "127.0.0.1",
                0,
                process_request=self._check_handshake,
                compression=None,  # the builtin client cannot inflate frames
                close_timeout=_CLOSE_TIMEOUT,
                logger=_logger,
            )
            thread = threading.Thread(
                target=server.serve_forever, name="slack-socket-mode", daemon=True
            )
            self._server, self._thread = server, thread
            self._port = int(server.socket.getsockname()[1])
            self._closing = False
            thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (code 1001), stop listening, join all threads.

        Safe to call twice. Deliveries waiting for a client or an ack give up.
        """
        with self._state:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._closing = True
            self._tickets.clear()
            links = list(self._links)
            for link in links:
                link.draining = True
            self._state.notify_all()
        if server is None:
            return
        # Not under the lock: a client told to close may call apps.connections.open,
        # which lands in issue_url() on another thread. websockets before 17 leaves
        # open connections alone on shutdown, so close them here.
        for link in links:
            link.connection.close(1001, "server stopping")
        server.shutdown()
        if thread is not None:
            thread.join()
        with self._state:
            handlers = list(self._handlers)
        for handler in handlers:
            handler.join(timeout=_CLOSE_TIMEOUT + 1.0)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("SocketModeServer is not running; call start() first")
        return self._port

    # -- what apps.connections.open hands out ----------------------------------

    def issue_url(self) -> str:
        """A new single-use WebSocket URL, as ``apps.connections.open`` returns.

        After stop() the URL still names the old port (connecting is refused),
        which is what a client reconnecting during shutdown would meet anyway.
        """
        ticket = str(uuid.uuid4())
        with self._state:
            port = self.port
            if not self._closing:
                self._tickets.add(ticket)
            self._counters.tickets_issued += 1
        return f"ws://127.0.0.1:{port}{LINK_PATH}?ticket={ticket}&app_id={self._app_id}"

    # -- scenario control ------------------------------------------------------

    def wait_for_client(self, timeout: float = 5.0) -> None:
        """Block until a client is connected and greeted (and not told to leave).

        Raises TimeoutError otherwise. After :meth:`send_disconnect` this waits
        for the client's *new* connection.
        """
        with self._state:
            if not self._state.wait_for(lambda: self._ready_link() is not None, timeout):
                raise TimeoutError(f"no Socket Mode client connected within {timeout:g} s")

    def deliver(self, envelope: dict[str, Any], timeout: float = 5.0) -> SocketAck:
        """Send ``envelope`` to a connected client and wait for its ack.

        Waits up to ``timeout`` in all: for a client to be connected, then for
        the ack. Raises :class:`SocketAckTimeout` if either does not happen.
        """
        envelope_id = str(envelope["envelope_id"])
        deadline = time.monotonic() + timeout
        pending = _Pending()
        while True:
            with self._state:
                self._state.wait_for(
                    lambda: self._closing or self._ready_link() is not None,
                    max(0.0, deadline - time.monotonic()),
                )
                link = None if self._closing else self._ready_link()
                if link is None:
                    raise SocketAckTimeout(envelope_id, timeout, connected=False)
                pending.sent_at = time.monotonic()
                self._pending[envelope_id] = pending
            try:
                link.connection.send(json.dumps(envelope))
                break
            except ConnectionClosed:
                # The connection died under us; Slack would use another one.
                with self._state:
                    self._pending.pop(envelope_id, None)
                    link.draining = True

        with self._state:
            self._state.wait_for(
                lambda: pending.ack is not None or self._closing,
                max(0.0, deadline - time.monotonic()),
            )
            self._pending.pop(envelope_id, None)
            if pending.ack is None or pending.acked_at is None:
                raise SocketAckTimeout(envelope_id, timeout, connected=True)
            payload = pending.ack.get("payload")
            ack = SocketAck(
                envelope_id=envelope_id,
                payload=payload if isinstance(payload, dict) else None,
                seconds=pending.acked_at - pending.sent_at,
                envelope=envelope,
            )
            self._acks.append(ack)
            return ack

    def send_disconnect(self, reason: str = "refresh_requested", *, close_old: bool = False) -> int:
        """Tell every connected client to reconnect, as Slack does before a refresh.

        Sends ``{"type": "disconnect", "reason": ...}``; those connections get no
        further envelopes. Returns how many connections were told.

        By default the old connection stays open until the client drops it, as
        Slack leaves it for a while. The builtin client only drops it when its
        blocking read times out (up to 3 s), and reads nothing from its new
        connection until then. ``close_old=True`` closes the old connection as
        soon as the new one is up, for a prompt handover.
        """
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-test"}}
        )
        with self._state:
            links = [link for link in self._links if not link.draining]
            for link in links:
                link.draining = True
                link.close_when_replaced = close_old
        for link in links:
            try:
                link.connection.send(message)
            except ConnectionClosed:
                pass
        return len(links)

    def close_connections(self, code: int = 1001, reason: str = "") -> int:
        """Close every connection from the server side (a dropped link).

        The builtin client reconnects on its own when it sees the close frame.
        Returns how many connections were closed.
        """
        with self._state:
            links = list(self._links)
            for link in links:
                link.draining = True
            self._state.notify_all()
        for link in links:
            link.connection.close(code, reason)
        return len(links)

    # -- inspection ----------------------------------------------------------

    @property
    def connections_opened(self) -> int:
        """How many connections have been accepted and greeted, ever."""
        with self._state:
            return self._counters.opened

    @property
    def open_connections(self) -> int:
        with self._state:
            return len(self._links)

    @property
    def tickets_issued(self) -> int:
        """How many URLs ``apps.connections.open`` handed out."""
        with self._state:
            return self._counters.tickets_issued

    @property
    def rejected_handshakes(self) -> int:
        """Handshakes refused (unknown or reused ticket, wrong path, outage)."""
        with self._state:
            return self._counters.rejected_handshakes

    @property
    def frames(self) -> list[str]:
        """Every text frame clients sent, in order of arrival."""
        with self._state:
            return list(self._counters.frames)

    @property
    def acks(self) -> list[SocketAck]:
        """Acks that arrived in time for a waiting delivery."""
        with self._state:
            return list(self._acks)

    @property
    def stray_acks(self) -> list[dict[str, Any]]:
        """Frames naming an envelope nobody was waiting for (late or duplicate acks)."""
        with self._state:
            return list(self._counters.stray_acks)

    # -- server side (runs in websockets' threads) -----------------------------

    def _ready_link(self) -> _Link | None:
        """The newest live connection, as Slack favours; caller holds the lock."""
        live = [link for link in self._links if not link.draining]
        return live[-1] if live else None

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Accept only an unused ticket on the link path, and nothing during an outage."""
        url = urlsplit(request.path)
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        if not self._available():
            status, text = HTTPStatus.SERVICE_UNAVAILABLE, "service unavailable\n"
        elif url.path != LINK_PATH:
            status, text = HTTPStatus.NOT_FOUND, "not found\n"
        else:
            with self._state:
                if ticket in self._tickets:
                    self._tickets.discard(ticket)  # single use, like Slack's
                    return None
            status, text = HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n"
        with self._state:
            self._counters.rejected_handshakes += 1
        return connection.respond(status, text)

    def _serve_connection(self, connection: ServerConnection) -> None:
        """Greet a new connection with Slack's hello, then read acks until it closes."""
        with self._state:
            self._handlers.add(threading.current_thread())
            live = sum(1 for link in self._links if not link.draining) + 1
        hello = {
            "type": "hello",
            "num_connections": live,
            "debug_info": {
                "host": "applink-test",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }
        link = _Link(connection=connection)
        try:
            connection.send(json.dumps(hello))
            with self._state:
                closing = self._closing
                if not closing:
                    self._counters.opened += 1
                    self._links.append(link)
                    self._state.notify_all()
            if closing:  # stop() began after this client got in: it would not see us
                connection.close(1001, "server stopping")
                return
            self._close_replaced()
            for frame in connection:
                self._receive(frame)
        except ConnectionClosed:
            pass  # the builtin client drops the socket without a close frame
        finally:
            with self._state:
                if link in self._links:
                    self._links.remove(link)
                self._handlers.discard(threading.current_thread())
                self._state.notify_all()

    def _close_replaced(self) -> None:
        """Close connections that were told to go once a new one arrived."""
        with self._state:
            replaced = [link for link in self._links if link.close_when_replaced]
            for link in replaced:
                link.close_when_replaced = False
        for link in replaced:
            link.connection.close(1001, "replaced")

    def _receive(self, frame: str | bytes) -> None:
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        with self._state:
            self._counters.frames.append(text)
            if not isinstance(message, dict) or "envelope_id" not in message:
                return
            pending = self._pending.get(str(message["envelope_id"]))
            if pending is None or pending.ack is not None:
                self._counters.stray_acks.append(message)
                return
            pending.ack = message
            pending.acked_at = time.monotonic()
            self._state.notify_all()
