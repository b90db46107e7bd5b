"""A local stand-in for Slack, for tests and demos.

The real ``slack_sdk`` clients talk to it over HTTP and WebSocket on 127.0.0.1,
so the whole client stack (request building, retry handlers, error parsing,
Socket Mode framing) runs for real. It answers the way Slack does: HTTP 200
with ``{"ok": false, "error": ...}`` for Web API errors, 429 with
``Retry-After`` for rate limits, plain-text status codes from incoming
webhooks, and an HTML page for gateway failures.

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="#claims", text="hi")
        assert slack.messages[0].text == "hi"

What it serves:

* Web API (``base_url``): ``auth.test``, ``chat.postMessage``, ``chat.update``,
  ``conversations.history``, ``conversations.replies`` and
  ``apps.connections.open``. Channels are opaque keys: a message posted to
  ``#claims`` lives in ``#claims``, not in some ``C...`` id.
* Incoming webhooks (``webhook_url``, more via ``add_webhook``).
* ``response_url`` endpoints handed out in interaction payloads.
* Socket Mode (``tests.support.socket_mode_server``): ``send_block_action``,
  ``send_slash_command`` and ``send_disconnect`` push envelopes to a connected
  ``SocketModeClient`` and return its ack.

Block validation covers the block types claimbot sends (header, section,
context, divider, image) and the limits Slack documents for them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from tests.support.socket_mode_server import (
    APP_ID,
    SocketAck,
    SocketAckTimeout,
    SocketModeServer,
)

__all__ = [
    "APP_ID",
    "Call",
    "MessageVersion",
    "PostedMessage",
    "ResponseUrlPost",
    "SlackStandIn",
    "SocketAck",
    "SocketAckTimeout",
    "WebhookMessage",
    "check_message",
]

DEFAULT_TOKENS = frozenset({"xoxb-test"})
DEFAULT_APP_TOKENS = frozenset({"xapp-test"})  # app-level tokens: only for apps.connections.open
DEFAULT_CHANNELS = frozenset({"#claims", "#alerts", "C0123456789"})
DEFAULT_USER_ID = "U0USER0001"
DEFAULT_USER_NAME = "analyst"

BLOCKS_MAX = 50
HEADER_TEXT_MAX = 150
TEXT_OBJECT_MAX = 3000  # section text and any text object
CONTEXT_TEXT_MAX = 2000  # stricter than the generic text-object limit, as claimbot assumes
CONTEXT_ELEMENTS_MAX = 10
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
BLOCK_ID_MAX = 255
MESSAGE_TEXT_MAX = 40_000

HISTORY_LIMIT_DEFAULT = 100  # conversations.history / .replies without ``limit``
HISTORY_LIMIT_MAX = 999  # Slack caps larger limits silently
RESPONSE_URL_USES = 5  # Slack accepts five posts to one response_url

AUTH_TEST_RESULT: dict[str, Any] = {
    "url": "https://claimbot-test.slack.com/",
    "team": "Claimbot Test",
    "user": "claimbot",
    "team_id": "T0TEST0001",
    "user_id": "U0BOT00001",
    "bot_id": "B0BOT00001",
    "is_enterprise_install": False,
}
TEAM_DOMAIN = "claimbot-test"
VERIFICATION_TOKEN = "verification-token-test"  # the legacy "token" in interaction payloads
WEBHOOK_PATH = "/services/T0TEST0001/B0HOOK0001/Xx0TestWebhookSecret0000"

_TS_STEP_MICROS = 100  # the least gap between two messages' ts, so each ts is unique
_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")  # what Slack accepts as a metadata event_type
_FLOAT_SLACK = 1e-9  # token-bucket rounding: a bot pacing exactly at the rate is not over it

_API_METHODS = frozenset(
    {
        "apps.connections.open",
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "conversations.history",
        "conversations.replies",
    }
)
_WRITE_METHODS = frozenset({"chat.postMessage", "chat.update"})  # see set_write_delay

# What an incoming webhook answers when its channel has a problem: (HTTP status, body).
_WEBHOOK_CHANNEL_ERRORS = {
    "channel_not_found": (404, "channel_not_found"),
    "is_archived": (410, "channel_is_archived"),
    "channel_is_archived": (410, "channel_is_archived"),
}

_ERROR_PAGE = """<!DOCTYPE html>
<html><head><title>{status} {reason}</title></head>
<body><h1>{status} {reason}</h1><p>The server could not handle your request.</p></body>
</html>
"""

_KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)


@dataclass(frozen=True)
class MessageVersion:
    """What one edit (``chat.update`` or a ``replace_original`` response) set a message to."""

    text: str | None
    blocks: list[dict[str, Any]] | None
    metadata: dict[str, Any] | None
    at: float  # time.monotonic() of the edit
    edit_ts: str = ""  # Slack's timestamp of the edit (the message's "edited.ts")


@dataclass(frozen=True)
class PostedMessage:
    """One message the stand-in accepted, as it reads now (after its latest edit)."""

    channel: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str
    thread_ts: str | None  # set on thread replies only
    token: str
    metadata: dict[str, Any] | None = None  # {"event_type": ..., "event_payload": {...}}
    edits: tuple[MessageVersion, ...] = ()  # every edit, oldest first
    at: float = 0.0  # time.monotonic() when posted

    @property
    def edited(self) -> bool:
        return bool(self.edits)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class WebhookMessage:
    """One message an incoming webhook accepted."""

    channel: str  # the channel the webhook is bound to
    text: str | None
    blocks: list[dict[str, Any]] | None
    body: dict[str, Any]  # the whole JSON payload, as sent
    at: float


@dataclass(frozen=True)
class ResponseUrlPost:
    """One accepted POST to a ``response_url`` from an interaction or a slash command."""

    kind: str  # "actions" (block_actions) or "commands" (slash command)
    url: str
    body: dict[str, Any]
    channel: str
    message_ts: str | None  # the message the action came from; None for commands
    user_id: str
    at: float


class Call(NamedTuple):
    """One HTTP request the stand-in answered.

    ``method`` is the Web API method, or ``"incoming-webhook"`` / ``"response_url"``.
    """

    method: str
    http_status: int
    at: float  # time.monotonic() when the answer was decided


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: int | None
    error: str | None
    stall: float = 0.0  # seconds to wait before answering normally
    handle_first: bool = False  # with stall: do the work at once, hold back only the answer
    method: str | None = None  # only this Web API method meets the fault; None: any


@dataclass
class _Bucket:
    """Slack's per-channel write budget: ``burst`` writes at once, refilled at ``rate``/s."""

    tokens: float
    updated: float


