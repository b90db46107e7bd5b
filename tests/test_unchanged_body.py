"""A server without validators that sends the same body again: not parsed twice.

Real parts: the local feed server (no ETag / Last-Modified), the real pipeline and a
SQLite file. Whether the body was parsed shows in the feed's status (``not-modified``
for a skipped body) and in the items: a changed body is parsed and its items stored.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from bot.config import Feed, Settings, load_claims
from bot.feeds.digest import body_hash
from bot.pipeline import Pipeline, Watchlist
from bot.store import Store
from tests.support.alembic_run import migrate
from tests.support.builders import Entry, FakeClock, rss, write_claims
from tests.support.feed_server import FeedServer

FIRST = [Entry("a1", "Venezuela says Russian S-300 batteries failed during US raid")]
SECOND = [*FIRST, Entry("a2", "Havana confirms 32 Cuban agents killed in US operation")]


def make_pipeline(tmp_path: Path, clock: FakeClock) -> tuple[Pipeline, Store]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}",
                        claims_file=write_claims(tmp_path), semantic="off")
    store = Store(settings.database_url)
    watchlist = Watchlist.build(load_claims(settings.claims_file).claims)
    return Pipeline(settings, store, watchlist, clock=clock), store


def test_the_same_body_again_is_not_parsed_a_changed_one_is(tmp_path: Path) -> None:
    clock = FakeClock()
    pipeline, store = make_pipeline(tmp_path, clock)
    with FeedServer() as server:
        server.add("/bare.xml", rss("Bare", FIRST), validators=False)
        feeds = [Feed(url=server.url("/bare.xml"), name="Bare")]

        first = pipeline.poll(feeds).feeds[0]
        assert (first.status, first.new_items) == ("ok", 1)
        clock.advance(hours=1)
        again = pipeline.poll(feeds).feeds[0]
        assert (again.status, again.new_items) == ("not-modified", 0)
        assert server.requests[-1].status == 200  # the server did send it all again
        state = store.feed_states()[feeds[0].url]
        assert state.last_polled_at == clock() and state.last_http_status == 200

        server.set("/bare.xml", rss("Bare", SECOND))
        clock.advance(hours=1)
        changed = pipeline.poll(feeds).feeds[0]
        assert (changed.status, changed.new_items) == ("ok", 1)
    store.close()


def test_a_different_content_type_is_a_different_body() -> None:
    body = rss("Bare", FIRST)
    assert body_hash(body, "application/rss+xml") == body_hash(body, "application/rss+xml")
    assert body_hash(body, "text/xml; charset=latin-1") != body_hash(body, "application/xml")
    assert body_hash(body, None) != body_hash(body + b" ", None)


def test_a_database_from_before_the_column_gets_it(tmp_path: Path) -> None:
    """feeds.body_hash came after the feeds table shipped: an older database gains it."""
    path = tmp_path / "old.db"
    Store(f"sqlite:///{path}").close()
    migrate(create_engine(f"sqlite:///{path}"), "downgrade", "0004")  # before the column
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO feeds (url, consecutive_failures, items_seen)"
                           " VALUES ('https://old.example/rss', 0, 0)")
    store = Store(f"sqlite:///{path}")
    state = store.feed_states()["https://old.example/rss"]
    assert state.body_hash is None
    store.close()
