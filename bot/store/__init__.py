"""Persistence: SQLModel tables inside, plain records outside."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from bot.store.store import Store


def __getattr__(name: str) -> Any:
    """``Store`` imported on first use: a parser process that builds drafts from
    ``bot.store.records`` must not load SQLAlchemy with this package."""
    if name == "Store":
        from bot.store.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