@dataclass
class _ResponseTarget:
    kind: str
    channel: str
    message_ts: str | None
    user_id: str
    uses: int = 0


class _Reply(NamedTuple):
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent clients must not wait on SYN retries
    stand_in: SlackStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hung up first (a timeout test); report the rest."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so shutdown never waits on keep-alive.
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        self.server.stand_in._handle(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.stand_in._handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output quiet."""


class SlackStandIn:
    """Threaded HTTP and Socket Mode servers on 127.0.0.1 that answer like Slack.

    All public methods are thread-safe; tests may inject faults while a client
    is mid-request.

    ``channel_rate`` (writes per second) and ``channel_burst`` give every
    channel Slack's write budget: a token bucket shared by ``chat.postMessage``,
    ``chat.update`` and incoming-webhook posts to that channel. A write over
    budget gets HTTP 429 with ``Retry-After``. None (the default) means no
    budget.

    Message timestamps come from ``clock`` (epoch seconds; the wall clock by
    default, as on Slack), so ``oldest``/``latest`` filters compare with real
    times. Pass the test's own clock when the code under test uses a fake one.
    """

    def __init__(
        self,
        *,
        tokens: frozenset[str] | set[str] = DEFAULT_TOKENS,
        channels: frozenset[str] | set[str] = DEFAULT_CHANNELS,
        app_tokens: frozenset[str] | set[str] = DEFAULT_APP_TOKENS,
        channel_rate: float | None = None,
        channel_burst: int = 1,
        webhook_channel: str = "#claims",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if channel_rate is not None and channel_rate <= 0:
            raise ValueError("channel_rate must be positive (or None for no budget)")
        if channel_burst < 1:
            raise ValueError("channel_burst must be at least 1")
        self._tokens = frozenset(tokens)
        self._app_tokens = frozenset(app_tokens)
        self._channels = set(channels)
        self._channel_rate = channel_rate
        self._channel_burst = channel_burst
        self._lock = threading.Lock()
        self._messages: list[PostedMessage] = []
        self._calls: list[Call] = []
        self._faults: deque[_Fault] = deque()
        self._channel_errors: dict[str, str] = {}
        self._outage = False
        self._outage_until = 0.0  # time.monotonic() deadline of a timed outage
        self._seq = 0
        self._clock = clock  # epoch seconds, for message ts: Slack's ts are wall-clock times
        self._last_ts_micros = 0
        self._buckets: dict[str, _Bucket] = {}
        self._write_times: dict[str, list[float]] = {}
        self._rate_limited = 0
        self._webhooks: dict[str, str] = {WEBHOOK_PATH: webhook_channel}
        self._webhook_messages: list[WebhookMessage] = []
        self._response_targets: dict[str, _ResponseTarget] = {}
        self._responses: list[ResponseUrlPost] = []
        self._write_delay = (0.0, 0.0)  # seconds before and after handling each write
        self._writes_in_flight = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket = SocketModeServer(app_id=APP_ID, available=lambda: not self._is_down())

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Bind free ports and serve HTTP and Socket Mode in daemon threads."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.stand_in = self
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="slack-stand-in",
            daemon=True,
        )
        self._server, self._thread = server, thread
        self._stopping.clear()
        thread.start()
        self._socket.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening sockets; safe to call twice.

        Close any SocketModeClient first: a client still connected sees the
        socket close and starts reconnecting in its own threads.
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._stopping.set()  # wake stalled requests
        self._socket.stop()  # first, so a client told to go can still reach apps.connections.open
        server.shutdown()
        if thread is not None:
            thread.join()
        server.server_close()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``, trailing slash included."""
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def webhook_url(self) -> str:
        """A working incoming-webhook URL, bound to ``webhook_channel``."""
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def add_webhook(self, channel: str) -> str:
        """Create another incoming webhook, bound to ``channel``; returns its URL."""
        path = f"/services/{AUTH_TEST_RESULT['team_id']}/B0HOOK{secrets.token_hex(2).upper()}"
        path += f"/{secrets.token_urlsafe(18)}"
        with self._lock:
            self._webhooks[path] = channel
        return f"http://127.0.0.1:{self.port}{path}"

    # -- scenario control ----------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``n`` Web API calls fail (webhooks and response URLs are spared).

        429 answers ``Retry-After: retry_after`` and ``{"ok": false, "error":
        "ratelimited"}``; 5xx answers an HTML error page; 200 answers
        ``{"ok": false, "error": error}`` (for errors like ``internal_error``).
        """
        if status == 200 and not error:
            raise ValueError("fail_next(status=200) needs error=...")
        fault = _Fault(status=status, retry_after=retry_after, error=error)
        with self._lock:
            self._faults.extend([fault] * n)

    def stall_next(
        self, n: int = 1, *, seconds: float, handle_first: bool = False,
        method: str | None = None,
    ) -> None:
        """Make the next ``n`` Web API calls wait ``seconds`` before answering (timeouts).

        The call is then handled normally, so a post is recorded even when the
        client gave up waiting, as it would be on Slack's side. By default the
        work happens after the wait (Slack slow to process); ``handle_first``
        does it at once and delays only the answer (the answer lost on the way
        back), so a read made meanwhile already sees the post. ``method``
        (``"chat.postMessage"``) stalls only calls of that method; others pass.
        """
        fault = _Fault(
            status=200, retry_after=None, error=None, stall=seconds, handle_first=handle_first,
            method=method,
        )
        with self._lock:
            self._faults.extend([fault] * n)

    def clear_faults(self) -> None:
        """Drop the faults queued by :meth:`fail_next` and :meth:`stall_next` not yet met."""
        with self._lock:
            self._faults.clear()

    def set_write_delay(self, before: float = 0.0, after: float = 0.0) -> None:
        """Make every write (``chat.postMessage``, ``chat.update``) take time, as over a real
        network: ``before`` seconds pass before Slack handles it, ``after`` more before the
        answer goes back. A client killed meanwhile has either not posted yet, or posted
        without seeing the answer; :attr:`writes_in_flight` tells when a write is under way.
        """
        if before < 0 or after < 0:
            raise ValueError("write delays must not be negative")
        with self._lock:
            self._write_delay = (before, after)

    @property
    def writes_in_flight(self) -> int:
        """Writes received and not yet answered (only counted while a write delay is set)."""
        with self._lock:
            return self._writes_in_flight

    def set_outage(self, on: bool) -> None:
        """While on, every HTTP request gets 503 with an HTML page and sockets are refused.

        Turning it off also ends a timed :meth:`outage`.
        """
        with self._lock:
            self._outage = on
            if not on:
                self._outage_until = 0.0

    def outage(self, seconds: float) -> None:
        """Be down (as :meth:`set_outage`) for the next ``seconds``, then recover by itself."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def set_channel_error(self, channel: str, error: str | None) -> None:
        """Make writes to ``channel`` answer ``error`` (None clears it)."""
        with self._lock:
            if error is None:
                self._channel_errors.pop(channel, None)
            else:
                self._channel_errors[channel] = error

    def add_channel(self, channel: str) -> None:
        with self._lock:
            self._channels.add(channel)

    def reset(self) -> None:
        """Forget messages, calls, faults, outages, channel errors, budgets and responses.

        Timestamps keep increasing across resets so they stay unique. Socket
        Mode connections stay up.
        """
        with self._lock:
            self._messages.clear()
            self._calls.clear()
            self._faults.clear()
            self._channel_errors.clear()
            self._outage = False
            self._outage_until = 0.0
            self._buckets.clear()
            self._write_times.clear()
            self._rate_limited = 0
            self._webhook_messages.clear()
            self._response_targets.clear()
            self._responses.clear()

    # -- inspection ----------------------------------------------------------

    @property
    def messages(self) -> list[PostedMessage]:
        """Every message posted through the Web API, in posting order, as edited since."""
        with self._lock:
            return list(self._messages)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def rate_limited(self) -> int:
        """How many writes the per-channel budget turned away with 429."""
        with self._lock:
            return self._rate_limited

    def write_times(self, channel: str) -> list[float]:
        """time.monotonic() of every write to ``channel`` that was accepted, in order."""
        with self._lock:
            return list(self._write_times.get(channel, []))

    @property
    def webhook_messages(self) -> list[WebhookMessage]:
        with self._lock:
            return list(self._webhook_messages)

    @property
    def responses(self) -> list[ResponseUrlPost]:
        """Accepted POSTs to response URLs, in order."""
        with self._lock:
            return list(self._responses)

    # -- Socket Mode -----------------------------------------------------------

    @property
    def socket_mode(self) -> SocketModeServer:
        """The WebSocket side: connection counts, frames and acks for assertions."""
        return self._socket

    def wait_for_socket_client(self, timeout: float = 5.0) -> None:
        """Block until a SocketModeClient is connected; TimeoutError otherwise."""
        self._socket.wait_for_client(timeout)

    def send_disconnect(self, reason: str = "refresh_requested", *, close_old: bool = False) -> int:
        """Send Slack's ``disconnect`` message; the client should reconnect.

        Returns how many connections were told; see SocketModeServer.send_disconnect
        for ``close_old``.
        """
        return self._socket.send_disconnect(reason, close_old=close_old)

    def send_block_action(
        self,
        *,
        action_id: str,
        value: str | None = None,
        channel_id: str,
        message_ts: str,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        block_id: str | None = None,
        timeout: float = 5.0,
    ) -> SocketAck:
        """Click a button: push a ``block_actions`` envelope and wait for the ack.

        The payload carries the stored message (as it reads now) when there is
        one, and the button's block_id, text and value from its blocks unless
        given here. Raises SocketAckTimeout if no client acks within ``timeout``.
        """
        with self._lock:
            message = self._find(channel_id, message_ts)
            response_url = self._new_response_url("actions", channel_id, message_ts, user_id)
            action_ts = f"{self._clock():.6f}"
        payload = _block_actions_payload(
            message=message,
            action_id=action_id,
            value=value,
            block_id=block_id,
            channel_id=channel_id,
            message_ts=message_ts,
            user_id=user_id,
            user_name=user_name,
            response_url=response_url,
            action_ts=action_ts,
        )
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": "interactive",
            "accepts_response_payload": False,
        }
        return self._socket.deliver(envelope, timeout)

    def send_slash_command(
        self,
        *,
        text: str,
        command: str = "/claimbot",
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        channel_id: str = "C0123456789",
        timeout: float = 5.0,
    ) -> SocketAck:
        """Run a slash command: push a ``slash_commands`` envelope and wait for the ack.

        The ack's ``payload`` is what Slack would show the user (ephemeral unless
        it says ``"response_type": "in_channel"``).
        """
        with self._lock:
            response_url = self._new_response_url("commands", channel_id, None, user_id)
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": AUTH_TEST_RESULT["team_id"],
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": _trigger_id(),
        }
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": "slash_commands",
            "accepts_response_payload": True,
        }
        return self._socket.deliver(envelope, timeout)

    # -- request handling (runs in server threads) ---------------------------

    def _handle(self, request: _Handler) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if url.path.startswith("/api/"):
            reply = self._api(url.path[len("/api/") :], request, url.query, raw)
        elif url.path.startswith("/services/"):
            reply = self._webhook(url.path, request.headers.get("Content-Type", ""), raw)
        elif url.path.startswith(("/actions/", "/commands/")):
            reply = self._response_url(url.path, raw)
        else:
            reply = _html(404)
        _send(request, reply)

    def _is_down(self) -> bool:
        """Whether an outage is on; caller may or may not hold the lock (reads are atomic)."""
        return self._outage or time.monotonic() < self._outage_until

    def _api(self, method: str, request: _Handler, query: str, raw: bytes) -> _Reply:
        with self._lock:
            before, after = self._write_delay
        if method not in _WRITE_METHODS or not (before or after):
            return self._api_now(method, request, query, raw)
        with self._lock:
            self._writes_in_flight += 1
        try:
            if before:
                self._stopping.wait(before)
            reply = self._api_now(method, request, query, raw)
            if after:
                self._stopping.wait(after)
            return reply
        finally:
            with self._lock:
                self._writes_in_flight -= 1

    def _api_now(self, method: str, request: _Handler, query: str, raw: bytes) -> _Reply:
        with self._lock:
            fault: _Fault | None = None
            if self._is_down():
                fault = _Fault(status=503, retry_after=None, error=None)
            else:
                fault = self._take_fault(method)
        if fault is not None and fault.stall:
            if fault.handle_first:
                with self._lock:
                    reply = self._answer(method, request, query, raw)
                    self._calls.append(Call(method, reply.status, time.monotonic()))
                self._stopping.wait(fault.stall)
                return reply
            self._stopping.wait(fault.stall)
            fault = None
        with self._lock:
            if fault is None:
                reply = self._answer(method, request, query, raw)
            elif fault.status == 429:
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                reply = _json({"ok": False, "error": fault.error or "ratelimited"}, 429, headers)
            elif fault.status == 200:
                reply = _json({"ok": False, "error": fault.error})
            else:
                reply = _html(fault.status)
            self._calls.append(Call(method, reply.status, time.monotonic()))
        return reply

    def _take_fault(self, method: str) -> _Fault | None:
        """The first queued fault meant for ``method``, taken off the queue; caller holds the
        lock."""
        for index, fault in enumerate(self._faults):
            if fault.method is None or fault.method == method:
                del self._faults[index]
                return fault
        return None

    def _answer(self, method: str, request: _Handler, query: str, raw: bytes) -> _Reply:
        """Decide the answer to one Web API call; caller holds the lock."""
        params, problem = _parse_params(request.headers.get("Content-Type", ""), query, raw)
        token = _bearer_token(request.headers.get("Authorization")) or params.get("token")
        if method not in _API_METHODS:
            return _error("unknown_method")
        if not token:
            return _error("not_authed")
        if method == "apps.connections.open":
            return self._open_connection(token)
        if token in self._app_tokens:
            return _error("not_allowed_token_type")
        if token not in self._tokens:
            return _error("invalid_auth")
        if problem:
            return _error(problem)
        if method == "auth.test":
            return _json({"ok": True, **AUTH_TEST_RESULT})
        if method == "chat.postMessage":
            return self._post_message(params, token)
        if method == "chat.update":
            return self._update_message(params, token)
        if method == "conversations.history":
            return self._history(params)
        return self._replies(params)

    def _open_connection(self, token: str) -> _Reply:
        """``apps.connections.open``: only an app-level token gets a WebSocket URL."""
        if token in self._tokens:
            return _error("not_allowed_token_type")
        if token not in self._app_tokens:
            return _error("invalid_auth")
        return _json({"ok": True, "url": self._socket.issue_url()})

    def _check_channel(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return "channel_not_found"
        if channel in self._channel_errors:
            return self._channel_errors[channel]
        if channel not in self._channels:
            return "channel_not_found"
        return None

    def _over_budget(self, channel: str) -> int | None:
        """Spend one write from ``channel``'s bucket; the Retry-After seconds if empty.

        Caller holds the lock.
        """
        rate = self._channel_rate
        if rate is None:
            return None
        now = time.monotonic()
        bucket = self._buckets.setdefault(channel, _Bucket(float(self._channel_burst), now))
        bucket.tokens = min(
            float(self._channel_burst), bucket.tokens + (now - bucket.updated) * rate
        )
        bucket.updated = now
        if bucket.tokens >= 1.0 - _FLOAT_SLACK:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            return None
        self._rate_limited += 1
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def _accept_write(self, channel: str, at: float) -> None:
        self._write_times.setdefault(channel, []).append(at)

    def _post_message(self, params: dict[str, Any], token: str) -> _Reply:
        channel = params.get("channel")
        problem = self._check_channel(channel)
        if problem:
            return _error(problem)
        assert isinstance(channel, str)
        retry_after = self._over_budget(channel)
        if retry_after is not None:
            return _ratelimited(retry_after)
        problem = _check_params(params)
        if problem:
            return _error(problem)
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            parent = self._find(channel, str(thread_ts))
            if parent is None or parent.is_reply:
                return _error("thread_not_found")
        metadata, problem, warning = _check_metadata(params.get("metadata"))
        if problem:
            return _error(problem)
        now = time.monotonic()
        message = PostedMessage(
            channel=channel,
            text=params.get("text") or None,
            blocks=params.get("blocks") or None,
            ts=self._next_ts(),
            thread_ts=str(thread_ts) if thread_ts else None,
            token=token,
            metadata=metadata,
            at=now,
        )
        self._messages.append(message)
        self._accept_write(channel, now)
        body = {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self._message_json(message, with_metadata=True),
        }
        return _json(_with_warning(body, warning))

    def _update_message(self, params: dict[str, Any], token: str) -> _Reply:
        channel, ts = params.get("channel"), params.get("ts")
        problem = self._check_channel(channel)
        if problem:
            return _error(problem)
        assert isinstance(channel, str)
        index = next(
            (i for i, m in enumerate(self._messages) if m.channel == channel and m.ts == ts),
            None,
        )
        if index is None:
            return _error("message_not_found")
        message = self._messages[index]
        if message.token != token:  # another app's (or person's) message
            return _error("cant_update_message")
        retry_after = self._over_budget(channel)
        if retry_after is not None:
            return _ratelimited(retry_after)
        problem = _check_params(params)
        if problem:
            return _error(problem)
        metadata, warning = message.metadata, None
        if "metadata" in params and params["metadata"] == {}:
            metadata = None  # an empty object removes the metadata, as on Slack
        elif params.get("metadata"):
            new, problem, warning = _check_metadata(params["metadata"])
            if problem:
                return _error(problem)
            metadata = new if new is not None else metadata
        now = time.monotonic()
        text = params.get("text") or None
        blocks = params.get("blocks") if "blocks" in params else message.blocks
        updated = replace(
            message,
            text=text,
            blocks=blocks,
            metadata=metadata,
            edits=(*message.edits, MessageVersion(text, blocks, metadata, now, self._next_ts())),
        )
        self._messages[index] = updated
        self._accept_write(channel, now)
        body = {
            "ok": True,
            "channel": updated.channel,
            "ts": updated.ts,
            "text": updated.text or "",
            "message": self._message_json(updated, with_metadata=True),
        }
        return _json(_with_warning(body, warning))

    def _history(self, params: dict[str, Any]) -> _Reply:
        """``conversations.history``: top-level messages, newest first, cursor-paged."""
        channel = params.get("channel")
        problem = self._check_channel(channel)
        if problem:
            return _error(problem)
        top = [m for m in self._messages if m.channel == channel and not m.is_reply]
        return self._page(top, params, newest_first=True, extra={"pin_count": 0})

    def _replies(self, params: dict[str, Any]) -> _Reply:
        """``conversations.replies``: a thread's parent then its replies, oldest first."""
        channel, ts = params.get("channel"), params.get("ts")
        problem = self._check_channel(channel)
        if problem:
            return _error(problem)
        assert isinstance(channel, str)
        if not ts:
            return _error("invalid_arguments")
        found = self._find(channel, str(ts))
        if found is None:
            return _error("thread_not_found")
        parent_ts = found.thread_ts if found.is_reply else found.ts
        thread = [
            m
            for m in self._messages
            if m.channel == channel and (m.ts == parent_ts or m.thread_ts == parent_ts)
        ]
        return self._page(thread, params, newest_first=False, extra={})

    def _page(
        self,
        messages: list[PostedMessage],
        params: dict[str, Any],
        *,
        newest_first: bool,
        extra: dict[str, Any],
    ) -> _Reply:
        """Window (oldest/latest/inclusive), order and cursor-page ``messages``."""
        try:
            oldest = _ts_value(params.get("oldest"), Decimal(0))
        except ValueError:
            return _error("invalid_ts_oldest")
        try:
            latest = _ts_value(params.get("latest"), Decimal("Infinity"))
        except ValueError:
            return _error("invalid_ts_latest")
        try:
            limit = int(params.get("limit") or HISTORY_LIMIT_DEFAULT)
        except (TypeError, ValueError):
            return _error("invalid_arguments")
        limit = min(limit, HISTORY_LIMIT_MAX) if limit > 0 else HISTORY_LIMIT_DEFAULT
        inclusive = _truthy(params.get("inclusive"))
        with_metadata = _truthy(params.get("include_all_metadata"))

        def in_window(ts: Decimal) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        ordered = sorted(
            (m for m in messages if in_window(Decimal(m.ts))),
            key=lambda m: Decimal(m.ts),
            reverse=newest_first,
        )
        cursor = params.get("cursor")
        if cursor:
            start = _cursor_ts(str(cursor))
            if start is None:
                return _error("invalid_cursor")
            ordered = [
                m
                for m in ordered
                if (Decimal(m.ts) <= start if newest_first else Decimal(m.ts) >= start)
            ]
        page, rest = ordered[:limit], ordered[limit:]
        next_cursor = _make_cursor(rest[0].ts) if rest else ""
        body: dict[str, Any] = {
            "ok": True,
            "messages": [self._message_json(m, with_metadata=with_metadata) for m in page],
            "has_more": bool(rest),
            **extra,
            "response_metadata": {"next_cursor": next_cursor},
        }
        return _json(body)

    def _find(self, channel: str, ts: str) -> PostedMessage | None:
        """The stored message ``ts`` in ``channel``; caller holds the lock."""
        return next((m for m in self._messages if m.channel == channel and m.ts == ts), None)

    def _message_json(self, message: PostedMessage, *, with_metadata: bool) -> dict[str, Any]:
        """The message object Slack returns; caller holds the lock."""
        body: dict[str, Any] = {
            "type": "message",
            "user": AUTH_TEST_RESULT["user_id"],
            "bot_id": AUTH_TEST_RESULT["bot_id"],
            "app_id": APP_ID,
            "team": AUTH_TEST_RESULT["team_id"],
            "text": message.text or "",
            "ts": message.ts,
        }
        if message.blocks is not None:
            body["blocks"] = message.blocks
        if message.is_reply:
            body["thread_ts"] = message.thread_ts
            body["parent_user_id"] = AUTH_TEST_RESULT["user_id"]
        else:
            replies = [m for m in self._messages if m.is_reply and m.thread_ts == message.ts]
            if replies:
                body["thread_ts"] = message.ts
                body["reply_count"] = len(replies)
                body["reply_users_count"] = 1
                body["latest_reply"] = replies[-1].ts
                body["reply_users"] = [AUTH_TEST_RESULT["user_id"]]
        if message.edits:
            body["edited"] = {"user": AUTH_TEST_RESULT["user_id"], "ts": message.edits[-1].edit_ts}
        if with_metadata and message.metadata is not None:
            body["metadata"] = message.metadata
        return body

    def _webhook(self, path: str, content_type: str, raw: bytes) -> _Reply:
        """An incoming-webhook POST: plain-text answers with HTTP status codes, as Slack's."""
        with self._lock:
            reply = self._webhook_answer(path, content_type, raw)
            self._calls.append(Call("incoming-webhook", reply.status, time.monotonic()))
        return reply

    def _webhook_answer(self, path: str, content_type: str, raw: bytes) -> _Reply:
        if self._is_down():
            return _html(503)
        channel = self._webhooks.get(path)
        if channel is None:
            return _text(404, "no_service")
        body = _webhook_body(content_type, raw)
        if body is None:
            return _text(400, "invalid_payload")
        problem = self._check_channel(channel)
        if problem:
            status, code = _WEBHOOK_CHANNEL_ERRORS.get(problem, (403, "action_prohibited"))
            return _text(status, code)
        retry_after = self._over_budget(channel)
        if retry_after is not None:
            return _text(429, "rate_limited", {"Retry-After": str(retry_after)})
        problem = _check_params(body)
        if problem:
            return _text(400, _hook_error(problem))
        now = time.monotonic()
        self._webhook_messages.append(
            WebhookMessage(
                channel=channel,
                text=body.get("text") or None,
                blocks=body.get("blocks") or None,
                body=body,
                at=now,
            )
        )
        self._accept_write(channel, now)
        return _text(200, "ok")

    def _new_response_url(
        self, kind: str, channel: str, message_ts: str | None, user_id: str
    ) -> str:
        """Mint a response_url for an interaction; caller holds the lock."""
        team, secret = AUTH_TEST_RESULT["team_id"], secrets.token_urlsafe(18)
        path = f"/{kind}/{team}/{self._next_seq()}/{secret}"
        self._response_targets[path] = _ResponseTarget(kind, channel, message_ts, user_id)
        return f"http://127.0.0.1:{self.port}{path}"

    def _response_url(self, path: str, raw: bytes) -> _Reply:
        """A POST to a response_url: "ok" on success; ``replace_original`` edits the message."""
        with self._lock:
            reply = self._response_answer(path, raw)
            self._calls.append(Call("response_url", reply.status, time.monotonic()))
        return reply

    def _response_answer(self, path: str, raw: bytes) -> _Reply:
        if self._is_down():
            return _html(503)
        target = self._response_targets.get(path)
        if target is None:
            return _json({"ok": False, "error": "expired_url"}, 404)
        if target.uses >= RESPONSE_URL_USES:
            return _json({"ok": False, "error": "used_url"}, 404)
        body = _webhook_body("application/json", raw)
        if body is None:
            return _text(400, "invalid_payload")
        if not _truthy(body.get("delete_original")):
            problem = _check_params(body)
            if problem:
                return _text(400, _hook_error(problem))
        target.uses += 1
        now = time.monotonic()
        self._responses.append(
            ResponseUrlPost(
                kind=target.kind,
                url=f"http://127.0.0.1:{self.port}{path}",
                body=body,
                channel=target.channel,
                message_ts=target.message_ts,
                user_id=target.user_id,
                at=now,
            )
        )
        if target.message_ts is not None and _truthy(body.get("replace_original")):
            self._replace_original(target.channel, target.message_ts, body, now)
        return _text(200, "ok")

    def _replace_original(self, channel: str, ts: str, body: dict[str, Any], now: float) -> None:
        index = next(
            (i for i, m in enumerate(self._messages) if m.channel == channel and m.ts == ts),
            None,
        )
        if index is None:
            return
        message = self._messages[index]
        text, blocks = body.get("text") or None, body.get("blocks") or None
        self._messages[index] = replace(
            message,
            text=text,
            blocks=blocks,
            edits=(
                *message.edits,
                MessageVersion(text, blocks, message.metadata, now, self._next_ts()),
            ),
        )

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _next_ts(self) -> str:
        """A ts for a new message or edit: the clock's epoch time, bumped to stay unique.

        Slack's ts are wall-clock times, and clients filter history by them.
        """
        micros = max(int(self._clock() * 1_000_000), self._last_ts_micros + _TS_STEP_MICROS)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


# -- Socket Mode payloads ----------------------------------------------------


def _block_actions_payload(
    *,
    message: PostedMessage | None,
    action_id: str,
    value: str | None,
    block_id: str | None,
    channel_id: str,
    message_ts: str,
    user_id: str,
    user_name: str,
    response_url: str,
    action_ts: str,
) -> dict[str, Any]:
    """The ``payload`` of an interactive envelope for one button click, as Slack sends it."""
    found = _find_element(message.blocks if message else None, action_id)
    element: dict[str, Any] = found[1] if found else {}
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or (found[0] if found else "actions"),
        "text": element.get("text") or {"type": "plain_text", "text": "Button", "emoji": True},
        "type": element.get("type", "button"),
        "action_ts": action_ts,
    }
    chosen = value if value is not None else element.get("value")
    if chosen is not None:
        action["value"] = chosen
    if "style" in element:
        action["style"] = element["style"]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if message is not None and message.is_reply:
        container["thread_ts"] = message.thread_ts
    message_json: dict[str, Any] = {"type": "message", "ts": message_ts, "text": ""}
    if message is not None:
        message_json = _interaction_message_json(message)
    return {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_name,
            "name": user_name,
            "team_id": AUTH_TEST_RESULT["team_id"],
        },
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": _trigger_id(),
        "team": {"id": AUTH_TEST_RESULT["team_id"], "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": _channel_name(channel_id)},
        "message": message_json,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def _interaction_message_json(message: PostedMessage) -> dict[str, Any]:
    """The message as an interaction payload carries it (no thread summary, no metadata)."""
    body: dict[str, Any] = {
        "type": "message",
        "user": AUTH_TEST_RESULT["user_id"],
        "bot_id": AUTH_TEST_RESULT["bot_id"],
        "app_id": APP_ID,
        "team": AUTH_TEST_RESULT["team_id"],
        "text": message.text or "",
        "ts": message.ts,
    }
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.is_reply:
        body["thread_ts"] = message.thread_ts
    if message.edits:
        body["edited"] = {"user": AUTH_TEST_RESULT["user_id"], "ts": message.edits[-1].edit_ts}
    return body


