"""Feedback buttons and ``/claimbot`` over Socket Mode: the real SocketModeClient against the
stand-in's WebSocket server, the real store, the real outbox editing the message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.alerts.interactive import SlackInteractions
from bot.config import Feed
from tests.support.builders import Entry, rss
from tests.support.feed_server import FeedServer
from tests.support.slack_server import PostedMessage, SlackStandIn
from tests.test_delivery import STORY_SUMMARY, STORY_TITLE, Bot, distinct_stories


class Live:
    """A bot with buttons on, and its Socket Mode listener connected to the stand-in."""

    def __init__(self, tmp_path: Path, feeds: FeedServer, slack: SlackStandIn) -> None:
        feeds.add("/wire.xml", rss("Wire", [Entry("a", STORY_TITLE, STORY_SUMMARY),
                                            *distinct_stories(2)]))
        self.bot = Bot(tmp_path, slack, [Feed(url=feeds.url("/wire.xml"), name="Wire")])
        self.bot.sink.interactive = True
        self.slack = slack
        self.changed = threading.Event()

        def deliver_now() -> None:
            self.bot.deliver()
            self.changed.set()

        self.interactions = SlackInteractions(
            app_token="xapp-test",
            bot_token="xoxb-test",
            api_url=slack.base_url,
            store=self.bot.store,
            claims=lambda: self.bot.pipeline.watchlist.claims,
            clock=self.bot.clock,
            on_change=deliver_now,
        )
        self.interactions.start()
        slack.wait_for_socket_client(timeout=5)

    def close(self) -> None:
        self.interactions.stop()
        self.bot.close()

    def message(self, ts: str) -> PostedMessage:
        return next(m for m in self.slack.messages if m.ts == ts)


@pytest.fixture
def live(tmp_path: Path, slack: SlackStandIn) -> Iterator[Live]:
    with FeedServer() as feeds:
        harness = Live(tmp_path, feeds, slack)
        yield harness
        harness.close()


def alert_id_of(message: PostedMessage) -> int:
    return int((message.metadata or {})["event_payload"]["alert_id"])


def test_alerts_carry_the_three_feedback_buttons(live: Live) -> None:
    live.bot.poll()
    live.bot.deliver()
    first = live.slack.messages[0]
    (actions,) = [b for b in first.blocks or [] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "claimbot_relevant", "claimbot_false_positive", "claimbot_mute"
    ]
    assert {e["value"] for e in actions["elements"]} == {str(alert_id_of(first))}


def test_a_button_press_is_stored_and_the_message_updated(live: Live) -> None:
    live.bot.poll()
    live.bot.deliver()
    message = live.slack.messages[0]
    ack = live.slack.send_block_action(
        action_id="claimbot_false_positive", value=str(alert_id_of(message)),
        channel_id=message.channel, message_ts=message.ts, user_id="U0ANALYST1",
    )
    assert ack.in_time
    assert live.changed.wait(5)
    updated = live.message(message.ts)
    assert updated.edited
    blob = repr(updated.blocks)
    assert "marked false positive by <@U0ANALYST1>" in blob
    assert not any(b["type"] == "actions" for b in updated.blocks or [])
    (stats,) = live.bot.store.claim_stats()
    assert (stats.relevant, stats.false_positive) == (0, 1)


def test_mute_button_mutes_the_claim_for_a_day(live: Live) -> None:
    live.bot.poll()
    live.bot.deliver()
    message = live.slack.messages[0]
    live.slack.send_block_action(
        action_id="claimbot_mute", value=str(alert_id_of(message)),
        channel_id=message.channel, message_ts=message.ts,
    )
    assert live.changed.wait(5)
    until = live.bot.store.mutes(live.bot.clock.now)["air-defence-failure"]
    assert until - live.bot.clock.now == timedelta(hours=24)
    assert "claim muted for 24 h" in repr(live.message(message.ts).blocks)


def test_a_press_on_an_unknown_alert_is_acknowledged_and_ignored(live: Live) -> None:
    ack = live.slack.send_block_action(
        action_id="claimbot_relevant", value="999999", channel_id="#claims",
        message_ts="1.000001",
    )
    assert ack.in_time
    time.sleep(0.2)
    assert live.bot.store.claim_stats() == []


def test_slash_recent_is_answered_ephemerally_in_time(live: Live) -> None:
    live.bot.poll()
    live.bot.deliver()
    ack = live.slack.send_slash_command(text="recent air-defence-failure")
    assert ack.in_time
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "S-300" in ack.payload["text"]


def test_slash_search_mute_unmute_and_stats(live: Live) -> None:
    live.bot.poll()
    found = live.slack.send_slash_command(text="search Caracas").payload or {}
    assert "Caracas" in found["text"]

    muted = live.slack.send_slash_command(text="mute air-defence-failure 2h").payload or {}
    assert "Muted `air-defence-failure`" in muted["text"]
    assert "air-defence-failure" in live.bot.store.mutes(live.bot.clock.now)

    unmuted = live.slack.send_slash_command(text="unmute air-defence-failure").payload or {}
    assert "no longer muted" in unmuted["text"]
    assert live.bot.store.mutes(live.bot.clock.now) == {}

    stats = live.slack.send_slash_command(text="stats").payload or {}
    assert "`air-defence-failure`: 3 alerts" in stats["text"]


def test_slash_errors_say_what_to_type(live: Live) -> None:
    unknown = live.slack.send_slash_command(text="mute no-such-claim 2h").payload or {}
    assert "no claim `no-such-claim`" in unknown["text"]
    assert "air-defence-failure" in unknown["text"]
    junk = live.slack.send_slash_command(text="frobnicate <!channel>").payload or {}
    assert "Usage" in junk["text"] and "<!channel>" not in junk["text"]


def test_the_listener_reconnects_when_slack_asks(live: Live) -> None:
    live.slack.send_disconnect("refresh_requested")
    deadline = time.monotonic() + 10
    # Slack sends nothing more down a connection it asked the client to leave: wait until the
    # client has moved to the new one and closed the old.
    while (
        live.slack.socket_mode.connections_opened < 2
        or live.slack.socket_mode.open_connections != 1
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.slack.socket_mode.connections_opened >= 2
    ack = live.slack.send_slash_command(text="help")
    assert ack.in_time and "Usage" in (ack.payload or {})["text"]
