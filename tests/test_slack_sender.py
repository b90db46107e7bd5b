"""SlackSender against the local Slack stand-in: retries, error translation, escaping."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.alerts.render import AlertView, RenderedAlert, render_alert
from bot.alerts.slack import PERMANENT_ERRORS, PROBLEMS, SlackSender, retry_after_seconds
from bot.errors import DeliveryError
from tests.support.slack_server import SlackStandIn, check_message

VIEW = AlertView(
    claim_id="venezuela-air-defence",
    claim_title="Russian air defences failed to protect Venezuela",
    item_title="S-300 batteries silent during strikes",
    item_link="https://news.example/world/s300",
    source="Example News",
    published=datetime(2026, 1, 5, 14, 3, tzinfo=UTC),
    snippet="Witnesses said the S-300 batteries never fired.",
    highlights=((19, 24),),
    matched_terms=("s-300",),
    score=0.87,
)
ALERT = render_alert(VIEW)


def sender_for(slack: SlackStandIn, token: str = "xoxb-test", **options: Any) -> SlackSender:
    """A sender with small retry budgets and waits, so failure tests stay fast."""
    options = {"max_retries": 2, "backoff": 0.01, "timeout": 5.0, **options}
    return SlackSender(token, base_url=slack.base_url, **options)


def delivery_error(call: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        call()
    return caught.value


def statuses(slack: SlackStandIn) -> list[int]:
    return [call.http_status for call in slack.calls]


# -- success ----------------------------------------------------------------


def test_post_is_recorded_with_blocks(slack: SlackStandIn) -> None:
    channel, ts = sender_for(slack).post("#claims", ALERT)

    [message] = slack.messages
    assert (channel, ts) == ("#claims", message.ts)
    assert message.blocks == ALERT.blocks
    assert message.text == ALERT.text


def test_check_auth_describes_the_bot(slack: SlackStandIn) -> None:
    assert sender_for(slack).check_auth() == (
        "bot claimbot (U0BOT00001) in workspace Claimbot Test (T0TEST0001)"
    )


def test_mentions_in_feed_text_reach_slack_escaped(slack: SlackStandIn) -> None:
    alert = render_alert(dataclasses.replace(VIEW, item_title="Breaking <!channel> via <@U123>"))
    sender_for(slack).post("#claims", alert)

    [message] = slack.messages
    assert message.text is not None and message.blocks is not None
    headline = message.blocks[1]["text"]["text"]
    for sent in (message.text, headline):
        assert "&lt;!channel&gt;" in sent and "&lt;@U123&gt;" in sent
        assert "<!channel>" not in sent and "<@U123>" not in sent


def test_maximal_alert_is_accepted(slack: SlackStandIn) -> None:
    unit = "Ru & <!channel> S-300 👍🏽 مرحبا "
    view = dataclasses.replace(
        VIEW,
        claim_title="T&<" * 67,
        item_title="<@U123> " * 25,
        item_link="https://news.example/" + "a" * 1975,
        source="S&" * 100,
        snippet=(unit * 200)[:3000],
        highlights=tuple((i, i + 5) for i in range(5, 2990, 30)),
        matched_terms=tuple(f"term-{n}-" + "&" * 60 for n in range(50)),
    )
    alert = render_alert(view)
    sender_for(slack).post("#claims", alert)

    assert slack.messages[0].blocks == alert.blocks


# -- retries ----------------------------------------------------------------


def test_a_read_waits_for_retry_after_then_succeeds(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=1)
    assert "claimbot" in sender_for(slack).check_auth()

    first, second = slack.calls
    assert (first.http_status, second.http_status) == (429, 200)
    assert second.at - first.at >= 1.0  # Retry-After honoured


def test_a_rate_limited_write_is_left_to_the_callers_pacer(slack: SlackStandIn) -> None:
    # Waiting inside slack-sdk would hide the write from the per-channel pacer, which would
    # then burst right after Slack's wait: the 429 comes back with Retry-After instead.
    slack.fail_next(1, status=429, retry_after=1)
    error = delivery_error(lambda: sender_for(slack).post("#claims", ALERT))
    assert (error.code, error.retry_after, error.unsure) == ("ratelimited", 1.0, False)
    assert statuses(slack) == [429] and slack.messages == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_post_is_not_retried_blind(slack: SlackStandIn, status: int) -> None:
    # Slack may have stored the message before failing: posting again could duplicate it,
    # so the error goes back to the outbox, flagged unsure, to be looked up first.
    slack.fail_next(1, status=status)
    error = delivery_error(lambda: sender_for(slack).post("#claims", ALERT, alert_id=7))

    assert statuses(slack) == [status]
    assert (error.code, error.permanent, error.unsure) == (f"http_{status}", False, True)
    assert slack.messages == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_once_then_updates_once(slack: SlackStandIn, status: int) -> None:
    sender = sender_for(slack)
    channel, ts = sender.post("#claims", ALERT)
    slack.fail_next(1, status=status)
    sender.update(channel, ts, RenderedAlert(text="edited", blocks=ALERT.blocks))

    assert statuses(slack) == [200, status, 200]
    assert slack.messages[0].text == "edited"


def test_outage_longer_than_the_retries_is_transient(slack: SlackStandIn) -> None:
    sender = sender_for(slack, max_retries=2)
    channel, ts = sender.post("#claims", ALERT)
    slack.set_outage(True)
    error = delivery_error(
        lambda: sender.update(channel, ts, RenderedAlert(text="edited", blocks=ALERT.blocks))
    )

    assert not error.permanent
    assert error.code == "http_503"
    assert "will be retried" in error.problem
    assert statuses(slack) == [200, 503, 503, 503]  # the post, then first try and two retries


def test_a_rate_limited_post_is_sure_not_posted(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=60)
    error = delivery_error(lambda: sender_for(slack, max_retry_wait=5.0).post("#claims", ALERT))

    assert (error.code, error.unsure) == ("ratelimited", False)


def test_find_posted_finds_a_post_by_its_alert_id(slack: SlackStandIn) -> None:
    sender = sender_for(slack)
    channel, ts = sender.post("#claims", ALERT, alert_id=41)
    sender.post("#claims", ALERT, alert_id=42)

    assert sender.find_posted(channel, 41, oldest=0.0) == ts
    assert sender.find_posted(channel, 43, oldest=0.0) is None


def test_retries_share_one_budget(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=0)
    slack.fail_next(1, status=500)
    error = delivery_error(lambda: sender_for(slack, max_retries=1).check_auth())

    assert error.code == "http_500"
    assert statuses(slack) == [429, 500]


def test_rate_limit_outlasting_the_retries_carries_retry_after(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=7)
    error = delivery_error(lambda: sender_for(slack, max_retries=0).post("#claims", ALERT))

    assert (error.code, error.permanent, error.retry_after) == ("ratelimited", False, 7.0)
    assert "retried in 7s" in str(error)
    assert slack.messages == []


def test_a_long_retry_after_is_left_to_the_caller(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=60)
    sender = sender_for(slack, max_retries=3, max_retry_wait=5.0)
    started = time.monotonic()
    error = delivery_error(lambda: sender.post("#claims", ALERT))

    assert time.monotonic() - started < 1.0  # did not sleep 60 s in the sender
    assert (error.code, error.retry_after) == ("ratelimited", 60.0)
    assert statuses(slack) == [429]


# -- permanent errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "injected", "code", "hint"),
    [
        (
            "#nowhere",
            None,
            "channel_not_found",
            "channel #nowhere not found: check CLAIMBOT_SLACK_CHANNEL",
        ),
        ("#claims", "not_in_channel", "not_in_channel", "invite the bot to #claims"),
        ("#claims", "is_archived", "is_archived", "#claims is archived"),
        ("#claims", "missing_scope", "missing_scope", "OAuth & Permissions"),
        ("#claims", "restricted_action", "restricted_action", "ask a Slack admin"),
    ],
)
def test_channel_errors_are_permanent_and_say_what_to_do(
    slack: SlackStandIn, channel: str, injected: str | None, code: str, hint: str
) -> None:
    if injected:
        slack.set_channel_error(channel, injected)
    error = delivery_error(lambda: sender_for(slack).post(channel, ALERT))

    assert (error.code, error.permanent, error.retry_after) == (code, True, None)
    assert hint in error.problem
    assert str(error).startswith(f"slack {code}: ")
    assert len(slack.calls) == 1  # never retried


@pytest.mark.parametrize(("token", "code"), [("xoxb-revoked", "invalid_auth"), ("", "not_authed")])
def test_token_errors_are_permanent(slack: SlackStandIn, token: str, code: str) -> None:
    sender = sender_for(slack, token=token)
    for call in (sender.check_auth, lambda: sender.post("#claims", ALERT)):
        error = delivery_error(call)
        assert (error.code, error.permanent) == (code, True)
        assert "SLACK_BOT_TOKEN" in error.problem


def test_invalid_blocks_is_permanent(slack: SlackStandIn) -> None:
    broken = RenderedAlert(text="t", blocks=[{"type": "section"}])
    error = delivery_error(lambda: sender_for(slack).post("#claims", broken))

    assert (error.code, error.permanent) == ("invalid_blocks", True)
    assert "claimbot bug" in error.problem


def test_every_permanent_code_has_a_problem_text() -> None:
    assert PERMANENT_ERRORS <= PROBLEMS.keys()


# -- transient and transport errors -------------------------------------------


def test_unknown_slack_error_is_transient(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=200, error="internal_error")
    error = delivery_error(lambda: sender_for(slack).post("#claims", ALERT))

    assert (error.code, error.permanent) == ("internal_error", False)


def test_unreachable_slack_is_transient() -> None:
    stopped = SlackStandIn().start()
    base_url = stopped.base_url
    stopped.stop()
    sender = SlackSender("xoxb-test", base_url=base_url, max_retries=1, backoff=0.01)
    error = delivery_error(lambda: sender.post("#claims", ALERT))

    assert (error.code, error.permanent) == ("connection_error", False)
    assert base_url in error.problem and "refused" in error.problem.lower()


def test_timeout_is_transient(slack: SlackStandIn) -> None:
    slack.stall_next(1, seconds=3)
    started = time.monotonic()
    error = delivery_error(lambda: sender_for(slack, timeout=0.3).post("#claims", ALERT))

    assert time.monotonic() - started < 2.0
    assert (error.code, error.permanent) == ("timeout", False)
    assert "0.3s" in error.problem


def test_bad_api_url_is_permanent() -> None:
    sender = SlackSender("xoxb-test", base_url="ftp://127.0.0.1/api/")
    error = delivery_error(lambda: sender.post("#claims", ALERT))

    assert (error.code, error.permanent) == ("request_error", True)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": ["2"]}, 2.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),
        ({"Retry-After": "-1"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, Any], seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds


def test_rendered_alert_passes_the_stand_ins_checks() -> None:
    assert check_message(ALERT.text, ALERT.blocks) is None


@pytest.mark.parametrize("code", ["internal_error", "fatal_error"])
def test_slacks_own_maybe_done_errors_are_unsure(slack: SlackStandIn, code: str) -> None:
    # Slack documents that part of the request may have happened: look before posting again.
    slack.fail_next(1, status=200, error=code)
    error = delivery_error(lambda: sender_for(slack).post("#claims", ALERT, alert_id=3))
    assert (error.code, error.permanent, error.unsure) == (code, False, True)


def test_a_deleted_message_is_a_permanent_error(slack: SlackStandIn) -> None:
    error = delivery_error(lambda: sender_for(slack).update("#claims", "1.000001", ALERT))
    assert (error.code, error.permanent) == ("message_not_found", True)