def _find_element(
    blocks: list[dict[str, Any]] | None, action_id: str
) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, element) of the interactive element ``action_id`` in ``blocks``."""
    for index, block in enumerate(blocks or []):
        if block.get("type") == "actions":
            elements = block.get("elements") or []
        else:
            accessory = block.get("accessory")
            elements = [accessory] if isinstance(accessory, dict) else []
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                # Slack fills in a random block_id where the app gave none.
                return str(block.get("block_id") or f"blk{index}"), element
    return None


def _channel_name(channel_id: str) -> str:
    """A channel's name for payloads: ``#claims`` -> ``claims``; an id stands for itself."""
    return channel_id[1:] if channel_id.startswith("#") else channel_id


def _trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(16)}"


# -- parsing ----------------------------------------------------------------


def _parse_params(content_type: str, query: str, raw: bytes) -> tuple[dict[str, Any], str | None]:
    """Merge query string and body into one dict; name the Slack error if malformed."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";", 1)[0].strip().lower()
    if raw:
        if kind == "application/json":
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return params, "invalid_json"
            if not isinstance(body, dict):
                return params, "invalid_json"
            params.update(body)
        elif kind == "application/x-www-form-urlencoded":
            try:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                return params, "invalid_form_data"
        else:
            return params, "invalid_form_data"
    # Form posts carry blocks and metadata as JSON strings.
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        try:
            params["blocks"] = json.loads(blocks) if blocks else None
        except json.JSONDecodeError:
            return params, "invalid_blocks_format"
    metadata = params.get("metadata")
    if isinstance(metadata, str):
        try:
            params["metadata"] = json.loads(metadata) if metadata else None
        except json.JSONDecodeError:
            return params, "invalid_metadata_format"
    return params, None


def _webhook_body(content_type: str, raw: bytes) -> dict[str, Any] | None:
    """A webhook's JSON payload (or form ``payload=<json>``), None if it is not one."""
    try:
        text = raw.decode("utf-8")
        if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
            text = dict(parse_qsl(text)).get("payload", "")
        body = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _truthy(value: Any) -> bool:
    """Slack's reading of a boolean argument, which may arrive as a form string."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _ts_value(value: Any, default: Decimal) -> Decimal:
    """A Slack timestamp argument as an exact number; ValueError if it is not one."""
    if value is None or value == "":
        return default
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(value) from error
    if not number.is_finite():
        raise ValueError(value)
    return number


def _make_cursor(ts: str) -> str:
    """Slack's cursors are base64 of ``next_ts:<ts>``; opaque to clients."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode("ascii")


