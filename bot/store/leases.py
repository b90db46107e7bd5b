"""Leases: which worker polls a feed, and which drains a Slack channel, right now.

Several ``claimbot run`` workers share one database. Each tick, a worker
leases the feeds that are due (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never wait on or take the same rows) and polls
only those; storing the poll ends the lease. The outbox is leased per
channel rather than per row: one writer per channel is what keeps a
channel's alerts in order and at Slack's pace. A worker that dies keeps its
leases only until they expire; then another worker takes its feeds and its
channels, and the outbox's in-flight mark makes the new owner look an
unconfirmed post up in Slack before posting it again.

Every lease is taken by a conditional write (``... WHERE the lease is free,
expired or already ours``) with ``RETURNING``, so it is atomic on SQLite too,
where ``FOR UPDATE`` does not exist and writers are serialised instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, nulls_first, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from bot.store.dialects import upsert_insert
from bot.store.records import GONE
from bot.store.tables import ChannelLeaseRow, FeedRow

_CHUNK = 500



@dataclass(frozen=True)
class LeaseCounts:
    """Leases held now, by anyone: for metrics and ``feeds status``."""

    feeds: int
    channels: int


def _feed_free(owner: str, now: datetime) -> Any:
    return or_(
        col(FeedRow.lease_until).is_(None),
        col(FeedRow.lease_until) <= now,
        col(FeedRow.lease_owner) == owner,
    )


def lease_feeds(
    session: Session,
    urls: Sequence[str],
    *,
    owner: str,
    now: datetime,
    until: datetime,
    due_only: bool,
    limit: int | None = None,
) -> list[str]:
    """Lease up to ``limit`` of ``urls`` that nobody else holds (and, with ``due_only``,
    that are due); returns the leased URLs, most overdue first. Commits."""
    leased: list[str] = []
    for start in range(0, len(urls), _CHUNK):
        if limit is not None and len(leased) >= limit:
            break
        chunk = list(urls[start : start + _CHUNK])
        query = sa_select(col(FeedRow.id)).where(
            col(FeedRow.url).in_(chunk),
            _feed_free(owner, now),
            # HTTP 410: gone for good, never polled again (its next_poll_at is NULL).
            or_(col(FeedRow.last_status).is_(None), col(FeedRow.last_status) != GONE),
        )
        if due_only:
            query = query.where(
                or_(col(FeedRow.next_poll_at).is_(None), col(FeedRow.next_poll_at) <= now)
            )
        if limit is not None:
            query = query.order_by(
                nulls_first(col(FeedRow.next_poll_at).asc()), col(FeedRow.id)
            ).limit(limit - len(leased))
        # PostgreSQL: rows another worker is leasing this instant are skipped, not waited for.
        ids = list(session.execute(query.with_for_update(skip_locked=True)).scalars())
        if not ids:
            continue
        taken = session.execute(
            update(FeedRow)
            .where(col(FeedRow.id).in_(ids), _feed_free(owner, now))
            .values(lease_owner=owner, lease_until=until)
            .returning(col(FeedRow.url), col(FeedRow.next_poll_at))
        ).all()
        session.commit()
        leased.extend(
            url for url, _ in sorted(taken, key=lambda row: (row[1] is not None, row[1] or now))
        )
    return leased


def renew_feed_lease(
    session: Session, url: str, *, owner: str, now: datetime, until: datetime
) -> bool:
    """Extend a lease this worker holds (or take it back if it lapsed and nobody took it);
    False when another worker holds it now. Commits."""
    taken = session.execute(
        update(FeedRow)
        .where(col(FeedRow.url) == url, _feed_free(owner, now))
        .values(lease_owner=owner, lease_until=until)
        .returning(col(FeedRow.id))
    ).first()
    session.commit()
    return taken is not None


def release_feed_lease(session: Session, url: str, owner: str) -> None:
    """Give up ``owner``'s lease of ``url`` (a feed it will not poll after all). Commits."""
    session.execute(
        update(FeedRow)
        .where(col(FeedRow.lease_owner) == owner, col(FeedRow.url) == url)
        .values(lease_owner=None, lease_until=None)
    )
    session.commit()


def lease_channels(
    session: Session, channels: Sequence[str], *, owner: str, now: datetime, until: datetime
) -> set[str]:
    """Lease (or renew) the outbox of each of ``channels`` that nobody else holds; returns
    those now held by ``owner``. Commits."""
    if not channels:
        return set()
    table = ChannelLeaseRow.__table__  # type: ignore[attr-defined]
    statement = (
        upsert_insert(session.get_bind().dialect.name, table)
        .values(
            [{"channel": channel, "owner": owner, "until": until} for channel in sorted(channels)]
        )
        .on_conflict_do_update(
            index_elements=[table.c.channel],
            set_={"owner": owner, "until": until},
            where=or_(table.c.until <= now, table.c.owner == owner),
        )
        .returning(table.c.channel)
    )
    held = set(session.execute(statement).scalars())
    session.commit()
    return held


def release_channels(session: Session, channels: Sequence[str], owner: str) -> None:
    """End ``owner``'s leases of ``channels``. Commits."""
    session.execute(
        delete(ChannelLeaseRow).where(
            col(ChannelLeaseRow.owner) == owner, col(ChannelLeaseRow.channel).in_(list(channels))
        )
    )
    session.commit()


def reclaim_leases(session: Session, gone: Callable[[str], bool]) -> list[str]:
    """End every lease whose owner ``gone`` says is dead; returns those owners. Commits."""
    owners = set(
        session.execute(
            sa_select(col(FeedRow.lease_owner)).where(col(FeedRow.lease_owner).is_not(None))
            .distinct()
        ).scalars()
    ) | set(session.execute(sa_select(col(ChannelLeaseRow.owner)).distinct()).scalars())
    dead = sorted(owner for owner in owners if owner and gone(owner))
    if dead:
        session.execute(
            update(FeedRow)
            .where(col(FeedRow.lease_owner).in_(dead))
            .values(lease_owner=None, lease_until=None)
        )
        session.execute(delete(ChannelLeaseRow).where(col(ChannelLeaseRow.owner).in_(dead)))
        session.commit()
    return dead


def lease_counts(session: Session, now: datetime) -> LeaseCounts:
    feeds = session.execute(
        sa_select(func.count()).select_from(FeedRow).where(col(FeedRow.lease_until) > now)
    ).scalar_one()
    channels = session.execute(
        sa_select(func.count())
        .select_from(ChannelLeaseRow)
        .where(col(ChannelLeaseRow.until) > now)
    ).scalar_one()
    return LeaseCounts(feeds=int(feeds), channels=int(channels))


__all__ = [
    "LeaseCounts",
    "lease_channels",
    "lease_counts",
    "lease_feeds",
    "reclaim_leases",
    "release_channels",
    "release_feed_lease",
    "renew_feed_lease",
]
