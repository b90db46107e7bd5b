"""The store: feeds' state, items, matches and the alert outbox, behind one class.

Contract:
* every method opens and closes its own session; a ``Store`` is safe to share
  between the scheduler's threads (SQLAlchemy's pool serialises connections,
  SQLite runs in WAL mode with a busy timeout);
* datetimes in and out are timezone-aware UTC;
* ``record_poll`` is the transactional outbox: a feed's new validators, its new
  items, their matches and their alerts commit together or not at all;
* database errors leave as :class:`StoreError` naming the database (without
  its password) and the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import Session, SQLModel, col, create_engine, select

from bot.errors import StoreError
from bot.store.records import (
    FeedState,
    OutboxAlert,
    PollFailure,
    PollSuccess,
    RecordOutcome,
    StoredMatch,
)
from bot.store.tables import AlertRow, FeedRow, ItemRow, MatchRow

log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING, SENT, FAILED = "pending", "sent", "failed"


def _enable_sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created and WAL mode."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"database URL {url!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"database {url}: cannot create folder {folder}: {exc.strerror}"
                ) from exc
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _enable_sqlite_wal)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(
            f"database {parsed.render_as_string(hide_password=True)}: {exc}"
            " (for PostgreSQL install claimbot[postgres])"
        ) from exc


def _feed_state(row: FeedRow) -> FeedState:
    return FeedState(
        url=row.url,
        name=row.name,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
        last_status=row.last_status,
        last_http_status=row.last_http_status,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        items_seen=row.items_seen,
    )


class Store:
    """All database access claimbot does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self._label = make_url(url).render_as_string(hide_password=True)
        self._run(lambda: SQLModel.metadata.create_all(self.engine))

    def close(self) -> None:
        self.engine.dispose()

    def _run(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StoreError(f"database {self._label}: {cause}") from exc

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise StoreError(f"database {self._label}: {cause}") from exc

    # -- feeds ---------------------------------------------------------------

    def sync_feeds(self, feeds: Sequence[tuple[str, str | None]]) -> None:
        """Make sure a row exists for every (url, name); names follow the config."""
        with self._session() as session:
            existing = {row.url: row for row in session.exec(select(FeedRow))}
            for url, name in feeds:
                row = existing.get(url)
                if row is None:
                    session.add(FeedRow(url=url, name=name))
                elif row.name != name:
                    row.name = name
                    session.add(row)
            session.commit()

    def feed_states(self) -> dict[str, FeedState]:
        with self._session() as session:
            rows = session.exec(select(FeedRow))
            return {row.url: _feed_state(row) for row in rows}

    def known_identities(self, url: str, identities: Sequence[str]) -> set[str]:
        """Which of ``identities`` this feed has already stored."""
        if not identities:
            return set()
        with self._session() as session:
            feed = session.exec(select(FeedRow).where(col(FeedRow.url) == url)).first()
            if feed is None or feed.id is None:
                return set()
            return self._stored_identities(session, feed.id, identities)

    @staticmethod
    def _stored_identities(session: Session, feed_id: int, identities: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(identities), 500):
            chunk = list(identities[start : start + 500])
            statement = select(ItemRow.identity).where(
                col(ItemRow.feed_id) == feed_id, col(ItemRow.identity).in_(chunk)
            )
            known.update(session.exec(statement))
        return known

    def _feed_row(self, session: Session, url: str) -> FeedRow:
        row = session.exec(select(FeedRow).where(col(FeedRow.url) == url)).first()
        if row is None:
            row = FeedRow(url=url)
            session.add(row)
            session.flush()
        return row

    def record_poll(self, poll: PollSuccess) -> RecordOutcome:
        """Store one successful fetch: feed state, new items, matches, alerts — atomically."""
        new_items = new_matches = new_alerts = 0
        with self._session() as session:
            feed = self._feed_row(session, poll.url)
            assert feed.id is not None
            # Checked again inside the transaction: another writer may have stored some.
            identities = [d.item.identity for d in poll.items]
            stored = self._stored_identities(session, feed.id, identities)
            for draft in poll.items:
                if draft.item.identity in stored:
                    continue
                stored.add(draft.item.identity)
                item = draft.item
                row = ItemRow(
                    feed_id=feed.id,
                    identity=item.identity,
                    title=item.title,
                    summary=item.summary,
                    content=item.content,
                    link=item.link,
                    published=item.published,
                    published_estimated=item.published_estimated,
                    author=item.author,
                    language=item.language,
                    first_seen_at=poll.polled_at,
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                new_items += 1
                for match in draft.matches:
                    match_row = MatchRow(
                        claim_id=match.claim_id,
                        item_id=row.id,
                        score=match.score,
                        alert=match.alert,
                        evidence=match.evidence,
                        created_at=poll.polled_at,
                    )
                    session.add(match_row)
                    session.flush()
                    assert match_row.id is not None
                    new_matches += 1
                    if match.outbox is not None:
                        session.add(
                            AlertRow(
                                match_id=match_row.id,
                                claim_id=match.claim_id,
                                channel=match.outbox.channel,
                                next_attempt_at=poll.polled_at,
                                created_at=poll.polled_at,
                                text=match.outbox.text,
                                blocks=match.outbox.blocks,
                                plain=match.outbox.plain,
                            )
                        )
                        new_alerts += 1
            feed.title = poll.title or feed.title
            feed.etag = poll.etag
            feed.last_modified = poll.last_modified
            feed.last_polled_at = poll.polled_at
            feed.last_success_at = poll.polled_at
            feed.next_poll_at = poll.next_poll_at
            feed.last_status = poll.status
            feed.last_http_status = poll.http_status
            feed.consecutive_failures = 0
            feed.last_error = poll.warning
            feed.items_seen += new_items
            session.add(feed)
            session.commit()
        return RecordOutcome(new_items, new_matches, new_alerts)

    def record_failure(self, failure: PollFailure) -> None:
        """Note a failed poll; the feed's validators and items stay as they were."""
        with self._session() as session:
            feed = self._feed_row(session, failure.url)
            feed.last_polled_at = failure.polled_at
            feed.next_poll_at = failure.next_poll_at
            feed.last_status = "error"
            feed.last_http_status = failure.http_status
            feed.consecutive_failures += 1
            feed.last_error = failure.error
            session.add(feed)
            session.commit()

    # -- outbox --------------------------------------------------------------

    def due_alerts(self, now: datetime, limit: int = 100) -> list[OutboxAlert]:
        """Pending alerts whose time has come, oldest first (the order they were found)."""
        with self._session() as session:
            rows = session.exec(
                select(AlertRow)
                .where(col(AlertRow.status) == PENDING, col(AlertRow.next_attempt_at) <= now)
                .order_by(col(AlertRow.id))
                .limit(limit)
            )
            return [
                OutboxAlert(
                    id=row.id or 0,
                    claim_id=row.claim_id,
                    channel=row.channel,
                    text=row.text,
                    blocks=row.blocks,
                    plain=row.plain,
                    attempts=row.attempts,
                )
                for row in rows
            ]

    @staticmethod
    def _alert_row(session: Session, alert_id: int) -> AlertRow:
        row = session.get(AlertRow, alert_id)
        if row is None:
            raise StoreError(f"alert {alert_id} is not in the outbox")
        return row

    def mark_sent(self, alert_id: int, *, slack_channel: str, slack_ts: str, now: datetime) -> None:
        with self._session() as session:
            row = self._alert_row(session, alert_id)
            row.status, row.sent_at = SENT, now
            row.slack_channel, row.slack_ts = slack_channel, slack_ts
            row.attempts += 1
            row.last_error = None
            session.add(row)
            session.commit()

    def mark_retry(self, alert_id: int, *, error: str, next_attempt_at: datetime) -> int:
        """Count a transient failure; returns the attempts made so far."""
        with self._session() as session:
            row = self._alert_row(session, alert_id)
            row.attempts += 1
            row.last_error = error
            row.next_attempt_at = next_attempt_at
            session.add(row)
            session.commit()
            return row.attempts

    def mark_failed(self, alert_id: int, *, error: str) -> None:
        with self._session() as session:
            row = self._alert_row(session, alert_id)
            row.attempts += 1
            row.status, row.last_error = FAILED, error
            session.add(row)
            session.commit()

    def alert_counts(self) -> dict[str, int]:
        with self._session() as session:
            rows = session.exec(
                select(AlertRow.status, func.count()).group_by(col(AlertRow.status))
            ).all()
            return {str(status): int(count) for status, count in rows}

    # -- queries -------------------------------------------------------------

    def recent_matches(
        self,
        *,
        claim_id: str | None = None,
        limit: int = 20,
        alerts_only: bool = False,
        suggestions_only: bool = False,
    ) -> list[StoredMatch]:
        """Newest matches first, with their item, feed and alert status.

        Suggestions are matches that reached a claim's ``suggest_at`` but not its
        ``alert_at``: stored for review, never posted.
        """
        with self._session() as session:
            statement = (
                select(MatchRow, ItemRow, FeedRow, AlertRow)
                .join(ItemRow, col(ItemRow.id) == col(MatchRow.item_id))
                .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
                .outerjoin(AlertRow, col(AlertRow.match_id) == col(MatchRow.id))
                .order_by(col(MatchRow.created_at).desc(), col(MatchRow.id).desc())
                .limit(limit)
            )
            if claim_id:
                statement = statement.where(col(MatchRow.claim_id) == claim_id)
            if alerts_only:
                statement = statement.where(col(MatchRow.alert).is_(True))
            if suggestions_only:
                statement = statement.where(col(MatchRow.alert).is_(False))
            results = session.exec(statement).all()
            return [
                StoredMatch(
                    id=match.id or 0,
                    claim_id=match.claim_id,
                    score=match.score,
                    alert=match.alert,
                    evidence=match.evidence,
                    created_at=match.created_at or datetime.min.replace(tzinfo=UTC),
                    item_title=item.title,
                    item_link=item.link,
                    item_published=item.published,
                    feed_url=feed.url,
                    feed_name=feed.name,
                    alert_status=alert.status if alert is not None else None,
                    slack_ts=alert.slack_ts if alert is not None else None,
                )
                for match, item, feed, alert in results
            ]

    def count_items(self, *, matched: bool = False) -> int:
        """Stored items; with ``matched``, only those that matched some claim."""
        with self._session() as session:
            if matched:
                statement = select(func.count(func.distinct(MatchRow.item_id)))
            else:
                statement = select(func.count()).select_from(ItemRow)
            return int(session.exec(statement).one())