def _cursor_ts(cursor: str) -> Decimal | None:
    try:
        decoded = base64.b64decode(cursor.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError):
        return None
    prefix, _, ts = decoded.partition(":")
    if prefix != "next_ts":
        return None
    try:
        return _ts_value(ts, Decimal(0)) if ts else None
    except ValueError:
        return None


# -- validation -------------------------------------------------------------


def check_message(text: Any, blocks: Any) -> str | None:
    """Slack's error code for a message's ``text`` and ``blocks``, or None if acceptable.

    The same check the stand-in applies to ``chat.postMessage``; tests can call
    it directly on rendered output.
    """
    return _check_params({"text": text, "blocks": blocks})


def _check_metadata(value: Any) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """Read message metadata: (metadata to store, error, warning).

    Not an object -> ``invalid_metadata_format``; missing ``event_type`` or a
    non-object ``event_payload`` -> ``invalid_metadata_schema``. An
    ``event_type`` with punctuation other than ``_`` and ``-`` is, as Slack
    documents, dropped with an ``invalid_metadata_schema`` warning.
    """
    if value is None or value == "":
        return None, None, None
    if not isinstance(value, dict):
        return None, "invalid_metadata_format", None
    event_type, payload = value.get("event_type"), value.get("event_payload", {})
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        return None, "invalid_metadata_schema", None
    if not _EVENT_TYPE.match(event_type):
        return None, None, "invalid_metadata_schema"
    return {"event_type": event_type, "event_payload": payload}, None, None


