"""Delivery scenarios end to end: real feeds over HTTP, a SQLite file, the real slack-sdk
clients against the Slack stand-in. One story, one alert; Slack's pace; outages and crashes
that lose nothing and post nothing twice."""

from __future__ import annotations

import io
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.alerts.render import RenderedAlert
from bot.alerts.sinks import SlackSink, TerminalSink, WebhookSink
from bot.alerts.slack import SlackSender
from bot.config import Feed, Settings, load_claims
from bot.pipeline import DeliverySummary, Pipeline, PollSummary, Watchlist
from bot.store import Store
from tests.support.builders import Entry, FakeClock, rss, write_claims
from tests.support.feed_server import FeedServer
from tests.support.slack_server import PostedMessage, SlackStandIn

CLAIMS = """\
claims:
  - id: air-defence-failure
    title: Russian air defences failed in Venezuela
    statement: Russian-supplied S-300 and Buk-M2 air defences failed to protect Venezuela.
    query: (S-300 OR Buk-M2 OR "air defen*") AND (Venezuel* OR Caracas) AND (fail* OR falla*)
"""

# A second claim routed to its own channel, for the tests about channels not waiting on each other.
TWO_CHANNEL_CLAIMS = (
    CLAIMS
    + """\
  - id: cuban-agents-killed
    title: Cuban agents killed in US operation
    statement: Havana announced 32 Cuban agents were killed in the US operation.
    query: Cuba* AND agents AND killed
    channel: "#alerts"
"""
)

STORY_TITLE = "Russian-made S-300 air defences failed to stop US strikes on Caracas"
STORY_SUMMARY = (
    "Venezuelan officers say the S-300 batteries supplied by Moscow never engaged the aircraft "
    "that struck military sites around Caracas on Saturday, raising questions in the armed "
    "forces about the value of years of Russian arms purchases."
)
OTHER_STORY = Entry(
    "other",
    "Buk-M2 launchers failed inspection at Venezuelan base, audit finds",
    "An internal audit of the air force found that most Buk-M2 launchers at the La Carlota base "
    "had failed maintenance checks for two years, according to documents seen by reporters.",
)
OUTLETS = ["Wire", "Globe", "Herald", "Courier", "Post", "Tribune", "Monitor", "Daily"]


def story_copies(count: int) -> list[tuple[str, Entry]]:
    """``count`` copies of one wire story as outlets republish it: suffixes, datelines,
    cut summaries; spread over the outlets round-robin."""
    variants = [
        (STORY_TITLE, STORY_SUMMARY),
        (f"{STORY_TITLE} - {{outlet}}", STORY_SUMMARY),
        (STORY_TITLE, f"CARACAS (Reuters) - {STORY_SUMMARY}"),
        (f"{STORY_TITLE} | {{outlet}}", STORY_SUMMARY.rsplit(",", 1)[0] + "."),
        (STORY_TITLE.upper(), STORY_SUMMARY),
    ]
    copies = []
    for n in range(count):
        outlet = OUTLETS[n % len(OUTLETS)]
        title, summary = variants[n % len(variants)]
        copies.append(
            (outlet, Entry(f"copy-{n}", title.format(outlet=outlet), summary.format(outlet=outlet)))
        )
    return copies


