"""Persistence: SQLModel tables inside, plain records outside."""

from bot.store.records import (
    GONE,
    AlertDraft,
    FeedPace,
    FeedState,
    ItemDraft,
    MatchDraft,
    MessageDraft,
    OutboxAlert,
    PollFailure,
    PollSuccess,
    RecordOutcome,
    StoredMatch,
)
from bot.store.store import Store

__all__ = [
    "GONE",
    "AlertDraft",
    "FeedPace",
    "FeedState",
    "ItemDraft",
    "MatchDraft",
    "MessageDraft",
    "OutboxAlert",
    "PollFailure",
    "PollSuccess",
    "RecordOutcome",
    "Store",
    "StoredMatch",
]
