"""The Socket Mode stand-in talks to slack-sdk's builtin SocketModeClient the way Slack does."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.slack_server import APP_ID, SlackStandIn, SocketAckTimeout

Listener = Callable[[BaseSocketModeClient, SocketModeRequest], None]
MessageListener = Callable[[BaseSocketModeClient, dict[str, Any], str | None], None]
StartClient = Callable[..., SocketModeClient]

CHANNEL = "C0123456789"
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Claim spotted*"}},
    {
        "type": "actions",
        "block_id": "triage",
        "elements": [
            {
                "type": "button",
                "action_id": "confirm",
                "value": "claim-1",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Confirm"},
            },
            {
                "type": "button",
                "action_id": "dismiss",
                "value": "claim-1",
                "text": {"type": "plain_text", "text": "Dismiss"},
            },
        ],
    },
]


def web_client(slack: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.base_url, timeout=5, retry_handlers=[])


def ack(client: BaseSocketModeClient, request: SocketModeRequest, payload: Any = None) -> None:
    client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))


def acking(received: list[SocketModeRequest]) -> Listener:
    """A listener that keeps every request in ``received`` and acks it."""

    def listener(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        ack(client, request)

    return listener


def close_client(client: SocketModeClient, slack: SlackStandIn) -> None:
    """Close a builtin SocketModeClient without its multi-second waits.

    close() waits for the session thread, which sits in a blocking read (3 s
    timeout) holding the socket's receive lock, and for the message thread's
    1 s queue poll. Dropping the socket from the server side and waking the
    queue ends both at once.
    """
    client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
    client.closed = True
    client.message_queue.put(None)
    slack.socket_mode.close_connections()
    client.close()


@pytest.fixture
def socket_client(slack: SlackStandIn) -> Iterator[StartClient]:
    """Connect real SocketModeClients to the stand-in; each closed after the test.

    ``start(listener, ping_interval=..., on_message=...)``: ``on_message`` sees
    every message, the hello included.
    """
    clients: list[SocketModeClient] = []

    def start(
        listener: Listener,
        *,
        ping_interval: float = 5.0,
        on_message: MessageListener | None = None,
    ) -> SocketModeClient:
        client = SocketModeClient(
            app_token="xapp-test",
            web_client=WebClient(base_url=slack.base_url),
            ping_interval=ping_interval,
        )
        client.socket_mode_request_listeners.append(listener)
        if on_message is not None:
            client.message_listeners.append(on_message)
        clients.append(client)
        client.connect()
        slack.wait_for_socket_client(timeout=2)
        return client

    yield start
    for client in clients:
        close_client(client, slack)


def wait_until(condition: Callable[[], object], timeout: float = 1.5) -> None:
    """Poll ``condition`` (the client works in its own threads) until true or timeout."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def post_alert(slack: SlackStandIn) -> str:
    return str(
        web_client(slack).chat_postMessage(channel=CHANNEL, text="alert", blocks=BUTTONS)["ts"]
    )


# -- connecting ------------------------------------------------------------------


def test_apps_connections_open_wants_an_app_level_token(slack: SlackStandIn) -> None:
    def open_with(token: str | None) -> str:
        client = WebClient(token=token, base_url=slack.base_url, retry_handlers=[])
        try:
            return str(client.api_call("apps.connections.open")["url"])
        except SlackApiError as error:
            return str(error.response["error"])

    assert open_with("xoxb-test") == "not_allowed_token_type"
    assert open_with("xapp-unknown") == "invalid_auth"
    assert open_with(None) == "not_authed"
    url = WebClient(base_url=slack.base_url).apps_connections_open(app_token="xapp-test")["url"]
    pattern = (
        rf"ws://127\.0\.0\.1:{slack.socket_mode.port}/link/\?ticket=[0-9a-f-]{{36}}&app_id={APP_ID}"
    )
    assert re.fullmatch(pattern, url)


def test_a_bot_token_cannot_open_a_socket(slack: SlackStandIn) -> None:
    client = SocketModeClient(app_token="xoxb-test", web_client=WebClient(base_url=slack.base_url))
    try:
        with pytest.raises(SlackApiError) as caught:
            client.connect()
        assert caught.value.response["error"] == "not_allowed_token_type"
    finally:
        close_client(client, slack)


