"""Parse a fetched feed document into ``Item`` values.

RSS 0.9x/1.0/2.0 and Atom go through feedparser (on the bytes we fetched, never
through feedparser's own HTTP); JSON Feed 1.0/1.1, which feedparser does not
read, is mapped in ``bot.feeds.jsonfeed``. Either way each entry is normalised
the same way (``bot.feeds.entries``): a stable identity, plain text (HTML
stripped, ``bot.feeds.text``), an absolute http(s) link, and a timezone-aware
UTC date.

feedparser's pure-Python SAX handlers are slow, so well-formed UTF-8 RSS and Atom
are first read by ``bot.feeds.fastxml`` (expat in C, feedparser's element handling
copied) into the same dictionaries feedparser returns; everything after that reading
is shared. Whenever the fast path is not sure to match feedparser it declines and
feedparser reads the document; tests/test_fastxml.py compares both on real feeds.

Failures, in the manner of lemon24/reader:

- a document that is not a feed (an HTML page, XML with nothing usable, an empty
  body) raises ``FeedError(url, "not a feed: ...")``;
- a malformed document from which entries could still be read keeps them and
  reports a warning; survivable encoding issues are only warnings;
- one bad entry is skipped with a warning, not the whole feed.

feedparser's HTML sanitising is switched off: it protects HTML that will be
rendered, and we render none (everything becomes plain text here, with scripts
and styles dropped), while it triples the parse time.
"""

from __future__ import annotations

import calendar
import io
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.errors import FeedError
from bot.feeds.entries import (
    Entry,
    ParsedFeed,
    Warnings,
    collect_items,
    http_link,
    is_http,
)
from bot.feeds.fastxml import read_plain_xml
from bot.feeds.jsonfeed import is_json, parse_json_feed
from bot.feeds.text import clean, html_to_text, plain_text, single_line

