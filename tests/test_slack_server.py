"""The Slack stand-in answers the real slack-sdk client the way Slack does."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

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


# -- threads and metadata ------------------------------------------------------

METADATA = {"event_type": "claim_alert", "event_payload": {"claim_id": "c-1", "score": 0.9}}


def test_thread_reply_needs_a_top_level_parent_in_the_same_channel(slack: SlackStandIn) -> None:
    client = client_for(slack)
    parent = client.chat_postMessage(channel="#claims", text="parent")["ts"]
    reply = client.chat_postMessage(channel="#claims", text="reply", thread_ts=parent)

    assert reply["message"]["thread_ts"] == parent
    assert slack.messages[1].is_reply and not slack.messages[0].is_reply
    for channel, thread_ts in [
        ("#claims", "1.000001"),  # no such message
        ("#claims", reply["ts"]),  # a reply, not a thread's parent
        ("#alerts", parent),  # the parent lives in another channel
    ]:
        post = lambda: client.chat_postMessage(channel=channel, text="x", thread_ts=thread_ts)  # noqa: B023, E731
        assert slack_error(post) == (200, {"ok": False, "error": "thread_not_found"})
    assert len(slack.messages) == 2


def test_metadata_is_stored_and_returned(slack: SlackStandIn) -> None:
    answer = client_for(slack).chat_postMessage(channel="#claims", text="t", metadata=METADATA)

    assert answer["message"]["metadata"] == METADATA
    assert slack.messages[0].metadata == METADATA


def test_form_encoded_metadata_arrives_as_a_json_string(slack: SlackStandIn) -> None:
    params = {"channel": "#claims", "text": "t", "metadata": json.dumps(METADATA)}
    client_for(slack).api_call("chat.postMessage", params=params)

    assert slack.messages[0].metadata == METADATA


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("{not json", "invalid_metadata_format"),
        ("[1, 2]", "invalid_metadata_format"),
        (json.dumps({"event_payload": {}}), "invalid_metadata_schema"),
        (
            json.dumps({"event_type": "x", "event_payload": "not an object"}),
            "invalid_metadata_schema",
        ),
    ],
)
def test_malformed_metadata_is_refused(slack: SlackStandIn, metadata: str, error: str) -> None:
    params = {"channel": "#claims", "text": "t", "metadata": metadata}
    post = lambda: client_for(slack).api_call("chat.postMessage", params=params)  # noqa: E731

    assert slack_error(post)[1]["error"] == error
    assert slack.messages == []


def test_metadata_with_a_bad_event_type_is_dropped_with_a_warning(slack: SlackStandIn) -> None:
    metadata = {"event_type": "claim.alert", "event_payload": {}}
    answer = client_for(slack).chat_postMessage(channel="#claims", text="t", metadata=metadata)

    assert answer["warning"] == "invalid_metadata_schema"
    assert "metadata" not in answer["message"]
    assert slack.messages[0].metadata is None


# -- chat.update -----------------------------------------------------------------


def test_chat_update_keeps_every_version(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="#claims", text="v0", metadata=METADATA)["ts"]
    assert not slack.messages[0].edited

    client.chat_update(channel="#claims", ts=ts, text="v1", blocks=[section("v1")])
    answer = client.chat_update(channel="#claims", ts=ts, text="v2")

    [message] = slack.messages
    assert [(v.text, v.blocks) for v in message.edits] == [
        ("v1", [section("v1")]),
        ("v2", [section("v1")]),  # blocks left out: kept, as on Slack
    ]
    assert message.edits[0].at <= message.edits[1].at
    assert (message.text, message.metadata) == ("v2", METADATA)  # metadata left out: kept
    assert answer["text"] == "v2" and "edited" in answer["message"]

    client.chat_update(channel="#claims", ts=ts, text="v3", metadata={})
    assert slack.messages[0].metadata is None  # an empty object removes it


def test_chat_update_of_another_apps_message_is_refused(slack: SlackStandIn) -> None:
    stand_in = SlackStandIn(tokens={"xoxb-test", "xoxb-other"}).start()
    try:
        ts = client_for(stand_in).chat_postMessage(channel="#claims", text="mine")["ts"]
        other = client_for(stand_in, token="xoxb-other")
        edit = lambda: other.chat_update(channel="#claims", ts=ts, text="theirs")  # noqa: E731

        assert slack_error(edit)[1]["error"] == "cant_update_message"
        assert stand_in.messages[0].text == "mine"
    finally:
        stand_in.stop()


def test_chat_update_in_another_channel_finds_no_message(slack: SlackStandIn) -> None:
    client = client_for(slack)
    ts = client.chat_postMessage(channel="#claims", text="x")["ts"]
    edit = lambda: client.chat_update(channel="#alerts", ts=ts, text="y")  # noqa: E731

    assert slack_error(edit)[1]["error"] == "message_not_found"


def test_app_level_token_cannot_post(slack: SlackStandIn) -> None:
    post = lambda: client_for(slack, "xapp-test").chat_postMessage(channel="#claims", text="x")  # noqa: E731

    assert slack_error(post)[1]["error"] == "not_allowed_token_type"


# -- per-channel write budget ----------------------------------------------------


def rate_limited_answer(call: Any) -> tuple[int, str, dict[str, Any]]:
    with pytest.raises(SlackApiError) as caught:
        call()
    response = caught.value.response
    return response.status_code, response.headers.get("Retry-After", ""), response.data


def test_channel_budget_answers_429_once_the_burst_is_spent() -> None:
    with SlackStandIn(channel_rate=2.0, channel_burst=2) as slack:
        client = client_for(slack)
        first = client.chat_postMessage(channel="#claims", text="1")["ts"]
        client.chat_update(channel="#claims", ts=first, text="1 edited")  # updates count too
        over = lambda: client.chat_postMessage(channel="#claims", text="2")  # noqa: E731

        status, retry_after, body = rate_limited_answer(over)
        assert (status, body) == (429, {"ok": False, "error": "ratelimited"})
        assert retry_after == "1"  # whole seconds, at least one
        assert slack.rate_limited == 1
        client.chat_postMessage(channel="#alerts", text="other channel")  # its own bucket

        assert len(slack.write_times("#claims")) == 2
        assert slack.write_times("#alerts") != [] and slack.write_times("#nowhere") == []
        assert [c.http_status for c in slack.calls] == [200, 200, 429, 200]


def test_channel_budget_refills_at_the_rate() -> None:
    with SlackStandIn(channel_rate=20.0) as slack:
        client = client_for(slack)
        for n in range(3):
            while True:
                try:
                    client.chat_postMessage(channel="#claims", text=str(n))
                    break
                except SlackApiError as error:
                    assert error.response.status_code == 429
                    time.sleep(0.01)

        times = slack.write_times("#claims")
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert len(times) == 3 and all(gap >= 0.05 - 1e-3 for gap in gaps)
        assert slack.rate_limited > 0


def test_no_budget_by_default(slack: SlackStandIn) -> None:
    client = client_for(slack)
    for n in range(10):
        client.chat_postMessage(channel="#claims", text=str(n))

    assert slack.rate_limited == 0
    assert len(slack.write_times("#claims")) == 10


def test_budget_options_are_checked() -> None:
    with pytest.raises(ValueError):
        SlackStandIn(channel_rate=0)
    with pytest.raises(ValueError):
        SlackStandIn(channel_rate=1, channel_burst=0)


# -- conversations.history -------------------------------------------------------


def post_thread(slack: SlackStandIn, n: int) -> list[str]:
    """Post ``n`` top-level messages to #claims (the first with one reply); their ts."""
    client = client_for(slack)
    stamps = [
        client.chat_postMessage(channel="#claims", text=f"m{i}", metadata=METADATA)["ts"]
        for i in range(n)
    ]
    client.chat_postMessage(channel="#claims", text="reply", thread_ts=stamps[0])
    client.chat_postMessage(channel="#alerts", text="elsewhere")
    return stamps