def _check_params(params: dict[str, Any]) -> str | None:
    text, blocks = params.get("text"), params.get("blocks")
    if text is not None and not isinstance(text, str):
        return "invalid_arguments"
    if blocks is not None:
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        problem = _check_blocks(blocks)
        if problem:
            return problem
    if not (text and text.strip()) and not blocks:
        return "no_text"
    if text and len(text) > MESSAGE_TEXT_MAX:
        return "msg_too_long"
    return None


def _check_blocks(blocks: list[Any]) -> str | None:
    if len(blocks) > BLOCKS_MAX:
        return "invalid_blocks"
    for block in blocks:
        if not _block_ok(block):
            return "invalid_blocks"
    return None


def _block_ok(block: Any) -> bool:
    if not isinstance(block, dict) or block.get("type") not in _KNOWN_BLOCK_TYPES:
        return False
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not 0 < len(block_id) <= BLOCK_ID_MAX:
            return False
    kind = block["type"]
    if kind == "header":
        text = block.get("text")
        return _keys_ok(block, {"text"}) and _text_ok(text, HEADER_TEXT_MAX, "plain_text")
    if kind == "section":
        return _section_ok(block)
    if kind == "context":
        return _context_ok(block)
    if kind == "divider":
        return _keys_ok(block, set())
    if kind == "image":
        return (
            _keys_ok(block, {"image_url", "alt_text", "title", "slack_file"})
            and isinstance(block.get("alt_text"), str)
            and bool(block.get("image_url") or block.get("slack_file"))
        )
    return True  # other block types: accepted without deeper checks


