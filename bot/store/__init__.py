"""Persistence: SQLModel tables inside, plain records outside."""

from bot.store.records import (
    AlertDraft,
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
    "AlertDraft",
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