def test_history_is_newest_first_top_level_only(slack: SlackStandIn) -> None:
    stamps = post_thread(slack, 3)
    answer = client_for(slack).conversations_history(channel="#claims")

    assert [m["ts"] for m in answer["messages"]] == stamps[::-1]
    assert answer["has_more"] is False
    assert answer["response_metadata"]["next_cursor"] == ""
    assert all("metadata" not in m for m in answer["messages"])
    parent = answer["messages"][-1]
    assert (parent["thread_ts"], parent["reply_count"]) == (stamps[0], 1)


def page_data(page: SlackResponse) -> dict[str, Any]:
    assert isinstance(page.data, dict)
    return page.data


def test_history_pages_with_cursors(slack: SlackStandIn) -> None:
    stamps = post_thread(slack, 5)
    # slack-sdk pages by refilling one SlackResponse, so keep each page's data as it comes.
    client = client_for(slack)
    pages = [page_data(page) for page in client.conversations_history(channel="#claims", limit=2)]

    assert [len(page["messages"]) for page in pages] == [2, 2, 1]
    assert [page["has_more"] for page in pages] == [True, True, False]
    seen = [m["ts"] for page in pages for m in page["messages"]]
    assert seen == stamps[::-1]


def test_history_includes_metadata_on_request(slack: SlackStandIn) -> None:
    post_thread(slack, 2)
    answer = client_for(slack).conversations_history(channel="#claims", include_all_metadata=True)

    assert [m["metadata"] for m in answer["messages"]] == [METADATA, METADATA]