class Bot:
    """A pipeline on real parts that can be 'restarted' (new store, new pipeline)."""

    def __init__(
        self,
        tmp_path: Path,
        slack: SlackStandIn,
        feeds: list[Feed],
        *,
        clock: FakeClock | None = None,
        **settings: Any,
    ) -> None:
        self.slack = slack
        self.clock = clock or FakeClock()
        self.feeds = feeds
        # Pacing has its own tests; elsewhere it would only make the tests slow.
        settings.setdefault("slack_rate", 1000.0)
        settings.setdefault("slack_burst", 100)
        settings.setdefault("database_url", f"sqlite:///{tmp_path / 'claimbot.db'}")
        self.settings = Settings(
            claims_file=write_claims(tmp_path, settings.pop("claims", CLAIMS)),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            slack_channel="#claims",
            **settings,
        )
        self.sink = SlackSink(
            SlackSender(
                "xoxb-test", base_url=slack.base_url, max_retries=2, backoff=0.01, timeout=2.0
            )
        )
        self.store = Store(self.settings.database_url)
        self.pipeline = self._pipeline()

    def _pipeline(self) -> Pipeline:
        claims = load_claims(self.settings.claims_file)
        return Pipeline(self.settings, self.store, Watchlist.build(claims.claims), clock=self.clock)

    def restart(self) -> None:
        self.store.close()
        self.store = Store(self.settings.database_url)
        self.pipeline = self._pipeline()

    def poll(self) -> PollSummary:
        return self.pipeline.poll(self.feeds)

    def deliver(self) -> DeliverySummary:
        return self.pipeline.deliver(self.sink, limit=1000)

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[SlackStandIn]:
    """The stand-in on the bot's clock: message ts, which lookups bound by time, follow it."""
    with SlackStandIn(clock=lambda: clock.now.timestamp()) as stand_in:
        yield stand_in


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server



def alert_ids(messages: list[PostedMessage]) -> list[int]:
    """The outbox id each Slack message carries in its metadata, in posting order."""
    return [int((m.metadata or {})["event_payload"]["alert_id"]) for m in messages]


def feed_list(server: FeedServer, paths: dict[str, str]) -> list[Feed]:
    return [Feed(url=server.url(path), name=name) for name, path in paths.items()]


# -- one story, one alert -----------------------------------------------------------


def test_twenty_copies_on_eight_feeds_make_one_alert_with_a_thread(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    database_url: str,
    clock: FakeClock,
) -> None:
    by_outlet: dict[str, list[Entry]] = {name: [] for name in OUTLETS}
    for outlet, entry in story_copies(20):
        by_outlet[outlet].append(entry)
    by_outlet["Wire"].append(OTHER_STORY)  # a different story about the same claim
    for name, entries in by_outlet.items():
        feeds.add(f"/{name}.xml", rss(name, entries))
    bot = Bot(
        tmp_path,
        slack,
        clock=clock,
        feeds=feed_list(feeds, {n: f"/{n}.xml" for n in OUTLETS}),
        database_url=database_url,
    )
    try:
        summary = bot.poll()
        assert summary.total("new_matches") == 21
        delivered = bot.deliver()
        # All copies came in one poll: the alert went out already saying "+19 outlets", so
        # the queued edit would change nothing and is not sent.
        assert (delivered.sent, delivered.replies, delivered.updates) == (2, 19, 0)
        assert not any(call.method == "chat.update" for call in slack.calls)

        top = [m for m in slack.messages if not m.is_reply]
        assert len(top) == 2  # the story and the other story, nothing else
        story = next(m for m in top if "S-300" in (m.text or ""))
        replies = [m for m in slack.messages if m.thread_ts == story.ts]
        assert len(replies) == 19
        assert all("Also reported by" in (r.text or "") for r in replies)
        assert "+19 outlets" in repr(story.blocks)  # the count, shown on the alert itself
        stories = bot.store.stories()
        assert sorted(s.copies for s in stories) == [1, 20]
        assert set(next(s for s in stories if s.copies == 20).outlets) == set(OUTLETS)

        # A later copy, polled after the alert went out: one more reply and an edit.
        feeds.set(
            "/Globe.xml",
            rss(
                "Globe",
                [*by_outlet["Globe"], Entry("late", f"{STORY_TITLE} - Globe", STORY_SUMMARY)],
            ),
        )
        bot.clock.advance(hours=2)
        bot.poll()
        bot.deliver()
        story = next(m for m in slack.messages if m.ts == story.ts)
        assert len([m for m in slack.messages if m.thread_ts == story.ts]) == 20
        assert story.edited and "+20 outlets" in repr(story.blocks)
        assert len([m for m in slack.messages if not m.is_reply]) == 2
    finally:
        bot.close()


