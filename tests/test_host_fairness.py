"""A slow host queues its own feeds behind its politeness bound, never everyone's.

Each host gets at most ``CLAIMBOT_FETCH_PER_HOST`` fetches at once. Polls waiting
for a slow host's slots used to hold the pass's global slots too, so one slow
server with many feeds stalled the feeds of every other server for as long as
it took to answer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.config import Feed, Settings, load_claims
from bot.pipeline import Pipeline, Watchlist
from bot.store import Store
from tests.support.builders import Entry, rss, write_claims
from tests.support.feed_server import FeedServer


def test_feeds_of_a_quick_host_are_not_held_behind_a_slow_one(tmp_path: Path) -> None:
    with FeedServer() as slow, FeedServer() as quick:
        slow_feeds = []
        for n in range(6):
            slow.add(f"/s{n}.xml", rss(f"Slow {n}", [Entry(f"s{n}", "Weather")]), delay=0.6)
            slow_feeds.append(Feed(url=slow.url(f"/s{n}.xml"), name=f"Slow {n}"))
        quick_feeds = []
        for n in range(8):
            quick.add(f"/q{n}.xml", rss(f"Quick {n}", [Entry(f"q{n}", "Markets")]))
            quick_feeds.append(Feed(url=quick.url(f"/q{n}.xml"), name=f"Quick {n}"))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'fair.db'}",
            claims_file=write_claims(tmp_path),
            semantic="off",
            fetch_concurrency=4,
            fetch_per_host=2,
        )
        store = Store(settings.database_url)
        claims = load_claims(settings.claims_file)
        pipeline = Pipeline(settings, store, Watchlist.build(claims.claims))
        # The slow host's feeds first, as a pass would lease them.
        summary = pipeline.poll([*slow_feeds, *quick_feeds])
        states = store.feed_states()
        store.close()
    assert {f.status for f in summary.feeds} == {"ok"}

    def polled(feeds: list[Feed]) -> list[datetime]:
        times = [states[f.url].last_polled_at for f in feeds]
        assert all(t is not None for t in times)
        return sorted(t for t in times if t is not None)

    # The slow host answers two at a time, 0.6 s each: its first answers come after 0.6 s.
    # Every quick feed was polled before that, not queued behind the slow host.
    assert polled(quick_feeds)[-1] < polled(slow_feeds)[0]
