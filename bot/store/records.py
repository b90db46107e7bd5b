"""Plain data that crosses into and out of the store.

The pipeline hands the store drafts (what a poll found); the store hands back
records (what is stored). Neither carries an ORM row or a session, so nothing
outside ``bot.store`` can touch the database by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.items import Item


@dataclass(frozen=True)
class AlertDraft:
    """A rendered alert to put in the outbox with its match."""

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    plain: str


@dataclass(frozen=True)
class MatchDraft:
    claim_id: str
    score: float
    alert: bool
    evidence: dict[str, Any]
    outbox: AlertDraft | None = None


@dataclass(frozen=True)
class ItemDraft:
    item: Item
    matches: tuple[MatchDraft, ...] = ()


@dataclass(frozen=True)
class PollSuccess:
    """Everything one successful fetch of a feed changes, written in one transaction."""

    url: str
    polled_at: datetime
    next_poll_at: datetime
    http_status: int
    status: str  # "ok" or "not-modified"
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    warning: str | None = None
    items: tuple[ItemDraft, ...] = ()


@dataclass(frozen=True)
class PollFailure:
    url: str
    polled_at: datetime
    next_poll_at: datetime
    error: str
    http_status: int | None = None


@dataclass(frozen=True)
class RecordOutcome:
    """What a recorded poll actually added (drafts already stored are skipped)."""

    new_items: int = 0
    new_matches: int = 0
    new_alerts: int = 0


@dataclass(frozen=True)
class FeedState:
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_status: str | None
    last_http_status: int | None
    consecutive_failures: int
    last_error: str | None
    items_seen: int


@dataclass(frozen=True)
class OutboxAlert:
    id: int
    claim_id: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    plain: str
    attempts: int


@dataclass(frozen=True)
class StoredMatch:
    """A match as the CLI and queries show it."""

    id: int
    claim_id: str
    score: float
    alert: bool
    evidence: dict[str, Any]
    created_at: datetime
    item_title: str
    item_link: str | None
    item_published: datetime | None
    feed_url: str
    feed_name: str | None
    alert_status: str | None = None
    slack_ts: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim_id": self.claim_id,
            "score": self.score,
            "alert": self.alert,
            "alert_status": self.alert_status,
            "created_at": self.created_at.isoformat(),
            "title": self.item_title,
            "link": self.item_link,
            "published": self.item_published.isoformat() if self.item_published else None,
            "feed": self.feed_name or self.feed_url,
            "evidence": self.evidence,
        }