def test_a_new_alert_goes_out_ahead_of_an_earlier_storys_replies(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, clock: FakeClock
) -> None:
    """Slack takes about a write a second per channel: nineteen replies of a copied story
    must not stand between the analyst and a new alert queued after them."""
    by_outlet: dict[str, list[Entry]] = {name: [] for name in OUTLETS}
    for outlet, entry in story_copies(20):
        by_outlet[outlet].append(entry)
    for name, entries in by_outlet.items():
        feeds.add(f"/{name}.xml", rss(name, entries))
    bot = Bot(tmp_path, slack, clock=clock,
              feeds=feed_list(feeds, {n: f"/{n}.xml" for n in OUTLETS}))
    try:
        bot.poll()  # the story, and its 19 copies' replies, queued
        feeds.set("/Wire.xml", rss("Wire", [*by_outlet["Wire"], OTHER_STORY]))
        clock.advance(minutes=10)
        bot.poll()  # then a new story about the same claim, in the same channel
        bot.deliver()

        kinds = ["reply" if m.is_reply else "alert" for m in slack.messages]
        assert kinds == ["alert", "alert"] + ["reply"] * 19
        assert "S-300" in (slack.messages[0].text or "")
        assert "Buk-M2" in (slack.messages[1].text or "")
        assert all(m.thread_ts == slack.messages[0].ts for m in slack.messages[2:])
    finally:
        bot.close()


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_new_alerts_get_the_channels_burst_and_cut_short_a_drain_pacing_replies(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """At Slack's pace (here one write per 4 s, a burst of 3), replies of an earlier story
    wait for the whole burst to be back, and a drain pacing them ends as soon as new
    alerts are queued: the two new alerts go at once, before any reply."""
    rate, burst = 0.25, 3
    copies = story_copies(3)  # one story on three outlets: an alert and two replies
    with SlackStandIn(channel_rate=rate, channel_burst=burst) as slack:
        for outlet, entry in copies:
            feeds.add(f"/{outlet}.xml", rss(outlet, [entry]))
        bot = Bot(tmp_path, slack, feeds=feed_list(feeds, {o: f"/{o}.xml" for o, _ in copies}),
                  slack_rate=rate, slack_burst=burst)
        draining: list[threading.Thread] = []
        try:
            bot.poll()
            # The story's alert, a reply per copy and an edit of its "+N outlets" per copy.
            assert bot.store.alert_counts() == {"pending": 5}
            draining.append(threading.Thread(target=bot.deliver))
            draining[0].start()
            _eventually(lambda: len(slack.messages) == 1)  # the story; its replies wait
            feeds.set("/Wire.xml", rss("Wire", [copies[0][1], *distinct_stories(2)]))
            bot.clock.advance(minutes=10)
            bot.poll()  # two new stories for the same channel
            draining[0].join(timeout=5)
            assert not draining[0].is_alive()  # it stopped pacing the replies

            draining.append(threading.Thread(target=bot.deliver))
            draining[1].start()
            _eventually(lambda: len(slack.messages) == 3)
            assert [m.is_reply for m in slack.messages] == [False, False, False]
            assert "S-300 failed in Venezuela" in (slack.messages[2].text or "")
            assert slack.rate_limited == 0
        finally:
            bot.pipeline.stopping.set()  # the second drain is pacing the replies now
            for thread in draining:
                thread.join(timeout=10)
            bot.close()


def test_a_drain_paces_replies_for_one_delivery_interval_at_most(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """A drain holds its channels' leases, so it does not wait out a reply's pace beyond
    one delivery interval: here the next reply would be 4 s away, the interval is 1 s, and
    the replies are left for the next drain (where another worker's new alert for the
    channel would go first)."""
    rate, burst = 0.25, 1
    copies = story_copies(3)
    with SlackStandIn(channel_rate=rate, channel_burst=burst) as slack:
        for outlet, entry in copies:
            feeds.add(f"/{outlet}.xml", rss(outlet, [entry]))
        bot = Bot(tmp_path, slack, feeds=feed_list(feeds, {o: f"/{o}.xml" for o, _ in copies}),
                  slack_rate=rate, slack_burst=burst, delivery_interval=1.0)
        try:
            bot.poll()
            delivered = bot.deliver()
            assert (delivered.sent, delivered.replies) == (1, 0)
            assert [m.is_reply for m in slack.messages] == [False]
            assert bot.store.alert_counts() == {"sent": 1, "pending": 4}
        finally:
            bot.close()


def test_a_copy_after_the_window_is_a_new_story(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", [Entry("a", STORY_TITLE, STORY_SUMMARY)]))
    bot = Bot(
        tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}), story_window=24
    )
    try:
        bot.poll()
        bot.deliver()
        bot.clock.advance(hours=25)
        feeds.set(
            "/wire.xml",
            rss(
                "Wire",
                [Entry("a", STORY_TITLE, STORY_SUMMARY), Entry("b", STORY_TITLE, STORY_SUMMARY)],
            ),
        )
        bot.poll()
        bot.deliver()
        assert [m.is_reply for m in slack.messages] == [False, False]
    finally:
        bot.close()


# -- Slack's pace ---------------------------------------------------------------------

WORDS = (
    "army border budget cabinet coast court crisis defence deal delta desert drone "
    "election embassy energy envoy export fleet frontier garrison grain harbour inquiry "
    "island jungle leader market militia minister mountain navy oil parliament patrol "
    "pipeline police port protest radar rebel refinery reserve river senate shipment "
    "summit tanker treaty tribunal valley village"
).split()


def distinct_stories(count: int, seed: int = 7) -> list[Entry]:
    """Items that all match the claim but are different stories (no shared wording beyond
    the claim's)."""
    rng = random.Random(seed)
    entries = []
    for n in range(count):
        words = " ".join(rng.sample(WORDS, 10))
        more = " ".join(rng.sample(WORDS, 25))
        entries.append(
            Entry(f"s{n}", f"S-300 failed in Venezuela: {words} {n}", f"{more} {n} Caracas")
        )
    return entries


def test_a_hundred_alerts_to_one_channel_arrive_in_order_at_slacks_pace(
    tmp_path: Path, feeds: FeedServer
) -> None:
    rate, burst = 25.0, 3
    # Slack sees arrival times, not the bot's send times: a loaded machine can delay two
    # requests and deliver them together. JITTER writes of slack for that, no more.
    jitter = 3
    with SlackStandIn(channel_rate=rate, channel_burst=burst + jitter) as slack:
        feeds.add("/wire.xml", rss("Wire", distinct_stories(100)))
        bot = Bot(
            tmp_path,
            slack,
            feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
            slack_rate=rate,
            slack_burst=burst,
        )
        try:
            assert bot.poll().total("new_alerts") == 100
            delivered = bot.deliver()
            assert delivered.sent == 100
            ids = alert_ids(slack.messages)
            assert len(ids) == 100 and ids == sorted(ids)  # in order, none lost
            assert slack.rate_limited == 0  # never over Slack's budget
            times = slack.write_times("#claims")
            # In any window of T seconds at most rate*T + burst writes (with the jitter
            # allowance for the two clocks).
            for i in range(len(times)):
                for j in range(i + 1, len(times)):
                    window = times[j] - times[i]
                    assert j - i + 1 <= rate * window + burst + jitter
            assert bot.store.alert_counts() == {"sent": 100}
        finally:
            bot.close()


def test_a_channel_over_budget_is_retried_after_retry_after_and_stays_in_order(
    tmp_path: Path, feeds: FeedServer
) -> None:
    # The bot thinks it may go faster than Slack allows: Slack's 429s slow it down.
    with SlackStandIn(channel_rate=5.0, channel_burst=1) as slack:
        feeds.add("/wire.xml", rss("Wire", distinct_stories(6)))
        bot = Bot(
            tmp_path,
            slack,
            feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
            slack_rate=100.0,
            slack_burst=10,
        )
        try:
            bot.poll()
            for _ in range(20):
                bot.deliver()
                if bot.store.alert_counts() == {"sent": 6}:
                    break
                bot.clock.advance(minutes=1)
            assert bot.store.alert_counts() == {"sent": 6}
            ids = alert_ids(slack.messages)
            assert ids == sorted(ids) and len(set(ids)) == 6
        finally:
            bot.close()


# -- outages and crashes ------------------------------------------------------------------


def test_slack_down_two_minutes_mid_run_delivers_everything_once(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    database_url: str,
    clock: FakeClock,
) -> None:
    stories = distinct_stories(30)
    feeds.add("/wire.xml", rss("Wire", stories[:10]))
    bot = Bot(
        tmp_path,
        slack,
        clock=clock,
        feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
        database_url=database_url,
    )
    try:
        bot.poll()
        assert bot.deliver().sent == 10
        slack.set_outage(True)
        start = bot.clock.now
        feeds.set("/wire.xml", rss("Wire", stories[:20]))
        while bot.clock.now - start < timedelta(minutes=2):
            bot.clock.advance(seconds=bot.settings.poll_interval / 10)
            bot.poll()  # ingestion goes on while Slack is down
            bot.deliver()
        feeds.set("/wire.xml", rss("Wire", stories))
        bot.poll()
        slack.set_outage(False)
        for _ in range(12):
            bot.clock.advance(minutes=2)
            bot.deliver()
        ids = alert_ids(slack.messages)
        assert Counter(ids).most_common(1)[0][1] == 1  # nothing twice
        assert len(ids) == 30  # nothing lost
        assert ids == sorted(ids)
        assert bot.store.alert_counts() == {"sent": 30}
    finally:
        bot.close()


def test_a_post_whose_answer_was_lost_is_found_not_posted_again(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(3)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    bot.sink = SlackSink(
        SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0, timeout=0.3)
    )
    try:
        bot.poll()
        slack.stall_next(1, seconds=0.8, handle_first=True)  # stored, answered too late
        first = bot.deliver()
        assert first.sent == 0 and first.retried == 1
        bot.clock.advance(minutes=1)
        second = bot.deliver()
        assert second.found == 1 and second.sent == 2
        ids = alert_ids(slack.messages)
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 3
    finally:
        bot.close()


def test_a_lookup_that_fails_waits_instead_of_posting_again(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(1)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    bot.sink = SlackSink(
        SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0, timeout=0.3)
    )
    try:
        bot.poll()
        slack.stall_next(1, seconds=0.8, handle_first=True)  # posted; the answer is lost
        assert bot.deliver().retried == 1
        slack.fail_next(1, status=503)  # ... and Slack fails the lookup too
        bot.clock.advance(minutes=1)
        blind = bot.deliver()
        assert (blind.sent, blind.retried) == (0, 1)  # not posted again on a guess
        bot.clock.advance(minutes=1)
        assert bot.deliver().found == 1
        assert len(slack.messages) == 1 and bot.store.alert_counts() == {"sent": 1}
    finally:
        bot.close()


def test_a_retried_alert_keeps_its_place_in_the_channel(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(5)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    try:
        bot.poll()
        slack.fail_next(1, status=500)
        assert bot.deliver().sent == 0  # the first alert backs off, the others wait behind it
        bot.clock.advance(seconds=1)
        assert bot.deliver().sent == 0  # still backing off: nothing overtakes it
        bot.clock.advance(minutes=1)
        assert bot.deliver().sent == 5
        ids = alert_ids(slack.messages)
        assert ids == sorted(ids) and len(ids) == 5
    finally:
        bot.close()


def test_a_busy_channel_does_not_hold_back_a_quiet_one(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    claims = TWO_CHANNEL_CLAIMS
    feeds.add(
        "/wire.xml",
        rss(
            "Wire",
            [*distinct_stories(12), Entry("cuba", "Havana: 32 Cuban agents killed in US raid")],
        ),
    )
    bot = Bot(
        tmp_path,
        slack,
        clock=clock,
        feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
        claims=claims,
        slack_rate=10.0,
        slack_burst=1,
    )
    try:
        bot.poll()
        assert bot.deliver().sent == 13
        channels = [m.channel for m in slack.messages]
        assert channels.index("#alerts") <= 2  # not behind the eleven other #claims alerts
        ids = alert_ids([m for m in slack.messages if m.channel == "#claims"])
        assert ids == sorted(ids)
    finally:
        bot.close()


def test_after_a_429_the_channel_keeps_slacks_pace(tmp_path: Path, feeds: FeedServer) -> None:
    with SlackStandIn(channel_rate=10.0, channel_burst=2) as slack:
        feeds.add("/wire.xml", rss("Wire", distinct_stories(12)))
        bot = Bot(
            tmp_path,
            slack,
            feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
            slack_rate=10.0,
            slack_burst=2,
        )
        try:
            bot.poll()
            slack.fail_next(1, status=429, retry_after=1)
            delivered = bot.deliver()
            assert (delivered.sent, delivered.rate_limited) == (12, 1)
            assert slack.rate_limited == 0  # no burst right after Slack's wait
            ids = alert_ids(slack.messages)
            assert ids == sorted(ids) and len(ids) == 12
        finally:
            bot.close()


def test_a_revoked_token_during_the_lookup_keeps_the_alert_unconfirmed(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, clock: FakeClock
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(1)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    good = SlackSink(SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0, timeout=0.3))
    revoked = SlackSink(SlackSender("xoxb-revoked", base_url=slack.base_url, max_retries=0))
    try:
        bot.poll()
        slack.stall_next(1, seconds=0.8, handle_first=True)  # posted; the answer is lost
        assert bot.pipeline.deliver(good).retried == 1
        clock.advance(minutes=1)
        paused = bot.pipeline.deliver(revoked)
        assert paused.paused and "invalid_auth" in paused.paused
        clock.advance(minutes=1)
        assert bot.pipeline.deliver(good).found == 1  # still looked up, not posted again
        assert len(slack.messages) == 1
    finally:
        bot.close()


def test_replies_and_edits_of_a_deleted_alert_are_skipped_not_retried(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, clock: FakeClock
) -> None:
    feeds.add("/a.xml", rss("A", [Entry("a", STORY_TITLE, STORY_SUMMARY)]))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"A": "/a.xml", "B": "/b.xml"}))
    try:
        bot.poll()
        bot.deliver()
        assert len(slack.messages) == 1  # the alert; now someone deletes it in Slack
        with bot.store.engine.begin() as connection:
            connection.execute(text("update alerts set slack_ts = '1.000001' where kind = 'alert'"))
        feeds.add(
            "/b.xml",
            rss("B", [Entry("b", f"{STORY_TITLE} - B", STORY_SUMMARY), *distinct_stories(1)]),
        )
        clock.advance(minutes=5)
        bot.poll()
        delivered = bot.deliver()
        assert (delivered.skipped, delivered.sent, delivered.failed) == (2, 1, 0)
        reasons = {a.kind: a.last_error for a in bot.store.alerts(statuses=["skipped"])}
        assert "gone from Slack" in (reasons["reply"] or "")
    finally:
        bot.close()


