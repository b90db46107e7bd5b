"""Several workers on one database: feeds and channels leased, never worked twice at once,
and a dead worker's share taken over when its lease runs out (both backends)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Feed, Settings, load_claims
from bot.pipeline import Pipeline, Watchlist
from bot.store import Store
from bot.workers import is_gone, worker_id
from tests.support.builders import Entry, FakeClock, rss, write_claims
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn

OTHER = "other-host:4242:abcdef"  # a live worker on another machine, as far as we can tell
MATCHING = "Venezuela says Russian S-300 batteries failed during US raid"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def make_pipeline(
    store: Store, tmp_path: Path, slack: SlackStandIn | None = None, clock: FakeClock | None = None
) -> Pipeline:
    settings = Settings(
        claims_file=write_claims(tmp_path),
        database_url=store.url,
        slack_bot_token="xoxb-test" if slack else None,
        slack_api_url=slack.base_url if slack else "http://127.0.0.1:9/",
        slack_channel="#claims",
        slack_rate=1000.0,
        slack_burst=100,
        lease_seconds=60,
    )
    watchlist = Watchlist.build(load_claims(settings.claims_file).claims)
    return Pipeline(settings, store, watchlist, clock=clock or FakeClock())


def serve(feeds: FeedServer, count: int, *, matching: int = 0) -> list[Feed]:
    """``count`` feeds of one item each; the first ``matching`` of them alert."""
    listed = []
    for n in range(count):
        title = f"{MATCHING} ({n})" if n < matching else f"Weather report {n}"
        feeds.add(f"/f{n}.xml", rss(f"Feed {n}", [Entry(f"i{n}", title, f"Caracas {n}")]))
        listed.append(Feed(url=feeds.url(f"/f{n}.xml"), name=f"Feed {n}"))
    return listed


def polls_per_feed(feeds: FeedServer) -> Counter[str]:
    return Counter(request.path for request in feeds.requests)


def test_two_workers_polling_together_poll_each_feed_once(
    store: Store, tmp_path: Path, feeds: FeedServer
) -> None:
    listed = serve(feeds, 60, matching=6)
    clock = FakeClock()
    second_store = Store(store.url)
    try:
        workers = [make_pipeline(store, tmp_path, clock=clock),
                   make_pipeline(second_store, tmp_path, clock=clock)]
        start = threading.Barrier(2)
        summaries: list[Any] = [None, None]

        def poll(index: int) -> None:
            start.wait()
            summaries[index] = workers[index].poll(listed, only_due=True)

        threads = [threading.Thread(target=poll, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        polled = [len(s.feeds) for s in summaries]
        assert sum(polled) == 60  # each feed by one worker or the other
        assert set(polls_per_feed(feeds).values()) == {1}
        assert feeds.overlapping == []
        assert sum(s.total("new_alerts") for s in summaries) == 6
        assert store.lease_counts(clock()).feeds == 0  # every poll ended its lease
    finally:
        second_store.close()


def test_a_feed_leased_by_a_live_worker_waits_for_its_lease_to_run_out(
    store: Store, tmp_path: Path, feeds: FeedServer
) -> None:
    listed = serve(feeds, 3)
    clock = FakeClock()
    pipeline = make_pipeline(store, tmp_path, clock=clock)
    store.sync_feeds([(f.url, f.name) for f in listed])
    taken = store.lease_feeds([listed[0].url], owner=OTHER, now=clock(),
                              until=clock() + timedelta(seconds=60), due_only=True)
    assert taken == [listed[0].url]

    due = pipeline.poll(listed, only_due=True)
    assert sorted(f.url for f in due.feeds) == sorted(f.url for f in listed[1:])
    everything = pipeline.poll(listed)  # a poll of every feed says why one was left out
    (skipped,) = [f for f in everything.feeds if f.status == "skipped"]
    assert skipped.url == listed[0].url and skipped.error == "another worker is polling it"

    clock.advance(seconds=61)  # the other worker died without recording its poll
    after = pipeline.poll(listed, only_due=True)
    assert [f.url for f in after.feeds] == [listed[0].url]
    assert after.feeds[0].status == "ok"


def test_a_crashed_earlier_run_on_this_machine_does_not_hold_its_feeds(
    store: Store, tmp_path: Path, feeds: FeedServer
) -> None:
    """A bot restarted after a crash finds its old process gone and takes its leases back at
    once, instead of waiting them out; a live process's leases are kept."""
    listed = serve(feeds, 2)
    clock = FakeClock()
    store.sync_feeds([(f.url, f.name) for f in listed])
    dead = f"{socket.gethostname()}:{_dead_pid()}:0000aa"
    alive = f"{socket.gethostname()}:{os.getppid()}:0000bb"
    for feed, owner in zip(listed, (dead, alive), strict=True):
        store.lease_feeds([feed.url], owner=owner, now=clock(),
                          until=clock() + timedelta(minutes=5), due_only=True)
    pipeline = make_pipeline(store, tmp_path, clock=clock)
    assert [f.url for f in pipeline.poll(listed, only_due=True).feeds] == [listed[0].url]