def _section_ok(block: dict[str, Any]) -> bool:
    if not _keys_ok(block, {"text", "fields", "accessory", "expand"}):
        return False
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        return False
    if text is not None and not _text_ok(text, TEXT_OBJECT_MAX):
        return False
    if fields is not None:
        if not isinstance(fields, list) or not 0 < len(fields) <= FIELDS_MAX:
            return False
        if not all(_text_ok(field, FIELD_TEXT_MAX) for field in fields):
            return False
    return True


def _context_ok(block: dict[str, Any]) -> bool:
    elements = block.get("elements")
    if not _keys_ok(block, {"elements"}) or not isinstance(elements, list):
        return False
    if not 0 < len(elements) <= CONTEXT_ELEMENTS_MAX:
        return False
    for element in elements:
        if isinstance(element, dict) and element.get("type") == "image":
            if not isinstance(element.get("alt_text"), str):
                return False
        elif not _text_ok(element, CONTEXT_TEXT_MAX):
            return False
    return True


def _keys_ok(block: dict[str, Any], allowed: set[str]) -> bool:
    return set(block) <= allowed | {"type", "block_id"}


def _text_ok(obj: Any, max_len: int, *kinds: str) -> bool:
    kinds = kinds or ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return False
    text = obj.get("text")
    if not isinstance(text, str) or not 0 < len(text) <= max_len:
        return False
    extra = set(obj) - {"type", "text"}
    allowed_extra = {"emoji"} if obj["type"] == "plain_text" else {"verbatim"}
    if not extra <= allowed_extra:
        return False
    return all(isinstance(obj[key], bool) for key in extra)


