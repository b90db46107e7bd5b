"""The shape every feed format is read into, and how its entries become items.

Each format reader (``bot.feeds.parse`` for RSS and Atom, ``bot.feeds.jsonfeed``
for JSON Feed) turns its raw entries into ``Entry`` values; ``collect_items``
settles them the same way for both: a stable identity, a date (estimated as
"now" when the feed gives none), first-seen wins among repeats, and one bad
entry skipped with a warning rather than sinking the feed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.items import Item

# Named for the parser, as before the split, so log configuration keeps matching it.
log = logging.getLogger("bot.feeds.parse")

FUTURE_TOLERANCE = timedelta(days=1)
MAX_WARNINGS = 20


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its own title and link, its entries as items, and what went wrong."""

    title: str | None
    link: str | None
    items: tuple[Item, ...]
    warnings: tuple[str, ...]
    # RSS <ttl>, in seconds: how long the publisher says the feed may be cached.
    ttl: float | None = None


@dataclass(frozen=True)
class Entry:
    """An entry read from either format, before identity and dates are settled."""

    id: str | None
    title: str
    summary: str
    content: str
    link: str | None
    published: datetime | None
    author: str | None
    language: str | None


class SkipEntry(Exception):
    """This entry cannot become an item; the message says why."""


class Warnings:
    """Collects warnings, capped so a feed of broken entries stays readable."""

    def __init__(self) -> None:
        self._messages: list[str] = []
        self._dropped = 0

    def add(self, message: str) -> None:
        if len(self._messages) < MAX_WARNINGS:
            self._messages.append(message)
        else:
            self._dropped += 1

    def result(self) -> tuple[str, ...]:
        if self._dropped:
            return (*self._messages, f"... and {self._dropped} more warnings")
        return tuple(self._messages)


def collect_items(
    entries: list[Any],
    read_entry: Callable[[Any], Entry],
    *,
    url: str,
    now: datetime,
    warnings: Warnings,
) -> tuple[Item, ...]:
    """Items for ``entries`` (raw, read by ``read_entry``), in feed order, repeats dropped."""
    items: list[Item] = []
    seen: set[str] = set()
    repeats = 0
    for index, raw in enumerate(entries, start=1):
        try:
            item = _to_item(read_entry(raw), now=now, warnings=warnings)
        except SkipEntry as skip:
            warnings.add(f"entry {index} skipped: {skip}")
            continue
        except Exception as exc:  # one bad entry must not sink the feed
            log.warning("parse.entry_failed feed=%s entry=%d", url, index, exc_info=True)
            warnings.add(f"entry {index} skipped: {type(exc).__name__}: {exc}")
            continue
        if item.identity in seen:
            repeats += 1  # feeds do list one story several times; keep the first
            continue
        seen.add(item.identity)
        items.append(item)
    if repeats:
        noun = "entry that repeats" if repeats == 1 else "entries that repeat"
        warnings.add(f"skipped {repeats} {noun} an earlier identity")
    return tuple(items)


def _to_item(entry: Entry, *, now: datetime, warnings: Warnings) -> Item:
    if not (entry.title or entry.link or entry.summary or entry.content):
        raise SkipEntry("no title, link or content")
    content = "" if entry.content == entry.summary else entry.content
    identity = entry.id or entry.link or _hash_identity(entry)
    published, estimated = entry.published, False
    if published is None:
        published, estimated = now, True
    elif published > now + FUTURE_TOLERANCE:
        warnings.add(f"entry {identity}: date {published.isoformat()} is in the future")
    return Item(
        identity=identity,
        title=entry.title,
        summary=entry.summary,
        content=content,
        link=entry.link,
        published=published,
        published_estimated=estimated,
        author=entry.author,
        language=entry.language,
    )


def _hash_identity(entry: Entry) -> str:
    # Only the feed's own date goes in: an estimated date would change every poll.
    date = entry.published.isoformat() if entry.published else ""
    basis = entry.title or entry.summary or entry.content
    return "sha256:" + hashlib.sha256((basis + date).encode("utf-8")).hexdigest()


# -- links -------------------------------------------------------------------------------


def is_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def http_link(href: Any, base: str | None) -> str | None:
    """``href`` made absolute against ``base``; ``None`` unless it is http(s)."""
    if not isinstance(href, str) or not href.strip():
        return None
    try:
        absolute = urljoin(base, href.strip()) if base else href.strip()
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute
