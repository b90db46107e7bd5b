"""JSON Feed 1.0 and 1.1, mapped from ``json`` (feedparser does not read them).

``parse_json_feed`` reads the document into ``Entry`` values and leaves the
rest to ``bot.feeds.entries``, exactly as the RSS/Atom path does. Publishers
stray from the spec in predictable ways, and those are accepted: numeric ids,
a missing version (a warning), dates without a time zone (taken as UTC).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.errors import FeedError
from bot.feeds.entries import (
    Entry,
    ParsedFeed,
    SkipEntry,
    Warnings,
    collect_items,
    http_link,
    is_http,
)
from bot.feeds.text import clean, html_to_text, plain_text, single_line

_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"


def is_json(body: bytes, content_type: str | None) -> bool:
    """Whether ``body`` is JSON: its first character decides, else the Content-Type."""
    head = body[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return True
    if head.startswith(b"<"):
        return False
    media = (content_type or "").split(";")[0].strip().lower()
    return media in _JSON_TYPES or media.endswith("+json")


def parse_json_feed(body: bytes, *, url: str, now: datetime) -> ParsedFeed:
    """Parse a JSON Feed fetched from ``url``; ``now`` is UTC. ``FeedError`` if it is not one."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise FeedError(url, f"not a feed: invalid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise FeedError(url, "not a feed: JSON without a JSON Feed 'items' list")
    warnings = Warnings()
    version = doc.get("version")
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_VERSION)):
        warnings.add(f"JSON Feed without a known version: {version!r}")
    base = (url if is_http(url) else None) or http_link(doc.get("feed_url"), None)
    home = http_link(doc.get("home_page_url"), base)
    feed_language = clean(doc.get("language"))
    feed_author = _json_author(doc)

    def read_entry(item: Any) -> Entry:
        if not isinstance(item, dict):
            raise SkipEntry(f"not a JSON object: {type(item).__name__}")
        return _read_json_item(
            item, base=base or home, feed_language=feed_language, feed_author=feed_author
        )

    items = collect_items(doc["items"], read_entry, url=url, now=now, warnings=warnings)
    return ParsedFeed(
        title=single_line(plain_text(_json_str(doc.get("title")))) or None,
        link=home,
        items=items,
        warnings=warnings.result(),
    )


def _read_json_item(
    item: dict[str, Any],
    *,
    base: str | None,
    feed_language: str | None,
    feed_author: str | None,
) -> Entry:
    raw_id = item.get("id")
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # JSON Feed 1.0 publishers often send numbers
    link = http_link(_json_str(item.get("url")), base) or http_link(
        _json_str(item.get("external_url")), base
    )
    contents = [
        html_to_text(_json_str(item.get("content_html"))),
        plain_text(_json_str(item.get("content_text"))),
    ]
    published = None
    for key in ("date_published", "date_modified"):
        published = _parse_rfc3339(item.get(key))
        if published is not None:
            break
    return Entry(
        id=clean(raw_id),
        title=single_line(plain_text(_json_str(item.get("title")))),
        summary=plain_text(_json_str(item.get("summary"))),
        content=max(contents, key=len),
        link=link,
        published=published,
        author=_json_author(item) or feed_author,
        language=clean(item.get("language")) or feed_language,
    )


def _json_author(obj: dict[str, Any]) -> str | None:
    """JSON Feed 1.1 ``authors`` (a list), else 1.0 ``author`` (an object)."""
    candidates = obj.get("authors")
    if not isinstance(candidates, list):
        candidates = [obj.get("author")]
    names = [
        single_line(c["name"])
        for c in candidates
        if isinstance(c, dict) and isinstance(c.get("name"), str)
    ]
    return ", ".join(n for n in names if n) or None


def _json_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parse_rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