def test_client_is_greeted_and_its_pings_answered(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    messages: list[dict[str, Any]] = []
    client = socket_client(lambda c, r: None, on_message=lambda c, m, raw: messages.append(m))

    wait_until(lambda: messages)
    [hello] = messages
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": APP_ID}
    session = client.current_session
    assert session is not None
    wait_until(lambda: session.last_ping_pong_time is not None)  # its first ping got a pong
    assert [c.method for c in slack.calls] == ["apps.connections.open"]
    assert slack.socket_mode.connections_opened == slack.socket_mode.open_connections == 1


def test_hello_is_what_slack_sends(slack: SlackStandIn) -> None:
    url = WebClient(base_url=slack.base_url).apps_connections_open(app_token="xapp-test")["url"]
    with connect(url, open_timeout=2) as socket:
        hello = json.loads(socket.recv(timeout=2))

    assert hello == {
        "type": "hello",
        "num_connections": 1,
        "debug_info": {
            "host": "applink-test",
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": APP_ID},
    }


def test_tickets_are_single_use_and_refused_during_an_outage(slack: SlackStandIn) -> None:
    web = WebClient(base_url=slack.base_url, retry_handlers=[])
    url = web.apps_connections_open(app_token="xapp-test")["url"]
    with connect(url, open_timeout=2):
        pass
    with pytest.raises(InvalidStatus) as reused:
        connect(url, open_timeout=2)
    assert reused.value.response.status_code == 401

    fresh = web.apps_connections_open(app_token="xapp-test")["url"]
    slack.set_outage(True)
    with pytest.raises(InvalidStatus) as down:
        connect(fresh, open_timeout=2)
    assert down.value.response.status_code == 503
    assert slack.socket_mode.rejected_handshakes == 2


# -- interactions ----------------------------------------------------------------


def test_block_action_reaches_the_client_like_slacks(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    ts = post_alert(slack)
    received: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        ack(client, request)

    socket_client(on_request)
    answer = slack.send_block_action(action_id="confirm", channel_id=CHANNEL, message_ts=ts)

    assert answer.payload is None and answer.in_time and answer.seconds < 1
    [request] = received
    assert (request.type, request.accepts_response_payload) == ("interactive", False)
    assert request.envelope_id == answer.envelope_id
    payload = request.payload
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": "U0USER0001",
        "username": "analyst",
        "name": "analyst",
        "team_id": "T0TEST0001",
    }
    assert payload["api_app_id"] == APP_ID
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": CHANNEL,
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == CHANNEL and payload["team"]["id"] == "T0TEST0001"
    assert (payload["message"]["ts"], payload["message"]["blocks"]) == (ts, BUTTONS)
    assert payload["trigger_id"] and payload["token"]
    assert payload["response_url"].startswith(f"http://127.0.0.1:{slack.port}/actions/")
    [action] = payload["actions"]
    assert action["action_id"] == "confirm"
    assert (action["block_id"], action["value"], action["type"]) == ("triage", "claim-1", "button")
    assert action["text"]["text"] == "Confirm" and action["style"] == "primary"
    assert float(action["action_ts"]) > 0


def test_explicit_values_override_the_button_and_unknown_messages_still_send(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    received: list[SocketModeRequest] = []
    socket_client(acking(received))

    slack.send_block_action(
        action_id="confirm", value="claim-9", block_id="b9", channel_id=CHANNEL, message_ts="1.0"
    )

    [request] = received
    payload = request.payload
    assert payload["message"] == {"type": "message", "ts": "1.0", "text": ""}
    assert payload["actions"][0]["value"] == "claim-9"
    assert payload["actions"][0]["block_id"] == "b9"


def test_handler_can_edit_the_message_and_post_to_its_thread(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    ts = post_alert(slack)
    web = web_client(slack)

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        ack(client, request)  # ack first, then do the slow work, as Slack advises
        container = request.payload["container"]
        channel, message_ts = container["channel_id"], container["message_ts"]
        web.chat_update(channel=channel, ts=message_ts, text="confirmed", blocks=[])
        web.chat_postMessage(channel=channel, thread_ts=message_ts, text="confirmed by analyst")

    socket_client(on_request)
    slack.send_block_action(action_id="confirm", channel_id=CHANNEL, message_ts=ts)

    wait_until(lambda: len(slack.messages) == 2 and slack.messages[0].edited)
    parent, reply = slack.messages
    assert [edit.text for edit in parent.edits] == ["confirmed"]
    assert reply.thread_ts == ts


def test_response_url_replaces_the_original(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    ts = post_alert(slack)
    answers: list[tuple[int, str]] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        ack(client, request)
        sent = WebhookClient(request.payload["response_url"]).send(
            text="Dismissed", replace_original=True
        )
        answers.append((sent.status_code, sent.body))

    socket_client(on_request)
    slack.send_block_action(action_id="dismiss", channel_id=CHANNEL, message_ts=ts)

    wait_until(lambda: answers)
    assert answers == [(200, "ok")]
    [response] = slack.responses
    assert (response.kind, response.channel, response.message_ts) == ("actions", CHANNEL, ts)
    assert response.body["replace_original"] is True
    [message] = slack.messages
    assert (message.text, message.blocks, len(message.edits)) == ("Dismissed", None, 1)


def test_response_url_refuses_unknown_and_overused_urls(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    received: list[SocketModeRequest] = []
    socket_client(acking(received))
    slack.send_slash_command(text="help")

    hook = WebhookClient(received[0].payload["response_url"])
    assert [hook.send(text=f"{n}").status_code for n in range(5)] == [200] * 5
    used = hook.send(text="sixth")
    assert (used.status_code, used.body) == (404, '{"ok": false, "error": "used_url"}')
    expired = WebhookClient(f"http://127.0.0.1:{slack.port}/commands/T0TEST0001/1/nope")
    assert expired.send(text="x").status_code == 404
    assert len(slack.responses) == 5


def test_slash_command_ack_carries_the_answer(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    received: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        text = request.payload["text"]
        ack(client, request, {"response_type": "ephemeral", "text": f"claims about {text}"})

    socket_client(on_request)
    answer = slack.send_slash_command(text="s-300", user_id="U0USER0002", user_name="editor")

    assert answer.payload == {"response_type": "ephemeral", "text": "claims about s-300"}
    [request] = received
    assert (request.type, request.accepts_response_payload) == ("slash_commands", True)
    payload = request.payload
    assert {key: payload[key] for key in ("command", "text", "user_id", "user_name")} == {
        "command": "/claimbot",
        "text": "s-300",
        "user_id": "U0USER0002",
        "user_name": "editor",
    }
    assert (payload["channel_id"], payload["team_id"], payload["api_app_id"]) == (
        CHANNEL,
        "T0TEST0001",
        APP_ID,
    )
    assert payload["is_enterprise_install"] == "false"  # a string, as Slack sends it
    assert payload["response_url"].startswith(f"http://127.0.0.1:{slack.port}/commands/")
    assert set(payload) >= {"token", "team_domain", "channel_name", "trigger_id"}


def test_a_plain_string_ack_payload_arrives_as_text(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    socket_client(lambda c, r: ack(c, r, "got it"))

    assert slack.send_slash_command(text="x").payload == {"text": "got it"}


# -- timeouts --------------------------------------------------------------------


def test_no_client_means_no_ack(slack: SlackStandIn) -> None:
    started = time.monotonic()
    with pytest.raises(SocketAckTimeout) as caught:
        slack.send_slash_command(text="x", timeout=0.1)

    assert caught.value.connected is False
    assert time.monotonic() - started < 1
    with pytest.raises(TimeoutError):
        slack.wait_for_socket_client(timeout=0.05)


def test_a_late_ack_times_out_and_is_kept_as_stray(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    acked = threading.Event()

    def slow(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        time.sleep(0.3)
        ack(client, request)
        acked.set()

    socket_client(slow)
    with pytest.raises(SocketAckTimeout) as caught:
        slack.send_slash_command(text="x", timeout=0.1)

    assert caught.value.connected is True
    assert acked.wait(2)
    wait_until(lambda: slack.socket_mode.stray_acks)
    assert [a["envelope_id"] for a in slack.socket_mode.stray_acks] == [caught.value.envelope_id]
    assert slack.socket_mode.acks == []


# -- reconnecting ----------------------------------------------------------------


def test_disconnect_makes_the_client_reconnect(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    socket_client(lambda c, r: ack(c, r, {"text": "pong"}))

    assert slack.send_disconnect(close_old=True) == 1
    slack.wait_for_socket_client(timeout=2)

    assert slack.send_slash_command(text="x", timeout=2).payload == {"text": "pong"}
    assert slack.socket_mode.connections_opened == 2
    assert slack.socket_mode.tickets_issued == 2  # a fresh apps.connections.open each time
    assert [c.method for c in slack.calls] == ["apps.connections.open"] * 2


def test_dropped_connection_is_reopened_by_the_client(
    slack: SlackStandIn, socket_client: StartClient
) -> None:
    # The builtin client reopens a dropped link from its monitor, every ping_interval.
    socket_client(lambda c, r: ack(c, r, {"text": "pong"}), ping_interval=0.2)

    assert slack.socket_mode.close_connections() == 1
    slack.wait_for_socket_client(timeout=2)

    assert slack.send_slash_command(text="x", timeout=2).payload == {"text": "pong"}
    assert slack.socket_mode.connections_opened == 2


def test_stop_closes_sockets_and_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    slack = SlackStandIn().start()
    url = WebClient(base_url=slack.base_url).apps_connections_open(app_token="xapp-test")["url"]
    with connect(url, open_timeout=2) as socket:
        socket.recv(timeout=2)  # hello
        started = time.monotonic()
        slack.stop()
        slack.stop()  # idempotent

        assert time.monotonic() - started < 1.5
        assert socket.protocol.close_code == 1001  # going away
    started_here = set(threading.enumerate()) - before
    for thread in started_here:  # an HTTP request thread may still be tidying up
        thread.join(timeout=1)
    assert [thread for thread in started_here if thread.is_alive()] == []
