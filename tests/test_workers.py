"""Scale-out in real processes: three ``claimbot run`` workers on one PostgreSQL database over
500 local feeds, one of them SIGKILLed mid-run. No feed is polled by two workers at once,
every feed is polled, and every alert reaches the Slack stand-in exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.store import Store
from bot.store.schema import drop_schema
from tests.conftest import POSTGRES_URL, postgres_reason
from tests.support.builders import Entry, rss
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_delivery import distinct_stories
from tests.test_run import run_env, wait_for

FEEDS = 500
ALERTING = 50  # every tenth feed carries a story of its own that matches a claim


@pytest.fixture
def postgres_url() -> str:
    reason = postgres_reason()
    if reason:
        pytest.skip(f"scale-out needs PostgreSQL: {reason}")
    engine = create_engine(POSTGRES_URL)
    drop_schema(engine)
    engine.dispose()
    return POSTGRES_URL


def serve_farm(feeds: FeedServer) -> dict[str, str]:
    stories = iter(distinct_stories(ALERTING, seed=11))
    listed = {}
    for n in range(FEEDS):
        entry = next(stories) if n % 10 == 0 else Entry(f"q{n}", f"Harbour works resume {n}")
        feeds.add(f"/f{n}.xml", rss(f"Outlet {n}", [entry]))
        listed[f"Outlet {n}"] = feeds.url(f"/f{n}.xml")
    return listed


def test_three_workers_share_500_feeds_and_survive_a_sigkill(
    tmp_path: Path, postgres_url: str
) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        env = run_env(
            tmp_path, feeds, slack, database_url=postgres_url, listed=serve_farm(feeds),
            CLAIMBOT_POLL_INTERVAL="3600",  # one poll per feed, unless a worker dies with it
            CLAIMBOT_TICK_INTERVAL="0.5",
            CLAIMBOT_DELIVERY_INTERVAL="0.3",
            CLAIMBOT_LEASE_SECONDS="10",
            CLAIMBOT_FETCH_CONCURRENCY="10",
            CLAIMBOT_SLACK_RATE="200",
            CLAIMBOT_SLACK_BURST="50",
        )
        logs = [(tmp_path / f"worker{i}.log").open("w+") for i in range(3)]
        workers = [
            subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                             stdout=log, stderr=subprocess.STDOUT)
            for log in logs
        ]
        try:
            wait_for(lambda: len(feeds.requests) >= 120, timeout=60)
            workers[0].send_signal(signal.SIGKILL)  # mid-poll, and perhaps mid-post
            workers[0].wait(timeout=10)
            polled_at_kill = len({r.path for r in feeds.requests})

            # The survivors poll the rest, and the dead worker's leased feeds once its
            # leases run out; every alert gets to Slack.
            wait_for(lambda: len({r.path for r in feeds.requests}) == FEEDS, timeout=90)
            wait_for(lambda: len(slack.messages) >= ALERTING, timeout=90)
            wait_for(lambda: _all_settled(postgres_url), timeout=60)
        finally:
            for worker in workers:  # the first is dead already, unless the test failed early
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(timeout=60) for worker in workers[1:]]
            workers[0].kill()
            workers[0].wait(timeout=10)
            output = "\n".join(
                f"--- worker {i} ---\n" + (tmp_path / f"worker{i}.log").read_text()
                for i in range(3)
            )
            for log in logs:
                log.close()
        assert codes == [0, 0], output
        assert polled_at_kill < FEEDS  # the kill did land mid-run
        assert feeds.overlapping == [], "a feed was fetched by two workers at once"
        ids = Counter(m.metadata["event_payload"]["alert_id"]  # type: ignore[index]
                      for m in slack.messages)
        assert len(ids) == ALERTING and set(ids.values()) == {1}, (ids, output)
        # Every worker took part: the work was shared, not run three times by each.
        polls = Counter(r.path for r in feeds.requests)
        assert max(polls.values()) <= 2  # a second poll only of a feed the dead worker held
        assert sum(1 for i in range(3) if "poll feed=" in _log(tmp_path, i)) == 3


def _all_settled(url: str) -> bool:
    store = Store(url)
    try:
        counts = store.alert_counts()
    finally:
        store.close()
    return counts == {"sent": ALERTING}


def _log(tmp_path: Path, index: int) -> str:
    return (tmp_path / f"worker{index}.log").read_text()
