"""A feed's alerts reach Slack as soon as its poll is stored, while the pass goes on.

An analyst must not wait for the slowest of thousands of feeds: the Runner drains
the outbox when a poll queues alerts (``Pipeline.on_alerts`` -> ``bot.drain_soon``).
"""

from __future__ import annotations

import threading
from pathlib import Path

from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Settings
from bot.scheduler import Runner
from bot.store import Store
from tests.support.builders import Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_run import wait_for

ALERTING = "Venezuela says Russian S-300 batteries failed during US raid"


def test_an_alert_is_posted_while_a_slow_feed_holds_the_pass(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", [Entry("w1", ALERTING)]))
        # Answers after 3 s: the pass waits for it.
        feeds.add("/slow.xml", rss("Slow", [Entry("s1", "Weather")]), delay=3)
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(
                tmp_path, {"Wire": feeds.url("/wire.xml"), "Slow": feeds.url("/slow.xml")}
            ),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            semantic="off",
        )
        store = Store(settings.database_url)
        runner = Runner(settings, store, SlackSink(SlackSender(
            "xoxb-test", base_url=slack.base_url, backoff=0.01)))
        poll = threading.Thread(target=runner.poll_tick)
        poll.start()
        try:
            wait_for(lambda: len(slack.messages) == 1)
            assert poll.is_alive(), "the pass was over: the alert waited for it"
            assert ALERTING in slack.messages[0].text
        finally:
            poll.join(timeout=30)
            runner.drain_soon.join(10)
            store.close()
    assert not poll.is_alive()
    assert len(slack.messages) == 1  # posted once: the end-of-pass drain found nothing left
