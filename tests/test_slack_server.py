"""The Slack stand-in answers the real slack-sdk client the way Slack does."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.slack_server import SlackStandIn, check_message

DIVIDER = [{"type": "divider"}]


def client_for(slack: SlackStandIn, token: str | None = "xoxb-test") -> WebClient:
    """A real WebClient that does not retry, so every fault is visible."""
    return WebClient(token=token, base_url=slack.base_url, timeout=5, retry_handlers=[])


def slack_error(call: Any) -> tuple[int, dict[str, Any]]:
    """Run ``call``; return the HTTP status and body of the SlackApiError it raises."""
    with pytest.raises(SlackApiError) as caught:
        call()
    response = caught.value.response
    return response.status_code, response.data if isinstance(response.data, dict) else {}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_post_is_recorded_with_blocks(slack: SlackStandIn) -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Hi"}}, section("*x*")]
    answer = client_for(slack).chat_postMessage(channel="#claims", text="fallback", blocks=blocks)

    assert answer["ok"] is True
    assert answer["channel"] == "#claims"
    [message] = slack.messages
    assert message.channel == "#claims"
    assert message.text == "fallback"
    assert message.blocks == blocks
    assert message.ts == answer["ts"]
    assert message.token == "xoxb-test"
    assert answer["message"]["blocks"] == blocks


def test_form_encoded_post_with_blocks_as_json_string(slack: SlackStandIn) -> None:
    params = {"channel": "C0123456789", "text": "t", "blocks": json.dumps(DIVIDER)}
    answer = client_for(slack).api_call("chat.postMessage", params=params)

    assert answer["channel"] == "C0123456789"
    assert slack.messages[0].blocks == DIVIDER


def test_thread_ts_is_recorded(slack: SlackStandIn) -> None:
    client = client_for(slack)
    parent = client.chat_postMessage(channel="#alerts", text="parent")
    client.chat_postMessage(channel="#alerts", text="reply", thread_ts=parent["ts"])

    assert slack.messages[1].thread_ts == parent["ts"]


def test_timestamps_are_unique_and_increasing(slack: SlackStandIn) -> None:
    client = client_for(slack)
    stamps = [client.chat_postMessage(channel="#claims", text=str(i))["ts"] for i in range(5)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_auth_test_and_token_errors(slack: SlackStandIn) -> None:
    assert client_for(slack).auth_test()["team"] == "Claimbot Test"
    assert slack_error(client_for(slack, token=None).auth_test) == (
        200,
        {"ok": False, "error": "not_authed"},
    )
    status, body = slack_error(client_for(slack, token="xoxb-wrong").auth_test)
    assert (status, body["error"]) == (200, "invalid_auth")


def test_unknown_method(slack: SlackStandIn) -> None:
    status, body = slack_error(lambda: client_for(slack).api_call("chat.delete"))
    assert (status, body["error"]) == (200, "unknown_method")


def test_unknown_channel_and_injected_channel_errors(slack: SlackStandIn) -> None:
    client = client_for(slack)
    post = lambda channel: lambda: client.chat_postMessage(channel=channel, text="x")  # noqa: E731

    assert slack_error(post("#nowhere"))[1]["error"] == "channel_not_found"
    slack.set_channel_error("#claims", "not_in_channel")
    assert slack_error(post("#claims"))[1]["error"] == "not_in_channel"
    slack.set_channel_error("#alerts", "is_archived")
    assert slack_error(post("#alerts"))[1]["error"] == "is_archived"
    slack.set_channel_error("#claims", None)
    client.chat_postMessage(channel="#claims", text="x")
    assert [m.channel for m in slack.messages] == ["#claims"]


@pytest.mark.parametrize(
    ("text", "blocks", "error"),
    [
        ("t", DIVIDER * 51, "invalid_blocks"),
        (
            "t",
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "invalid_blocks",
        ),
        ("t", [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "invalid_blocks"),
        ("t", [section("s" * 3001)], "invalid_blocks"),
        ("t", [section("")], "invalid_blocks"),
        ("t", [{"text": {"type": "mrkdwn", "text": "no type"}}], "invalid_blocks"),
        ("t", [{"type": "section"}], "invalid_blocks"),
        ("t", [{"type": "section", "text": "not an object"}], "invalid_blocks"),
        ("t", [{"type": "carousel"}], "invalid_blocks"),
        ("t", [{"type": "context", "elements": []}], "invalid_blocks"),
        (
            "t",
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 2001}]}],
            "invalid_blocks",
        ),
        ("t" * 40_001, None, "msg_too_long"),
        (None, None, "no_text"),
        ("   ", [], "no_text"),
    ],
)
def test_validation_like_slack(
    slack: SlackStandIn, text: str | None, blocks: list[Any] | None, error: str
) -> None:
    body = {"channel": "#claims", "text": text, "blocks": blocks}
    body = {key: value for key, value in body.items() if value is not None}
    status, answer = slack_error(lambda: client_for(slack).api_call("chat.postMessage", json=body))

    assert (status, answer["error"]) == (200, error)
    assert slack.messages == []


def test_limits_are_inclusive() -> None:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]
    blocks += [section("s" * 3000)] * 49
    assert check_message("t" * 40_000, blocks) is None
    assert check_message("t", "not json") == "invalid_blocks_format"


def test_malformed_form_blocks(slack: SlackStandIn) -> None:
    params = {"channel": "#claims", "text": "t", "blocks": "[{not json"}
    status, body = slack_error(
        lambda: client_for(slack).api_call("chat.postMessage", params=params)
    )
    assert body["error"] == "invalid_blocks_format"


def test_chat_update_edits_a_recorded_message(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="#claims", text="old", blocks=DIVIDER)["ts"]
    client.chat_update(channel="#claims", ts=ts, text="new", blocks=[section("new")])

    [message] = slack.messages
    assert (message.text, message.blocks) == ("new", [section("new")])
    missing = lambda: client.chat_update(channel="#claims", ts="1.000001", text="x")  # noqa: E731
    assert slack_error(missing)[1]["error"] == "message_not_found"


def test_rate_limit_fault_answers_429_with_retry_after(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client_for(slack).chat_postMessage(channel="#claims", text="x")

    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert slack.messages == []
    client_for(slack).chat_postMessage(channel="#claims", text="x")  # only the next call failed
    assert [(c.method, c.http_status) for c in slack.calls] == [
        ("chat.postMessage", 429),
        ("chat.postMessage", 200),
    ]


def test_server_error_fault_answers_an_html_page(slack: SlackStandIn) -> None:
    slack.fail_next(2, status=500)
    request = urllib.request.Request(slack.base_url + "auth.test", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    with caught.value as page:
        assert page.code == 500
        assert page.headers.get_content_type() == "text/html"
        assert page.read().startswith(b"<!DOCTYPE html>")

    status, body = slack_error(
        lambda: client_for(slack).chat_postMessage(channel="#claims", text="x")
    )
    assert status == 500
    assert "non-JSON" in body["error"]  # slack-sdk's reading of an HTML page
    assert slack.messages == []


def test_outage_answers_503_until_lifted(slack: SlackStandIn) -> None:
    client = client_for(slack)
    slack.set_outage(True)
    for _ in range(3):
        assert slack_error(client.auth_test)[0] == 503
    slack.set_outage(False)
    client.auth_test()

    assert [c.http_status for c in slack.calls] == [503, 503, 503, 200]


def test_reset_forgets_everything(slack: SlackStandIn) -> None:
    client = client_for(slack)
    first = client.chat_postMessage(channel="#claims", text="x")["ts"]
    slack.fail_next(3)
    slack.set_outage(True)
    slack.set_channel_error("#claims", "is_archived")
    slack.reset()

    assert (slack.messages, slack.calls) == ([], [])
    second = client.chat_postMessage(channel="#claims", text="x")["ts"]
    assert float(second) > float(first)


def test_concurrent_posts_are_all_recorded(slack: SlackStandIn) -> None:
    def post(n: int) -> None:
        client_for(slack).chat_postMessage(channel="#claims", text=f"message {n}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    messages = slack.messages
    assert sorted(m.text or "" for m in messages) == sorted(f"message {n}" for n in range(20))
    assert len({m.ts for m in messages}) == 20


def test_stop_closes_the_socket() -> None:
    stand_in = SlackStandIn().start()
    port = stand_in.port
    stand_in.stop()
    stand_in.stop()  # idempotent

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError):
        _ = stand_in.base_url


def test_base_url_has_the_trailing_slash_slack_sdk_expects(slack: SlackStandIn) -> None:
    assert slack.base_url == f"http://127.0.0.1:{slack.port}/api/"
