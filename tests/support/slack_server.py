"""A local stand-in for Slack's Web API, for tests and demos.

The real ``slack_sdk.WebClient`` talks to it over HTTP on 127.0.0.1, so the
whole client stack (request building, retry handlers, error parsing) runs for
real. It answers the way Slack does: HTTP 200 with ``{"ok": false, "error": ...}``
for API errors, 429 with ``Retry-After`` for rate limits, and an HTML page for
gateway failures.

    with SlackStandIn() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="#claims", text="hi")
        assert slack.messages[0].text == "hi"

Only ``auth.test``, ``chat.postMessage`` and ``chat.update`` are implemented;
the block validation covers the block types claimbot sends (header, section,
context, divider, image) and the limits Slack documents for them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKENS = frozenset({"xoxb-test"})
DEFAULT_CHANNELS = frozenset({"#claims", "#alerts", "C0123456789"})

BLOCKS_MAX = 50
HEADER_TEXT_MAX = 150
TEXT_OBJECT_MAX = 3000  # section text and any text object
CONTEXT_TEXT_MAX = 2000  # stricter than the generic text-object limit, as claimbot assumes
CONTEXT_ELEMENTS_MAX = 10
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
BLOCK_ID_MAX = 255
MESSAGE_TEXT_MAX = 40_000

AUTH_TEST_RESULT: dict[str, Any] = {
    "url": "https://claimbot-test.slack.com/",
    "team": "Claimbot Test",
    "user": "claimbot",
    "team_id": "T0TEST0001",
    "user_id": "U0BOT00001",
    "bot_id": "B0BOT00001",
    "is_enterprise_install": False,
}

_TS_BASE_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100

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
class PostedMessage:
    """One message the stand-in accepted (and its latest edit)."""

    channel: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str
    thread_ts: str | None
    token: str


class Call(NamedTuple):
    """One HTTP request the stand-in answered."""

    method: str
    http_status: int
    at: float  # time.monotonic() when the answer was decided


@dataclass(frozen=True)
class _Fault:
    status: int
    retry_after: int | None
    error: str | None
    stall: float = 0.0  # seconds to wait before answering normally


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
    """A threaded HTTP server on 127.0.0.1 that answers like Slack's Web API.

    All public methods are thread-safe; tests may inject faults while a client
    is mid-request.
    """

    def __init__(
        self,
        *,
        tokens: frozenset[str] | set[str] = DEFAULT_TOKENS,
        channels: frozenset[str] | set[str] = DEFAULT_CHANNELS,
    ) -> None:
        self._tokens = frozenset(tokens)
        self._channels = set(channels)
        self._lock = threading.Lock()
        self._messages: list[PostedMessage] = []
        self._calls: list[Call] = []
        self._faults: deque[_Fault] = deque()
        self._channel_errors: dict[str, str] = {}
        self._outage = False
        self._seq = 0
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Bind a free port and serve in a daemon thread."""
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
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._stopping.set()  # wake stalled requests
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

    # -- scenario control ----------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next ``n`` API calls fail.

        429 answers ``Retry-After: retry_after`` and ``{"ok": false, "error":
        "ratelimited"}``; 5xx answers an HTML error page; 200 answers
        ``{"ok": false, "error": error}`` (for errors like ``internal_error``).
        """
        if status == 200 and not error:
            raise ValueError("fail_next(status=200) needs error=...")
        fault = _Fault(status=status, retry_after=retry_after, error=error)
        with self._lock:
            self._faults.extend([fault] * n)

    def stall_next(self, n: int = 1, *, seconds: float) -> None:
        """Make the next ``n`` API calls wait ``seconds`` before answering (timeouts).

        The call is then handled normally, so a post is recorded even when the
        client gave up waiting, as it would be on Slack's side.
        """
        fault = _Fault(status=200, retry_after=None, error=None, stall=seconds)
        with self._lock:
            self._faults.extend([fault] * n)

    def set_outage(self, on: bool) -> None:
        """While on, every call gets HTTP 503 with an HTML page."""
        with self._lock:
            self._outage = on

    def set_channel_error(self, channel: str, error: str | None) -> None:
        """Make posts to ``channel`` answer ``error`` (None clears it)."""
        with self._lock:
            if error is None:
                self._channel_errors.pop(channel, None)
            else:
                self._channel_errors[channel] = error

    def add_channel(self, channel: str) -> None:
        with self._lock:
            self._channels.add(channel)

    def reset(self) -> None:
        """Forget messages, calls, faults, outage and channel errors.

        Timestamps keep increasing across resets so they stay unique.
        """
        with self._lock:
            self._messages.clear()
            self._calls.clear()
            self._faults.clear()
            self._channel_errors.clear()
            self._outage = False

    # -- inspection ----------------------------------------------------------

    @property
    def messages(self) -> list[PostedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    # -- request handling (runs in server threads) ---------------------------

    def _handle(self, request: _Handler) -> None:
        url = urlsplit(request.path)
        if not url.path.startswith("/api/"):
            _send_html(request, 404)
            return
        method = url.path[len("/api/") :]
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""

        with self._lock:
            fault: _Fault | None = None
            if self._outage:
                fault = _Fault(status=503, retry_after=None, error=None)
            elif self._faults:
                fault = self._faults.popleft()
        if fault is not None and fault.stall:
            self._stopping.wait(fault.stall)
            fault = None
        with self._lock:
            if fault is None:
                payload = self._answer(method, request, url.query, raw)
                status = 200
            else:
                payload = None
                status = fault.status
            self._calls.append(Call(method, status, time.monotonic()))

        if fault is None:
            assert payload is not None
            _send_json(request, 200, payload)
        elif fault.status == 429:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            body = {"ok": False, "error": fault.error or "ratelimited"}
            _send_json(request, 429, body, headers)
        elif fault.status == 200:
            _send_json(request, 200, {"ok": False, "error": fault.error})
        else:
            _send_html(request, fault.status)

    def _answer(self, method: str, request: _Handler, query: str, raw: bytes) -> dict[str, Any]:
        """Decide the JSON answer to one API call; caller holds the lock."""
        params, problem = _parse_params(request.headers.get("Content-Type", ""), query, raw)
        token = _bearer_token(request.headers.get("Authorization")) or params.get("token")
        if method not in ("auth.test", "chat.postMessage", "chat.update"):
            return _error("unknown_method")
        if not token:
            return _error("not_authed")
        if token not in self._tokens:
            return _error("invalid_auth")
        if problem:
            return _error(problem)
        if method == "auth.test":
            return {"ok": True, **AUTH_TEST_RESULT}
        if method == "chat.postMessage":
            return self._post_message(params, token)
        return self._update_message(params)

    def _check_channel(self, channel: Any) -> str | None:
        if not isinstance(channel, str) or not channel:
            return "channel_not_found"
        if channel in self._channel_errors:
            return self._channel_errors[channel]
        if channel not in self._channels:
            return "channel_not_found"
        return None

    def _post_message(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        channel = params.get("channel")
        problem = self._check_channel(channel) or _check_params(params)
        if problem:
            return _error(problem)
        assert isinstance(channel, str)
        ts = self._next_ts()
        thread_ts = params.get("thread_ts")
        message = PostedMessage(
            channel=channel,
            text=params.get("text") or None,
            blocks=params.get("blocks") or None,
            ts=ts,
            thread_ts=str(thread_ts) if thread_ts else None,
            token=token,
        )
        self._messages.append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": _message_json(message)}

    def _update_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        problem = self._check_channel(channel)
        if problem:
            return _error(problem)
        index = next(
            (i for i, m in enumerate(self._messages) if m.channel == channel and m.ts == ts),
            None,
        )
        if index is None:
            return _error("message_not_found")
        message = self._messages[index]
        problem = _check_params(params)
        if problem:
            return _error(problem)
        updated = replace(
            message,
            text=params.get("text") or None,
            blocks=params.get("blocks") if "blocks" in params else message.blocks,
        )
        self._messages[index] = updated
        return {
            "ok": True,
            "channel": updated.channel,
            "ts": updated.ts,
            "text": updated.text or "",
            "message": _message_json(updated),
        }

    def _next_ts(self) -> str:
        self._seq += 1
        micros = self._seq * _TS_STEP_MICROS
        return f"{_TS_BASE_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"


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
    blocks = params.get("blocks")
    if isinstance(blocks, str):
        # Form posts carry blocks as a JSON string.
        try:
            params["blocks"] = json.loads(blocks) if blocks else None
        except json.JSONDecodeError:
            return params, "invalid_blocks_format"
    return params, None


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# -- validation -------------------------------------------------------------


def check_message(text: Any, blocks: Any) -> str | None:
    """Slack's error code for a message's ``text`` and ``blocks``, or None if acceptable.

    The same check the stand-in applies to ``chat.postMessage``; tests can call
    it directly on rendered output.
    """
    return _check_params({"text": text, "blocks": blocks})


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


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _message_json(message: PostedMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "user": AUTH_TEST_RESULT["user_id"],
        "bot_id": AUTH_TEST_RESULT["bot_id"],
        "text": message.text or "",
        "ts": message.ts,
    }
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    return body


def _send_json(
    request: _Handler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode("utf-8")
    request.send_response(status)
    request.send_header("Content-Type", "application/json; charset=utf-8")
    request.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)


def _send_html(request: _Handler, status: int) -> None:
    reason = request.responses.get(status, ("Error",))[0]
    data = _ERROR_PAGE.format(status=status, reason=reason).encode("utf-8")
    request.send_response(status)
    request.send_header("Content-Type", "text/html; charset=utf-8")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