def test_copies_of_an_alert_printed_in_a_dry_run_are_not_sent_to_slack(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, clock: FakeClock
) -> None:
    feeds.add("/a.xml", rss("A", [Entry("a", STORY_TITLE, STORY_SUMMARY)]))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"A": "/a.xml", "B": "/b.xml"}))
    try:
        bot.poll()
        printed = io.StringIO()
        assert bot.pipeline.deliver(TerminalSink(printed)).sent == 1
        feeds.add("/b.xml", rss("B", [Entry("b", f"{STORY_TITLE} - B", STORY_SUMMARY)]))
        bot.poll()
        delivered = bot.deliver()  # a token was set since: Slack now
        assert (delivered.replies, delivered.skipped) == (0, 2)
        assert slack.messages == [] and not slack.calls
    finally:
        bot.close()


class ExplodingSink(SlackSink):
    """A sink with a bug for one channel's messages."""

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        if channel == "#alerts":
            raise ValueError("could not convert string to float: 'Wed, 21 Oct 2026'")
        return super().post(channel, message, plain, alert_id=alert_id, thread_ts=thread_ts)


def test_a_bug_in_one_row_does_not_stop_the_drain(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, clock: FakeClock
) -> None:
    claims = TWO_CHANNEL_CLAIMS
    feeds.add(
        "/wire.xml",
        rss(
            "Wire",
            [Entry("cuba", "Havana: 32 Cuban agents killed in US raid"), *distinct_stories(2)],
        ),
    )
    bot = Bot(
        tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}), claims=claims
    )
    try:
        bot.poll()
        delivered = bot.pipeline.deliver(ExplodingSink(bot.sink.sender))
        assert (delivered.sent, delivered.retried) == (2, 1)
        assert bot.store.alert_counts() == {"sent": 2, "pending": 1}
        clock.advance(minutes=1)
        assert bot.deliver().found == 0 and len(slack.messages) == 3
    finally:
        bot.close()