def test_history_window_is_exclusive_unless_inclusive(slack: SlackStandIn) -> None:
    stamps = post_thread(slack, 4)
    client = client_for(slack)
    oldest, latest = stamps[0], stamps[3]

    exclusive = client.conversations_history(channel="#claims", oldest=oldest, latest=latest)
    inclusive = client.conversations_history(
        channel="#claims", oldest=oldest, latest=latest, inclusive=True
    )

    assert [m["ts"] for m in exclusive["messages"]] == [stamps[2], stamps[1]]
    assert [m["ts"] for m in inclusive["messages"]] == stamps[::-1]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"channel": "#nowhere"}, "channel_not_found"),
        ({"channel": "#claims", "cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"channel": "#claims", "oldest": "yesterday"}, "invalid_ts_oldest"),
        ({"channel": "#claims", "latest": "soon"}, "invalid_ts_latest"),
        ({"channel": "#claims", "limit": "many"}, "invalid_arguments"),
    ],
)
def test_history_errors(slack: SlackStandIn, params: dict[str, str], error: str) -> None:
    read = lambda: client_for(slack).api_call(  # noqa: E731
        "conversations.history", http_verb="GET", params=params
    )

    assert slack_error(read) == (200, {"ok": False, "error": error})


def test_replies_list_the_parent_then_its_replies(slack: SlackStandIn) -> None:
    stamps = post_thread(slack, 2)
    client = client_for(slack)
    answer = client.conversations_replies(channel="#claims", ts=stamps[0])

    assert [m["text"] for m in answer["messages"]] == ["m0", "reply"]
    missing = lambda: client.conversations_replies(channel="#claims", ts="1.000001")  # noqa: E731
    assert slack_error(missing)[1]["error"] == "thread_not_found"


# -- timed outage ----------------------------------------------------------------


def test_timed_outage_ends_by_itself(slack: SlackStandIn) -> None:
    client = client_for(slack)
    slack.outage(0.3)
    ends = time.monotonic() + 0.3
    assert slack_error(client.auth_test)[0] == 503
    time.sleep(max(0.0, ends - time.monotonic()) + 0.01)
    client.auth_test()

    assert [c.http_status for c in slack.calls] == [503, 200]


# -- incoming webhooks -----------------------------------------------------------


def test_webhook_post_is_recorded(slack: SlackStandIn) -> None:
    blocks = [section("*alert*")]
    answer = WebhookClient(slack.webhook_url).send(text="fallback", blocks=blocks)

    assert (answer.status_code, answer.body) == (200, "ok")
    [message] = slack.webhook_messages
    assert (message.channel, message.text, message.blocks) == ("#claims", "fallback", blocks)
    assert slack.messages == []  # webhook posts are kept apart from Web API posts
    assert slack.calls[-1].method == "incoming-webhook"


def test_added_webhook_posts_to_its_channel(slack: SlackStandIn) -> None:
    url = slack.add_webhook("#alerts")
    assert WebhookClient(url).send(text="x").status_code == 200

    assert slack.webhook_messages[0].channel == "#alerts"


def post_raw(url: str, data: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"text": "t", "blocks": [{"type": "carousel"}]}, (400, "invalid_blocks")),
        ({"text": "t", "blocks": "not a list"}, (400, "invalid_blocks")),
        ({"username": "claimbot"}, (400, "no_text")),
        ({"text": "t" * 40_001}, (400, "msg_too_long")),
    ],
)
def test_webhook_refusals(
    slack: SlackStandIn, body: dict[str, Any], answer: tuple[int, str]
) -> None:
    sent = WebhookClient(slack.webhook_url).send_dict(body)

    assert (sent.status_code, sent.body) == answer
    assert slack.webhook_messages == []


