"""The store on SQLite files and, where the machine runs it, PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select

from bot.errors import StoreError
from bot.items import Item
from bot.store import (
    AlertDraft,
    FeedPace,
    ItemDraft,
    MatchDraft,
    PollFailure,
    PollSuccess,
    Store,
)
from bot.store.tables import FeedRow, ItemRow
from tests.support.alembic_run import migrate

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
URL = "https://news.example/rss"


def draft(identity: str, *claims: str, alert: bool = True) -> ItemDraft:
    return ItemDraft(
        Item(identity=identity, title=f"title {identity}", published=NOW),
        tuple(
            MatchDraft(
                claim_id=c,
                score=0.8,
                alert=alert,
                evidence={"terms": ["x"]},
                outbox=AlertDraft("#claims", f"text {identity} {c}", [], "plain")
                if alert
                else None,
            )
            for c in claims
        ),
    )


def success(*items: ItemDraft, etag: str | None = "v1", at: datetime = NOW) -> PollSuccess:
    return PollSuccess(
        url=URL, polled_at=at, next_poll_at=at + timedelta(minutes=5), http_status=200,
        status="ok", etag=etag, items=items,
    )


def test_poll_writes_items_matches_and_alerts_together(store: Store) -> None:
    outcome = store.record_poll(success(draft("a", "c1", "c2"), draft("b")))
    assert (outcome.new_items, outcome.new_matches, outcome.new_alerts) == (2, 2, 2)
    state = store.feed_states()[URL]
    assert state.etag == "v1" and state.items_seen == 2 and state.last_status == "ok"
    assert state.last_polled_at == NOW  # aware UTC round trip
    assert store.known_identities(URL, ["a", "b", "c"]) == {"a", "b"}


def test_recording_the_same_items_again_adds_nothing(store: Store) -> None:
    store.record_poll(success(draft("a", "c1")))
    outcome = store.record_poll(success(draft("a", "c1"), draft("b", "c1")))
    assert (outcome.new_items, outcome.new_alerts) == (1, 1)
    assert store.alert_counts() == {"pending": 2}


def test_an_identity_repeated_in_one_poll_is_stored_once_with_its_first_matches(
    store: Store,
) -> None:
    outcome = store.record_poll(success(draft("a", "c1"), draft("b"), draft("a", "c2")))
    assert (outcome.new_items, outcome.new_matches, outcome.new_alerts) == (2, 1, 1)
    assert [a.claim_id for a in store.alerts()] == ["c1"]


def test_a_failed_write_leaves_nothing_behind(store: Store) -> None:
    store.record_poll(success(draft("a", "c1"), etag="v1"))
    # Two matches of the same claim for one item break the unique constraint mid-transaction.
    broken = ItemDraft(
        Item(identity="b", title="b", published=NOW),
        (MatchDraft("c1", 0.9, True, {}), MatchDraft("c1", 0.9, True, {})),
    )
    with pytest.raises(StoreError, match="database"):
        store.record_poll(success(draft("c", "c2"), broken, etag="v2"))
    assert store.known_identities(URL, ["a", "b", "c"]) == {"a"}
    assert store.feed_states()[URL].etag == "v1"  # validators did not move on either
    assert store.alert_counts() == {"pending": 1}


def test_outbox_lifecycle(store: Store) -> None:
    store.record_poll(success(draft("a", "c1"), draft("b", "c2"), draft("c", "c3")))
    due = store.due_alerts(NOW)
    assert [a.claim_id for a in due] == ["c1", "c2", "c3"]  # in the order found
    first, second, third = due
    store.mark_sent(first.id, slack_channel="C1", slack_ts="1.1", now=NOW)
    attempts = store.mark_retry(second.id, error="slack ratelimited",
                                next_attempt_at=NOW + timedelta(minutes=1))
    assert attempts == 1
    store.mark_failed(third.id, error="slack channel_not_found")
    assert store.due_alerts(NOW) == []
    assert [a.id for a in store.due_alerts(NOW + timedelta(minutes=1))] == [second.id]
    assert store.alert_counts() == {"sent": 1, "pending": 1, "failed": 1}
    statuses = {m.claim_id: (m.alert_status, m.slack_ts) for m in store.recent_matches()}
    assert statuses == {"c1": ("sent", "1.1"), "c2": ("pending", None), "c3": ("failed", None)}


def test_suggestions_are_stored_without_an_alert(store: Store) -> None:
    store.record_poll(success(draft("a", "c1", alert=False)))
    (match,) = store.recent_matches()
    assert match.alert is False and match.alert_status is None
    assert store.alert_counts() == {}
    assert store.count_items() == 1 and store.count_items(matched=True) == 1


def test_failures_count_up_and_a_success_resets_them(store: Store) -> None:
    for minute in range(2):
        store.record_failure(PollFailure(URL, NOW + timedelta(minutes=minute),
                                         NOW + timedelta(hours=1), "HTTP 500", 500))
    state = store.feed_states()[URL]
    assert state.consecutive_failures == 2 and state.last_error == "HTTP 500"
    store.record_poll(success())
    assert store.feed_states()[URL].consecutive_failures == 0


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError):
        Store(f"sqlite:///{blocker}/db.sqlite")


def test_a_read_the_database_refuses_is_a_store_error_naming_it(tmp_path: Path) -> None:
    """known_identities reads on a bare connection, not a session: the same StoreError."""
    path = tmp_path / "broken.db"
    store = Store(f"sqlite:///{path}")
    store.record_poll(success(draft("a")))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE items RENAME TO items_gone")
    with pytest.raises(StoreError, match=r"broken\.db.*no such table: items"):
        store.known_identities(URL, ["a"])
    store.close()


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="not valid"):
        Store("not a url")


def test_suggestions_and_alerts_can_be_listed_apart(store: Store) -> None:
    store.record_poll(success(draft("a", "c1"), draft("b", "c2", alert=False)))
    assert [m.claim_id for m in store.recent_matches(suggestions_only=True)] == ["c2"]
    assert [m.claim_id for m in store.recent_matches(alerts_only=True)] == ["c1"]


def test_pace_and_moves_are_kept_and_a_304_leaves_the_pace_alone(store: Store) -> None:
    pace = FeedPace(ttl_seconds=1800, cadence_since=NOW - timedelta(hours=2), cadence_items=12)
    store.record_poll(replace(success(), moved_to="https://moved.example/rss", pace=pace))
    state = store.feed_states()[URL]
    assert state.fetch_url == "https://moved.example/rss"
    assert (state.ttl_seconds, state.cadence_since, state.cadence_items) == (
        1800, NOW - timedelta(hours=2), 12
    )
    store.record_poll(replace(success(), status="not-modified", http_status=304))
    assert store.feed_states()[URL] == replace(
        state, last_status="not-modified", last_http_status=304
    )
    store.record_poll(replace(success(), moved_to=URL))  # moved back home
    assert store.feed_states()[URL].fetch_url is None


def test_410_marks_the_feed_gone(store: Store) -> None:
    store.record_failure(PollFailure(URL, NOW, None, "gone", http_status=410, gone=True))
    state = store.feed_states()[URL]
    assert state.gone and state.next_poll_at is None and state.consecutive_failures == 1


def test_a_database_from_before_the_pace_columns_gets_them(store: Store) -> None:
    store.record_poll(success(draft("a")))
    migrate(store.engine, "downgrade", "0003")  # the feeds table as the previous release had it
    with store.engine.connect() as connection:
        assert "fetch_url" not in {c["name"] for c in inspect(connection).get_columns("feeds")}
    reopened = Store(store.url)
    try:
        state = reopened.feed_states()[URL]
        assert state.items_seen == 1 and state.fetch_url is None and state.cadence_since is None
        pace = FeedPace(ttl_seconds=60, cadence_since=NOW, cadence_items=2)
        reopened.record_poll(replace(success(), pace=pace))
        assert reopened.feed_states()[URL].cadence_since == NOW
    finally:
        reopened.close()


def test_items_are_stored_as_a_core_insert_would_store_them(store: Store) -> None:
    """``_insert_items`` writes its statement for the driver itself; the rows it leaves
    must be what SQLAlchemy's own insert of the same values leaves, column by column."""
    odd = timezone(timedelta(hours=-3, minutes=-30))
    items = [
        Item(identity="a", title="Plain", published=NOW),
        Item(identity="b", title="Ünïcode — “quotes” 🛰", summary="s", content="<p>c</p>",
             link="https://news.example/b?x=1&y=%20", published=datetime(
                 2026, 2, 3, 4, 5, 6, 789012, tzinfo=odd), published_estimated=True,
             author="Ана", language="ru"),
        Item(identity="c", title="No date", published=None, author=None, language=None),
        Item(identity="it's; DROP", title="100% 'quoted' \"text\" ?%s"),
    ]
    store.sync_feeds([(URL, None), ("https://other.example/rss", None)])
    store.record_poll(success(*(ItemDraft(item, ()) for item in items)))
    table = ItemRow.__table__  # type: ignore[attr-defined]
    columns = [c for c in table.c if c.name not in ("id", "feed_id")]
    with store.engine.begin() as connection:
        other = connection.execute(
            select(FeedRow.__table__.c.id).where(  # type: ignore[attr-defined]
                FeedRow.__table__.c.url == "https://other.example/rss"  # type: ignore[attr-defined]
            )
        ).scalar_one()
        connection.execute(insert(table), [
            {**{c.name: getattr(item, c.name, None) for c in columns},
             "feed_id": other, "first_seen_at": NOW}
            for item in items
        ])
        names = ", ".join(c.name for c in columns)
        rows = connection.exec_driver_sql(  # as stored, not as read back through the types
            f"SELECT feed_id, {names} FROM items ORDER BY identity, feed_id"
        ).all()
    ours = [row[1:] for row in rows if row[0] != other]
    theirs = [row[1:] for row in rows if row[0] == other]
    assert len(ours) == len(items) and ours == theirs