class CrashAfterPost(BaseException):
    """Stands for the process dying between Slack's answer and our commit (a BaseException,
    like SystemExit: the drain's guard against bugs must not swallow it)."""


class CrashingSink(SlackSink):
    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        super().post(channel, message, plain, alert_id=alert_id, thread_ts=thread_ts)
        raise CrashAfterPost


def test_a_crash_between_slacks_answer_and_the_commit_posts_nothing_twice(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    database_url: str,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(3)))
    bot = Bot(
        tmp_path,
        slack,
        clock=clock,
        feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
        database_url=database_url,
    )
    try:
        bot.poll()
        with pytest.raises(CrashAfterPost):
            bot.pipeline.deliver(CrashingSink(bot.sink.sender))
        assert len(slack.messages) == 1
        bot.restart()
        delivered = bot.deliver()
        assert (delivered.found, delivered.sent) == (1, 2)
        assert len(slack.messages) == 3
        assert bot.store.alert_counts() == {"sent": 3}
    finally:
        bot.close()


def test_a_failed_alert_can_be_retried_with_its_thread(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    slack.set_channel_error("#claims", "not_in_channel")
    feeds.add("/a.xml", rss("A", [Entry("a", STORY_TITLE, STORY_SUMMARY)]))
    feeds.add("/b.xml", rss("B", [Entry("b", f"{STORY_TITLE} - B", STORY_SUMMARY)]))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"A": "/a.xml", "B": "/b.xml"}))
    try:
        bot.poll()
        delivered = bot.deliver()
        assert delivered.sent == 0 and delivered.failed == 3  # alert, reply, update
        failed = bot.store.alerts(statuses=["failed"])
        alert = next(a for a in failed if a.kind == "alert")
        assert "invite the bot" in (alert.last_error or "")
        assert all(
            f"alerts retry {alert.id}" in (a.last_error or "") for a in failed if a.kind != "alert"
        )

        slack.set_channel_error("#claims", None)
        assert len(bot.store.retry_alerts([alert.id], now=bot.clock.now)) == 3
        bot.deliver()
        assert [m.is_reply for m in slack.messages] == [False, True]
        assert bot.store.alert_counts() == {"sent": 3}
    finally:
        bot.close()


