"""Plain data that crosses into and out of the store.

The pipeline hands the store drafts (what a poll found); the store hands back
records (what is stored). Neither carries an ORM row or a session, so nothing
outside ``bot.store`` can touch the database by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.items import Item

# Outbox statuses. ``digest`` waits for its claim's next digest, ``digested``
# went out in one; ``muted`` was found while its claim was muted; ``skipped``
# cannot be shown by the sink (a webhook cannot reply in threads).
PENDING, SENT, FAILED = "pending", "sent", "failed"
DIGEST, DIGESTED, MUTED, SKIPPED = "digest", "digested", "muted", "skipped"
ALERT, REPLY, UPDATE, DIGEST_KIND = "alert", "reply", "update", "digest"
# A feed's last_status once its server answered 410 Gone: it is not polled again.
GONE = "gone"


@dataclass(frozen=True)
class MessageDraft:
    """A rendered Slack message: fallback text, Block Kit blocks, terminal text."""

    text: str
    blocks: list[dict[str, Any]]
    plain: str


@dataclass(frozen=True)
class AlertDraft:
    """What to put in the outbox for an alerting match, and the claim's policy.

    The store decides which message applies: ``message`` when the item starts
    a new story, ``reply`` (in the story's thread) when it is a later copy.
    """

    channel: str
    text: str
    blocks: list[dict[str, Any]]
    plain: str
    reply: MessageDraft | None = None
    fingerprint: int | None = None
    body_fingerprint: int | None = None
    story_title: str = ""
    mode: str = "realtime"  # or "digest"
    muted: bool = False
    story_window: timedelta = timedelta(hours=72)


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
    leased_by: str | None = None  # the worker whose lease this poll ends
    # Where to fetch from now on after a 301/308 (``url`` itself: back home); None: no move.
    moved_to: str | None = None
    # What the parsed document said about its pace; None when nothing was parsed (a 304).
    pace: FeedPace | None = None
    body_hash: str | None = None  # of the body parsed; None keeps the stored one (a 304)


@dataclass(frozen=True)
class FeedPace:
    """What a parsed document tells the scheduler: its <ttl>, its publishing rate."""

    ttl_seconds: int | None = None
    cadence_since: datetime | None = None
    cadence_items: int | None = None


@dataclass(frozen=True)
class PollFailure:
    url: str
    polled_at: datetime
    next_poll_at: datetime | None
    error: str
    http_status: int | None = None
    leased_by: str | None = None  # the worker whose lease this poll ends
    # HTTP 410: the feed is gone for good and is not polled again (status "gone").
    gone: bool = False


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
    fetch_url: str | None = None
    ttl_seconds: int | None = None
    cadence_since: datetime | None = None
    cadence_items: int | None = None
    body_hash: str | None = None  # of the last body parsed (bot.feeds.body_hash)

    @property
    def gone(self) -> bool:
        """The server answered 410 Gone: never polled again."""
        return self.last_status == GONE


@dataclass(frozen=True)
class Feedback:
    """The latest verdict on an alert."""

    verdict: str  # relevant, false_positive, mute
    user_id: str
    user_name: str | None
    at: datetime


@dataclass(frozen=True)
class ParentAlert:
    """The alert a reply or an update belongs to, as Slack knows it."""

    id: int
    status: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    plain: str
    slack_channel: str | None
    slack_ts: str | None
    shown: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class OutboxAlert:
    """One outbox row ready to deliver, with what composing its message needs."""

    id: int
    claim_id: str
    channel: str
    text: str
    blocks: list[dict[str, Any]]
    plain: str
    attempts: int
    kind: str = ALERT
    in_flight: bool = False
    attempted_at: datetime | None = None
    parent: ParentAlert | None = None
    outlets: tuple[str, ...] = ()
    feedback: Feedback | None = None
    slack_channel_hint: str | None = None


@dataclass(frozen=True)
class DigestEntry:
    """One story waiting for its claim's digest."""

    alert_id: int
    title: str
    link: str | None
    source: str
    published: datetime | None
    copies: int
    score: float


@dataclass(frozen=True)
class AlertRecord:
    """An outbox row as ``claimbot alerts`` lists it."""

    id: int
    kind: str
    claim_id: str
    channel: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    title: str
    slack_ts: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "claim_id": self.claim_id,
            "channel": self.channel,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
            "title": self.title,
            "slack_ts": self.slack_ts,
        }


@dataclass(frozen=True)
class ClaimStats:
    """Per-claim figures for ``claimbot stats`` and ``/claimbot stats``."""

    claim_id: str
    matches: int = 0
    alerts: int = 0
    stories: int = 0
    relevant: int = 0
    false_positive: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    judged_scores: tuple[tuple[float, bool], ...] = field(default=())

    @property
    def precision(self) -> float | None:
        judged = self.relevant + self.false_positive
        return self.relevant / judged if judged else None


@dataclass(frozen=True)
class StoryRecord:
    id: int
    claim_id: str
    title: str
    copies: int
    outlets: tuple[str, ...]
    created_at: datetime
    last_seen_at: datetime


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
    item_summary: str = ""
    story_id: int | None = None
    verdict: str | None = None  # the latest relevant/false_positive verdict on its story

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claim_id": self.claim_id,
            "score": self.score,
            "alert": self.alert,
            "alert_status": self.alert_status,
            "verdict": self.verdict,
            "created_at": self.created_at.isoformat(),
            "title": self.item_title,
            "summary": self.item_summary,
            "link": self.item_link,
            "published": self.item_published.isoformat() if self.item_published else None,
            "feed": self.feed_name or self.feed_url,
            "feed_url": self.feed_url,
            "story_id": self.story_id,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class StoredItem:
    """A stored item with its store id and outlet, as a replay reads it back."""

    id: int
    item: Item
    feed: str
    first_seen_at: datetime


@dataclass(frozen=True)
class FeedHealth:
    """How one feed is doing, as ``claimbot feeds status`` shows it."""

    url: str
    name: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_http_status: int | None
    consecutive_failures: int
    last_error: str | None
    items_seen: int
    items_per_day: float
    last_item_at: datetime | None
    silent: bool
    fetch_url: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.url