# -- answers ----------------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    data = json.dumps(body).encode("utf-8")
    return _Reply(status, data, "application/json; charset=utf-8", headers or {})


def _error(code: str) -> _Reply:
    """A Web API error: HTTP 200 with ``ok: false``, as Slack answers them."""
    return _json({"ok": False, "error": code})


def _ratelimited(retry_after: int) -> _Reply:
    return _json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)})


def _with_warning(body: dict[str, Any], warning: str | None) -> dict[str, Any]:
    if warning:
        body["warning"] = warning
        body["response_metadata"] = {"warnings": [warning]}
    return body


def _hook_error(problem: str) -> str:
    """The word hooks.slack.com answers for a message the Web API would refuse as ``problem``."""
    if "blocks" in problem:
        return "invalid_blocks"
    return "invalid_payload" if problem == "invalid_arguments" else problem


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> _Reply:
    """A hooks.slack.com answer: a bare word such as ``ok`` or ``no_service``."""
    return _Reply(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers or {})


def _html(status: int) -> _Reply:
    reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
    data = _ERROR_PAGE.format(status=status, reason=reason).encode("utf-8")
    return _Reply(status, data, "text/html; charset=utf-8", {})


def _send(request: _Handler, reply: _Reply) -> None:
    request.send_response(reply.status)
    request.send_header("Content-Type", reply.content_type)
    request.send_header("Content-Length", str(len(reply.body)))
    for name, value in reply.headers.items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(reply.body)