# -- policy: mute, digest, webhook ---------------------------------------------------------


def test_a_muted_claim_stores_matches_but_posts_nothing(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(2)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    try:
        bot.store.mute_claim(
            "air-defence-failure",
            until=bot.clock.now.replace(hour=23),
            by="analyst",
            now=bot.clock.now,
        )
        bot.poll()
        bot.deliver()
        assert slack.messages == []
        assert bot.store.alert_counts() == {"muted": 2}
        assert len(bot.store.recent_matches()) == 2
    finally:
        bot.close()


def test_mute_until_in_claims_yaml_holds_alerts_back(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(1)))
    claims = CLAIMS + "    mute_until: 2026-01-06T00:00:00Z\n"
    bot = Bot(
        tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}), claims=claims
    )
    try:
        bot.poll()
        bot.deliver()
        assert slack.messages == [] and bot.store.alert_counts() == {"muted": 1}
    finally:
        bot.close()


def test_a_digest_claim_posts_one_message_per_period(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    database_url: str,
    clock: FakeClock,
) -> None:
    stories = distinct_stories(5)
    feeds.add("/wire.xml", rss("Wire", stories[:3]))
    claims = CLAIMS + "    mode: digest\n    digest: hourly\n    channel: '#alerts'\n"
    bot = Bot(
        tmp_path,
        slack,
        clock=clock,
        feeds=feed_list(feeds, {"Wire": "/wire.xml"}),
        database_url=database_url,
        claims=claims,
    )
    try:
        bot.clock.now = bot.clock.now.replace(hour=10, minute=20)
        bot.poll()
        bot.deliver()
        assert slack.messages == []  # nothing until the hour
        bot.clock.now = bot.clock.now.replace(hour=10, minute=50)
        feeds.set("/wire.xml", rss("Wire", stories))
        bot.poll()
        bot.clock.now = bot.clock.now.replace(hour=11, minute=0, second=5)
        assert bot.deliver().digests == 1
        (digest,) = slack.messages
        assert digest.channel == "#alerts"
        assert "5 new stories" in (digest.text or "")
        assert all(f"{entry.title[:30]}" in repr(digest.blocks) for entry in stories)
        bot.clock.advance(hours=1)
        assert bot.deliver().digests == 0 and len(slack.messages) == 1
    finally:
        bot.close()