def test_a_channel_drained_by_another_worker_is_left_to_it(
    store: Store, tmp_path: Path, feeds: FeedServer, slack: SlackStandIn
) -> None:
    slack.add_channel("#cuba")
    feeds.add("/w.xml", rss("W", [
        Entry("w1", MATCHING, "Caracas"),
        Entry("w2", "Havana confirms 32 Cuban agents killed in US operation"),
    ]))
    clock = FakeClock()
    pipeline = make_pipeline(store, tmp_path, slack, clock=clock)
    pipeline.poll([Feed(url=feeds.url("/w.xml"), name="W")])
    held = store.lease_channels(["#claims"], owner=OTHER, now=clock(),
                                until=clock() + timedelta(seconds=60))
    assert held == {"#claims"}
    sink = SlackSink(SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0))

    first = pipeline.deliver(sink)
    assert first.sent == 1 and [m.channel for m in slack.messages] == ["#cuba"]
    assert store.lease_counts(clock()).channels == 1  # ours is released, the other's kept

    clock.advance(seconds=61)
    second = pipeline.deliver(sink)
    assert second.sent == 1 and sorted(m.channel for m in slack.messages) == ["#claims", "#cuba"]
    assert store.lease_counts(clock()).channels == 0


def test_a_lease_is_taken_once_when_two_workers_race_for_it(store: Store) -> None:
    """The conditional write is what makes a lease exclusive, on SQLite too."""
    store.sync_feeds([("https://a.example/rss", None)])
    clock = FakeClock()
    until = clock() + timedelta(seconds=60)
    start = threading.Barrier(8)
    stores = [Store(store.url) for _ in range(8)]
    won: list[str] = []

    def race(index: int) -> None:
        start.wait()
        won.extend(stores[index].lease_feeds(["https://a.example/rss"], owner=f"w{index}",
                                             now=clock(), until=until, due_only=False))
        won.extend(f"#c by w{index}" for _ in stores[index].lease_channels(
            ["#c"], owner=f"w{index}", now=clock(), until=until))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in stores:
        other.close()
    assert won.count("https://a.example/rss") == 1
    assert sum(1 for w in won if w.startswith("#c by")) == 1


def test_worker_names_and_who_is_gone() -> None:
    me = worker_id()
    host, pid, token = me.split(":")
    assert host == socket.gethostname() and pid == str(os.getpid()) and len(token) == 6
    assert not is_gone(me, me)
    assert is_gone(f"{host}:{os.getpid()}:ffffff", me)  # our pid, an earlier life
    assert is_gone(f"{host}:{_dead_pid()}:ffffff", me)
    assert not is_gone(f"{host}:{os.getppid()}:ffffff", me)  # alive
    assert not is_gone(f"elsewhere:{_dead_pid()}:ffffff", me)  # another machine: its lease
    assert not is_gone("not a worker name", me)


def _dead_pid() -> int:
    """A pid no process has now: a child that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
