"""The plain data a feed entry becomes once parsed.

``Item`` is what crosses from the feed adapters into the pure core (matching,
rendering) and into the store. It is frozen, carries only text and UTC
datetimes, and knows nothing of feedparser or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One normalised feed entry.

    ``identity`` is stable across polls of the same feed: the entry id, else its
    link, else a hash of title and date. ``published`` is timezone-aware UTC; when
    the feed gave no date it is the time we first saw the entry and
    ``published_estimated`` is true.
    """

    identity: str
    title: str
    summary: str = ""
    content: str = ""
    link: str | None = None
    published: datetime | None = None
    published_estimated: bool = False
    author: str | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        """Everything a claim can match against, title first."""
        return "\n".join(part for part in (self.title, self.summary, self.content) if part)