def test_webhook_delivery_posts_alerts_and_skips_what_it_cannot_do(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/a.xml", rss("A", [Entry("a", STORY_TITLE, STORY_SUMMARY)]))
    feeds.add("/b.xml", rss("B", [Entry("b", f"{STORY_TITLE} - B", STORY_SUMMARY)]))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"A": "/a.xml", "B": "/b.xml"}))
    bot.sink = WebhookSink(slack.webhook_url)  # type: ignore[assignment]
    try:
        bot.poll()
        delivered = bot.deliver()
        assert (delivered.sent, delivered.skipped) == (1, 2)  # no thread reply, no edit
        (message,) = slack.webhook_messages
        assert "S-300" in (message.text or "") and "+1 outlet" in repr(message.blocks)
        assert slack.messages == []
    finally:
        bot.close()


def test_webhook_errors_are_told_apart(
    tmp_path: Path,
    feeds: FeedServer,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    feeds.add("/wire.xml", rss("Wire", distinct_stories(2)))
    bot = Bot(tmp_path, slack, clock=clock, feeds=feed_list(feeds, {"Wire": "/wire.xml"}))
    try:
        bot.poll()
        bot.sink = WebhookSink(slack.base_url.replace("/api/", "") + "/services/T0/B0/nope")  # type: ignore[assignment]
        delivered = bot.deliver()
        assert delivered.failed == 2  # a revoked webhook is permanent, for every alert
        (failed, *_) = bot.store.alerts(statuses=["failed"])
        assert "CLAIMBOT_SLACK_WEBHOOK_URL" in (failed.last_error or "")

        bot.store.retry_alerts(None, now=bot.clock.now)
        bot.sink = WebhookSink(slack.webhook_url)  # type: ignore[assignment]
        slack.set_outage(True)
        delivered = bot.deliver()
        assert delivered.retried == 1 and delivered.sent == 0
        slack.set_outage(False)
        bot.clock.advance(minutes=5)
        assert bot.deliver().sent == 2
        assert len(slack.webhook_messages) == 2
    finally:
        bot.close()
