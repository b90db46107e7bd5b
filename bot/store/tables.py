"""SQLModel tables. Rows never leave ``bot.store``: queries return plain records.

Uniqueness is how the store stays idempotent: an item is unique per (feed,
identity), a match per (claim, item), an alert per match. Re-running a poll
or a delivery can therefore never store or send something twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone type, so values are stored as naive UTC and made
    aware again on the way out; PostgreSQL keeps ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, one step to the text SQLAlchemy's ``DATETIME`` stores (the same text,
        so stored rows compare and sort as before): its own step formats seven fields in
        Python, and with ``process_bind_param`` it was a third of inserting a feed's items."""
        if dialect.name == "sqlite":
            return _sqlite_text
        return super().bind_processor(dialect)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass UTC-aware datetimes")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _in_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class FeedRow(SQLModel, table=True):
    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    name: str | None = None
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = _utc_column()
    last_success_at: datetime | None = _utc_column()
    next_poll_at: datetime | None = _utc_column(index=True)
    last_status: str | None = None
    last_http_status: int | None = None
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    items_seen: int = 0
    # The worker polling this feed now, until when (``bot.store.leases``).
    lease_owner: str | None = None
    lease_until: datetime | None = _utc_column()
    # Where the feed lives now, after a 301/308; NULL: at ``url``, which stays its identity.
    fetch_url: str | None = Field(default=None, sa_column=Column(Text))
    # RSS <ttl> of the last document parsed, in seconds (a 304 brings none).
    ttl_seconds: int | None = None
    # The publishing rate last measured: ``cadence_items`` dated items since ``cadence_since``.
    cadence_since: datetime | None = _utc_column()
    cadence_items: int | None = None
    # Hash of the last body parsed, so an unchanged body is not parsed again (migration 0005).
    body_hash: str | None = None


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "identity", name="uq_items_feed_identity"),
        # feeds status: items per feed per day, and each feed's newest item.
        Index("ix_items_feed_first_seen", "feed_id", "first_seen_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feeds.id", index=True)
    identity: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, sa_column=Column(Text))
    published: datetime | None = _utc_column(index=True)
    published_estimated: bool = False
    author: str | None = None
    language: str | None = None
    first_seen_at: datetime | None = _utc_column(nullable=False)


class StoryRow(SQLModel, table=True):
    """Copies of one news story matching one claim: the first alerts, the rest join it.

    ``fingerprint`` and ``body_fingerprint`` are the SimHashes of the first
    copy (``bot.matching.stories``; the body one is NULL for short summaries).
    Its copies are the matches pointing at it (``MatchRow.story_id``).
    """

    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_claim_last_seen", "claim_id", "last_seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str
    fingerprint: int = Field(sa_column=Column(BigInteger, nullable=False))
    body_fingerprint: int | None = Field(default=None, sa_column=Column(BigInteger))
    title: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = _utc_column(nullable=False)
    last_seen_at: datetime | None = _utc_column(nullable=False)


class MatchRow(SQLModel, table=True):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("claim_id", "item_id", name="uq_matches_claim_item"),
        Index("ix_matches_claim_created", "claim_id", "created_at"),
        Index("ix_matches_feed_created", "feed_id", "created_at"),
        # matches --min-score, newest first.
        Index("ix_matches_score_created", "score", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    claim_id: str = Field(index=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    score: float
    alert: bool
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime | None = _utc_column(nullable=False, index=True)
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    # The item's feed, copied here so "matches from this feed, newest first" is one index
    # range rather than a walk over every match checking its item.
    feed_id: int | None = Field(default=None, foreign_key="feeds.id")


class AlertRow(SQLModel, table=True):
    """The outbox: one row per Slack message to post or edit.

    ``kind`` is ``alert`` (a story's first item), ``reply`` (a later copy, posted
    in the alert's thread), ``update`` (re-render the alert: outlet count,
    feedback) or ``digest`` (one message listing a period's stories). Replies and
    updates point at their alert through ``parent_id``.

    ``in_flight`` is set, and committed, before a post is attempted and cleared
    with its outcome: a row found in flight after a crash or an unanswered call
    may or may not be in Slack, and is looked up there before it is posted again.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_next", "status", "next_attempt_at"),
        Index("ix_alerts_parent", "parent_id"),
        Index("ix_alerts_channel_id", "channel", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "alert"
    match_id: int | None = Field(default=None, foreign_key="matches.id", unique=True)
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="alerts.id")
    digest_id: int | None = Field(default=None, foreign_key="alerts.id")
    claim_id: str
    channel: str
    status: str = "pending"
    attempts: int = 0
    in_flight: bool = False
    attempted_at: datetime | None = _utc_column()
    next_attempt_at: datetime | None = _utc_column(nullable=False)
    created_at: datetime | None = _utc_column(nullable=False)
    sent_at: datetime | None = _utc_column()
    text: str = Field(sa_column=Column(Text, nullable=False))
    blocks: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    plain: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The blocks Slack shows for this alert now (as posted or last edited): an edit that
    # would change nothing is not sent.
    shown: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    slack_channel: str | None = None
    slack_ts: str | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class FeedbackRow(SQLModel, table=True):
    """A verdict given on an alert from Slack: who said what, and when."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    claim_id: str = Field(index=True)
    verdict: str  # relevant, false_positive, mute
    user_id: str
    user_name: str | None = None
    created_at: datetime | None = _utc_column(nullable=False)


class MuteRow(SQLModel, table=True):
    """A claim muted from Slack until a time; claims.yaml's ``mute_until`` is the other source."""

    __tablename__ = "mutes"

    claim_id: str = Field(primary_key=True)
    until: datetime | None = _utc_column(nullable=False)
    by: str | None = None
    created_at: datetime | None = _utc_column(nullable=False)


class ChannelLeaseRow(SQLModel, table=True):
    """The worker draining a Slack channel's outbox now, until when: one writer per channel
    keeps its alerts in order and at Slack's pace (``bot.store.leases``)."""

    __tablename__ = "channel_leases"

    channel: str = Field(primary_key=True)
    owner: str
    until: datetime | None = _utc_column(nullable=False)


class MetaRow(SQLModel, table=True):
    """Key/value facts about the database itself, such as the schema version."""

    __tablename__ = "claimbot_meta"

    key: str = Field(primary_key=True)
    value: str