def test_webhook_bad_json_and_unknown_hook(slack: SlackStandIn) -> None:
    assert post_raw(slack.webhook_url, b"{not json") == (400, "invalid_payload")
    unknown = f"http://127.0.0.1:{slack.port}/services/T0TEST0001/B0NOPE/secret"
    answer = WebhookClient(unknown).send(text="x")
    assert (answer.status_code, answer.body) == (404, "no_service")


def test_webhook_channel_problems_and_outage(slack: SlackStandIn) -> None:
    hook = WebhookClient(slack.webhook_url)
    slack.set_channel_error("#claims", "is_archived")
    archived = hook.send(text="x")
    assert (archived.status_code, archived.body) == (410, "channel_is_archived")

    slack.set_channel_error("#claims", None)
    slack.set_outage(True)
    down = hook.send(text="x")
    assert down.status_code == 503 and down.body.startswith("<!DOCTYPE html>")

    slack.set_outage(False)
    assert hook.send(text="x").status_code == 200
    assert len(slack.webhook_messages) == 1


def test_webhook_shares_the_channel_budget() -> None:
    with SlackStandIn(channel_rate=1.0) as slack:
        hook = WebhookClient(slack.webhook_url)
        assert hook.send(text="1").status_code == 200
        over = hook.send(text="2")

        assert (over.status_code, over.body) == (429, "rate_limited")
        assert over.headers["Retry-After"] == "1"
        over_api = lambda: client_for(slack).chat_postMessage(channel="#claims", text="3")  # noqa: E731
        assert rate_limited_answer(over_api)[0] == 429
        assert slack.rate_limited == 2


def test_timestamps_follow_the_clock_like_slacks(slack: SlackStandIn) -> None:
    before = time.time()
    ts = client_for(slack).chat_postMessage(channel="#claims", text="x")["ts"]
    assert before <= float(ts) <= time.time() + 1e-3  # wall-clock, so oldest=... filters work

    pinned = SlackStandIn(clock=lambda: 1_767_614_400.0).start()
    try:
        client = client_for(pinned)
        stamps = [client.chat_postMessage(channel="#claims", text="x")["ts"] for _ in range(2)]
        assert stamps == ["1767614400.000000", "1767614400.000100"]  # unique under a frozen clock
    finally:
        pinned.stop()


def test_stalled_post_is_stored_before_or_after_the_wait(slack: SlackStandIn) -> None:
    slow = WebClient(token="xoxb-test", base_url=slack.base_url, timeout=0.1, retry_handlers=[])
    for handle_first, stored_while_waiting in [(False, 0), (True, 1)]:
        slack.reset()
        slack.stall_next(1, seconds=0.4, handle_first=handle_first)
        with pytest.raises(TimeoutError):  # urllib's socket timeout
            slow.chat_postMessage(channel="#claims", text="x")
        assert len(slack.messages) == stored_while_waiting
        deadline = time.monotonic() + 2
        while not slack.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(slack.messages) == 1  # on Slack's side the post went through either way


def test_a_stall_for_one_method_lets_other_calls_pass(slack: SlackStandIn) -> None:
    client = client_for(slack)
    slack.stall_next(1, seconds=0.3, method="chat.postMessage")
    started = time.monotonic()
    client.conversations_history(channel="#claims")  # not the stalled method: at once
    assert time.monotonic() - started < 0.3
    client.chat_postMessage(channel="#claims", text="x")
    assert time.monotonic() - started >= 0.3  # the post met the stall
    slack.stall_next(1, seconds=5, method="chat.postMessage")
    slack.clear_faults()  # a stall never met is dropped
    started = time.monotonic()
    client.chat_postMessage(channel="#claims", text="y")
    assert time.monotonic() - started < 5


def test_write_delay_holds_writes_before_and_after_handling(slack: SlackStandIn) -> None:
    slack.set_write_delay(before=0.3, after=0.3)
    client = client_for(slack)
    seen: list[tuple[int, int]] = []
    poster = threading.Thread(target=lambda: client.chat_postMessage(channel="#claims", text="x"))
    poster.start()
    deadline = time.monotonic() + 5
    while poster.is_alive() and time.monotonic() < deadline:
        seen.append((slack.writes_in_flight, len(slack.messages)))
        time.sleep(0.02)
    poster.join()
    assert (1, 0) in seen and (1, 1) in seen  # under way, then stored but not yet answered
    assert slack.writes_in_flight == 0 and len(slack.messages) == 1
    client.conversations_history(channel="#claims")  # reads are not delayed
    assert slack.writes_in_flight == 0
    with pytest.raises(ValueError):
        slack.set_write_delay(before=-1)