__all__ = ["ParsedFeed", "html_to_text", "parse_feed"]

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def parse_feed(
    body: bytes, *, url: str, now: datetime, content_type: str | None = None
) -> ParsedFeed:
    """Parse ``body`` fetched from ``url``; raises ``FeedError`` when it is not a feed.

    ``now`` (timezone-aware) dates the entries that carry no date of their own.
    ``content_type`` is the response's Content-Type; its charset decides the
    encoding when given.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    if is_json(body, content_type):
        return parse_json_feed(body, url=url, now=now)
    return _parse_xml_feed(body, url=url, now=now, content_type=content_type)


# -- RSS and Atom: a fast path, else feedparser ------------------------------------------


def _parse_xml_feed(
    body: bytes, *, url: str, now: datetime, content_type: str | None
) -> ParsedFeed:
    plain = read_plain_xml(body, content_type)
    if plain is not None:  # feedparser's result, read faster; never malformed
        return _to_parsed_feed(plain.feed, plain.entries, Warnings(), url=url, now=now)
    return _parse_with_feedparser(body, url=url, now=now, content_type=content_type)


def _parse_with_feedparser(
    body: bytes, *, url: str, now: datetime, content_type: str | None
) -> ParsedFeed:
    # No content-location: given a base, feedparser also "resolves" guids that are not
    # URLs ("1234" -> "https://host/1234"), and identities would change with the feed
    # URL. Relative links are made absolute against ``url`` in ``http_link`` instead.
    headers = {"content-type": _xml_content_type(content_type)}
    try:
        # A file object, not bytes: given bytes, feedparser first tries them as a file name.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser promises not to raise; translate if it does
        raise FeedError(url, f"not a feed: parser failed: {type(exc).__name__}: {exc}") from exc

    entries: list[Any] = list(parsed.get("entries") or [])
    version: str = parsed.get("version") or ""
    warnings = Warnings()
    if not entries:
        if _looks_like_html(body) and version == "":
            raise FeedError(url, "not a feed: got an HTML page")
        if not body.strip():
            raise FeedError(url, "not a feed: empty document")
    if parsed.get("bozo"):
        problem = _bozo_reason(parsed.get("bozo_exception"))
        survivable = isinstance(
            parsed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe
        )
        if not entries and not (survivable and version):
            raise FeedError(url, f"not a feed: {problem}")
        if survivable:
            warnings.add(problem)
        else:
            warnings.add(f"feed is not well-formed, kept {len(entries)} entries: {problem}")
    if not entries and not version:
        raise FeedError(url, "not a feed: no RSS, Atom or JSON Feed found")
    return _to_parsed_feed(parsed.get("feed") or {}, entries, warnings, url=url, now=now)


def _to_parsed_feed(
    feed: Any, entries: list[Any], warnings: Warnings, *, url: str, now: datetime
) -> ParsedFeed:
    """The feed and entries as feedparser returns them (or ``fastxml`` reads them)."""
    base = url if is_http(url) else None
    feed_language = clean(feed.get("language"))

    def read_entry(entry: Any) -> Entry:
        return _read_xml_entry(entry, base=base, feed_language=feed_language)

    items = collect_items(entries, read_entry, url=url, now=now, warnings=warnings)
    return ParsedFeed(
        title=single_line(_detail_text(feed.get("title"), feed.get("title_detail"))) or None,
        link=http_link(feed.get("link"), base),
        items=items,
        warnings=warnings.result(),
        ttl=_ttl_seconds(feed.get("ttl")),
    )


def _ttl_seconds(value: Any) -> float | None:
    """RSS ``<ttl>`` (minutes) in seconds; nonsense (``"abc"``, ``0``, ``-5``) is no hint."""
    text = clean(value) or ""
    if not text.isdigit() or int(text) <= 0:
        return None
    return min(int(text), 10**6) * 60.0


def _read_xml_entry(entry: Any, *, base: str | None, feed_language: str | None) -> Entry:
    title = single_line(_detail_text(entry.get("title"), entry.get("title_detail")))
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    raw_summary = entry.get("summary")
    # feedparser copies content into a missing summary, without its type.
    summary_detail = entry.get("summary_detail") or next(
        (c for c in contents if c["value"] == raw_summary), {"type": "text/html"}
    )
    summary = _detail_text(raw_summary, summary_detail)
    content = ""
    if contents:
        longest = max(contents, key=lambda c: len(c["value"]))
        content = _detail_text(longest["value"], longest)
    # With no <link>, feedparser offers the guid as the link; a guid is a link only if
    # it is an absolute URL (publishers leave isPermaLink="true" on "1234" all the time).
    link = http_link(entry.get("link"), None if entry.get("guidislink") else base)
    if link is None:
        for candidate in entry.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate":
                link = http_link(candidate.get("href"), base)
                if link:
                    break
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own get() answers a missing updated_parsed with
        # published_parsed and a DeprecationWarning (an error under -W error).
        published = _from_struct_time(dict.get(entry, key))
        if published is not None:
            break
    author_detail = entry.get("author_detail") or {}
    author = single_line(author_detail.get("name") or entry.get("author") or "") or None
    language = None
    for detail in (*contents[:1], entry.get("summary_detail"), entry.get("title_detail")):
        if detail and detail.get("language"):
            language = clean(detail["language"])
            break
    return Entry(
        id=clean(entry.get("id")),
        title=title,
        summary=summary,
        content=content,
        link=link,
        published=published,
        author=author,
        language=language or feed_language,
    )


def _xml_content_type(content_type: str | None) -> str:
    """The Content-Type to hand feedparser: always an XML type, the charset kept.

    feedparser follows RFC 3023, where ``text/xml`` without a charset means
    US-ASCII and a non-XML type is an error; RFC 7303 replaced that, and servers
    send both all the time. Keeping only the charset lets the XML declaration and
    byte-order mark decide otherwise, without a warning on every poll.
    """
    charset = None
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return f"application/xml; charset={charset}" if charset else "application/xml"


def _bozo_reason(exc: Any) -> str:
    if exc is None:
        return "malformed document"
    text = str(exc).strip() or type(exc).__name__
    # SAX reports "<unknown>:LINE:COLUMN: message".
    match = re.match(r"^<unknown>:(\d+):(\d+): (.*)$", text, re.DOTALL)
    if match:
        return f"line {match[1]}, column {match[2]}: {match[3]}"
    return text


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head


def _from_struct_time(value: Any) -> datetime | None:
    """feedparser's ``*_parsed`` values are UTC ``struct_time``; out-of-range ones are dropped."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _detail_text(value: Any, detail: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    kind = (detail or {}).get("type") or "text/plain"
    if kind in _HTML_TYPES:
        return html_to_text(value)
    return plain_text(value)
