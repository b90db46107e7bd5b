"""Item-less polls are written in batches; a refused row still fails its own feed only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import Feed, Settings, load_claims
from bot.errors import StoreError
from bot.items import Item
from bot.pipeline import Pipeline, Watchlist
from bot.poll_batch import PollBatch
from bot.store import ItemDraft, PollSuccess, Store
from tests.support.builders import Entry, FakeClock, rss, write_claims
from tests.support.feed_server import FeedServer

CLOCK = FakeClock()


def success(url: str, etag: str = '"v1"', *items: ItemDraft) -> PollSuccess:
    now = CLOCK()
    return PollSuccess(
        url=url, polled_at=now, next_poll_at=now + timedelta(hours=1), http_status=304,
        status="not-modified", etag=etag, last_modified=None, items=items,
    )


def refuse_etag(store: Store, etag: str) -> None:
    """A row this database will not take: the feed update carrying ``etag``."""
    with store.engine.begin() as connection:
        connection.execute(text(
            f"CREATE TRIGGER refuse_etag BEFORE UPDATE ON feeds WHEN new.etag = '{etag}'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
        ))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'batch.db'}")


def test_a_batch_writes_every_feed_state_once_full_or_flushed(store: Store) -> None:
    urls = [f"https://feeds.example/{n}" for n in range(5)]
    store.sync_feeds([(url, None) for url in urls])
    batch = PollBatch(store, lambda poll, exc: pytest.fail(str(exc)), size=3)
    for url in urls:  # as the pipeline does: a full batch is written when handed over
        full = batch.gather(success(url))
        if full:
            batch.write(full)
    states = store.feed_states()
    assert [states[u].etag for u in urls] == ['"v1"'] * 3 + [None] * 2  # the first batch of 3
    batch.flush()
    states = store.feed_states()
    assert all(states[u].etag == '"v1"' and states[u].last_status == "not-modified"
               for u in urls)
    assert all(states[u].last_polled_at == CLOCK() for u in urls)


def test_gather_hands_over_full_batches_detached_and_keeps_collecting(store: Store) -> None:
    """The pipeline collects on its event loop and writes full batches on the writes
    thread: a handed-over batch must not change when the next polls are collected."""
    urls = [f"https://feeds.example/{n}" for n in range(5)]
    store.sync_feeds([(url, None) for url in urls])
    batch = PollBatch(store, lambda poll, exc: pytest.fail(str(exc)), size=2)
    handed = [batch.gather(success(url)) for url in urls]
    assert [len(h) if h else 0 for h in handed] == [0, 2, 0, 2, 0]
    assert store.feed_states()[urls[0]].etag is None  # gathering writes nothing
    for full in handed:
        if full:
            batch.write(full)
    assert [p.url for p in batch.pending] == urls[4:]
    batch.flush()
    assert all(state.etag == '"v1"' for state in store.feed_states().values())


def test_a_refused_row_fails_its_poll_only(store: Store) -> None:
    urls = [f"https://feeds.example/{n}" for n in range(3)]
    store.sync_feeds([(url, None) for url in urls])
    refuse_etag(store, '"bad"')
    refused: list[tuple[str, str]] = []
    batch = PollBatch(store, lambda poll, exc: refused.append((poll.url, str(exc))))
    for poll in (success(urls[0]), success(urls[1], '"bad"'), success(urls[2])):
        assert batch.gather(poll) is None
    batch.flush()
    assert [url for url, _ in refused] == [urls[1]]
    assert "refused by the database" in refused[0][1]
    states = store.feed_states()
    assert states[urls[0]].etag == '"v1"' and states[urls[2]].etag == '"v1"'
    assert states[urls[1]].etag is None


def test_polls_with_items_are_not_batched(store: Store) -> None:
    batch = PollBatch(store, lambda poll, exc: None)
    with pytest.raises(ValueError):
        batch.gather(success("https://feeds.example/a", '"v1"', ItemDraft(Item("a", "A title"))))
    with pytest.raises(ValueError):
        store.record_polls([success("https://feeds.example/a", '"v1"',
                                    ItemDraft(Item("a", "A title")))])


def test_a_pass_of_304s_is_recorded_and_a_refused_state_fails_its_feed(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.add("/a.xml", rss("A", [Entry("a1", "Nothing to see")]))
        server.add("/b.xml", rss("B", [Entry("b1", "Nothing here either")]))
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}",
                            claims_file=write_claims(tmp_path), semantic="off")
        store = Store(settings.database_url)
        clock = FakeClock()
        pipeline = Pipeline(settings, store,
                            Watchlist.build(load_claims(settings.claims_file).claims),
                            clock=clock)
        feeds = [Feed(url=server.url("/a.xml"), name="A"), Feed(url=server.url("/b.xml"),
                                                                 name="B")]
        assert [o.status for o in pipeline.poll(feeds).feeds] == ["ok", "ok"]
        clock.advance(hours=1)
        # B's state update is refused; A's 304 is written with it in the same batch.
        with store.engine.begin() as connection:
            connection.execute(text(
                "CREATE TRIGGER refuse_b BEFORE UPDATE ON feeds WHEN new.name = 'B'"
                " AND new.last_status = 'not-modified'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the database'); END"
            ))
        outcomes = {o.name: o for o in pipeline.poll(feeds).feeds}
        assert outcomes["A"].status == "not-modified"
        assert outcomes["B"].status == "error"
        assert "could not store its state" in (outcomes["B"].error or "")
        states = store.feed_states()
        assert states[feeds[0].url].last_polled_at == clock()
        assert states[feeds[1].url].consecutive_failures == 1
        store.close()


def test_store_error_is_what_a_refused_batch_raises(store: Store) -> None:
    """The batch relies on the store turning database errors into StoreError."""
    refuse_etag(store, '"bad"')
    store.sync_feeds([("https://feeds.example/a", None)])
    with pytest.raises(StoreError):
        store.record_polls([success("https://feeds.example/a", '"bad"')])


def test_a_batched_state_is_the_state_one_poll_at_a_time_writes(database_url: str) -> None:
    """record_polls (one UPDATE run for many) against record_poll (one ORM row each), on
    both backends: the same feed state and the same lease columns after every step."""
    from dataclasses import replace

    from bot.store import FeedPace

    store = Store(database_url)
    now = CLOCK()
    one, many = "https://one.example/feed", "https://many.example/feed"
    store.sync_feeds([(one, None), (many, None)])
    for url in (one, many):
        assert store.lease_feeds([url], owner="w1", now=now, until=now + timedelta(minutes=2),
                                 due_only=False) == [url]
    pace = FeedPace(ttl_seconds=900, cadence_since=now - timedelta(days=1), cadence_items=7)
    steps = [
        # moved away, paced, titled, hashed; the lease is this worker's and ends
        dict(moved_to="https://moved.example/rss", pace=pace, title="Feed", body_hash="h1",
             leased_by="w1", status="ok", http_status=200),
        # nothing new: title, hash, pace and fetch URL stay; another worker's lease stays
        dict(warning="odd date", leased_by="w2"),
        # moved back home; a pace with nothing measured replaces the old one
        dict(moved_to="{url}", pace=FeedPace(None, None, None), leased_by=None),
    ]

    def leases(url: str) -> tuple[object, ...]:
        """The columns FeedState leaves out: the lease and the feed's title."""
        with store.engine.connect() as connection:
            return tuple(connection.execute(
                text("SELECT lease_owner, lease_until, title FROM feeds WHERE url = :u"),
                {"u": url},
            ).one())

    for n, step in enumerate(steps):
        if n == 1:  # hand both leases to w1 again, so that w2's poll must leave them
            for url in (one, many):
                store.lease_feeds([url], owner="w1", now=now, until=now + timedelta(minutes=2),
                                  due_only=False)
        polls = {
            url: replace(success(url, f'"v{n}"'), **{
                k: (v.format(url=url) if isinstance(v, str) and "{url}" in v else v)
                for k, v in step.items()
            })
            for url in (one, many)
        }
        store.record_poll(polls[one])
        store.record_polls([polls[many]])
        states = store.feed_states()
        assert replace(states[many], url=one) == states[one], f"step {n}"
        assert leases(many) == leases(one), f"step {n}"
    final = store.feed_states()[many]
    assert (final.body_hash, final.fetch_url, final.ttl_seconds) == ("h1", None, None)
    assert final.last_error is None and leases(many)[0] == "w1" and leases(many)[2] == "Feed"
    store.close()
