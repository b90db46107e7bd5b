"""Parse a fetched feed document into ``Item`` values.

RSS 0.9x/1.0/2.0 and Atom go through feedparser (on the bytes we fetched, never
through feedparser's own HTTP); JSON Feed 1.0/1.1, which feedparser does not
read, is mapped here from ``json``. Either way each entry is normalised the same
way: a stable identity, plain text (HTML stripped), an absolute http(s) link,
and a timezone-aware UTC date.

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
import hashlib
import io
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.errors import FeedError
from bot.items import Item

log = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(days=1)
MAX_WARNINGS = 20

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its own title and link, its entries as items, and what went wrong."""

    title: str | None
    link: str | None
    items: tuple[Item, ...]
    warnings: tuple[str, ...]


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
    if _is_json(body, content_type):
        return _parse_json_feed(body, url=url, now=now)
    return _parse_xml_feed(body, url=url, now=now, content_type=content_type)


# -- the shape both formats are read into ------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """An entry read from either format, before identity and dates are settled."""

    id: str | None
    title: str
    summary: str
    content: str
    link: str | None
    published: datetime | None
    author: str | None
    language: str | None


class _SkipEntry(Exception):
    """This entry cannot become an item; the message says why."""


class _Warnings:
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


def _collect_items(
    entries: list[Any],
    read_entry: Callable[[Any], _Entry],
    *,
    url: str,
    now: datetime,
    warnings: _Warnings,
) -> tuple[Item, ...]:
    items: list[Item] = []
    seen: set[str] = set()
    repeats = 0
    for index, raw in enumerate(entries, start=1):
        try:
            item = _to_item(read_entry(raw), now=now, warnings=warnings)
        except _SkipEntry as skip:
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


def _to_item(entry: _Entry, *, now: datetime, warnings: _Warnings) -> Item:
    if not (entry.title or entry.link or entry.summary or entry.content):
        raise _SkipEntry("no title, link or content")
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


def _hash_identity(entry: _Entry) -> str:
    # Only the feed's own date goes in: an estimated date would change every poll.
    date = entry.published.isoformat() if entry.published else ""
    basis = entry.title or entry.summary or entry.content
    return "sha256:" + hashlib.sha256((basis + date).encode("utf-8")).hexdigest()


# -- RSS and Atom, through feedparser ----------------------------------------------------


def _parse_xml_feed(
    body: bytes, *, url: str, now: datetime, content_type: str | None
) -> ParsedFeed:
    # No content-location: given a base, feedparser also "resolves" guids that are not
    # URLs ("1234" -> "https://host/1234"), and identities would change with the feed
    # URL. Relative links are made absolute against ``url`` in ``_http_link`` instead.
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
    warnings = _Warnings()
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

    feed = parsed.get("feed") or {}
    base = url if _is_http(url) else None
    feed_language = _clean(feed.get("language"))

    def read_entry(entry: Any) -> _Entry:
        return _read_xml_entry(entry, base=base, feed_language=feed_language)

    items = _collect_items(entries, read_entry, url=url, now=now, warnings=warnings)
    return ParsedFeed(
        title=_single_line(_detail_text(feed.get("title"), feed.get("title_detail"))) or None,
        link=_http_link(feed.get("link"), base),
        items=items,
        warnings=warnings.result(),
    )


def _read_xml_entry(entry: Any, *, base: str | None, feed_language: str | None) -> _Entry:
    title = _single_line(_detail_text(entry.get("title"), entry.get("title_detail")))
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
    link = _http_link(entry.get("link"), None if entry.get("guidislink") else base)
    if link is None:
        for candidate in entry.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate":
                link = _http_link(candidate.get("href"), base)
                if link:
                    break
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _from_struct_time(entry.get(key))
        if published is not None:
            break
    author_detail = entry.get("author_detail") or {}
    author = _single_line(author_detail.get("name") or entry.get("author") or "") or None
    language = None
    for detail in (*contents[:1], entry.get("summary_detail"), entry.get("title_detail")):
        if detail and detail.get("language"):
            language = _clean(detail["language"])
            break
    return _Entry(
        id=_clean(entry.get("id")),
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
    return _plain_text(value)


# -- JSON Feed ---------------------------------------------------------------------------


def _is_json(body: bytes, content_type: str | None) -> bool:
    head = body[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return True
    if head.startswith(b"<"):
        return False
    media = (content_type or "").split(";")[0].strip().lower()
    return media in _JSON_TYPES or media.endswith("+json")


def _parse_json_feed(body: bytes, *, url: str, now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise FeedError(url, f"not a feed: invalid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise FeedError(url, "not a feed: JSON without a JSON Feed 'items' list")
    warnings = _Warnings()
    version = doc.get("version")
    if not (isinstance(version, str) and version.startswith(_JSON_FEED_VERSION)):
        warnings.add(f"JSON Feed without a known version: {version!r}")
    base = (url if _is_http(url) else None) or _http_link(doc.get("feed_url"), None)
    home = _http_link(doc.get("home_page_url"), base)
    feed_language = _clean(doc.get("language"))
    feed_author = _json_author(doc)

    def read_entry(item: Any) -> _Entry:
        if not isinstance(item, dict):
            raise _SkipEntry(f"not a JSON object: {type(item).__name__}")
        return _read_json_item(
            item, base=base or home, feed_language=feed_language, feed_author=feed_author
        )

    items = _collect_items(doc["items"], read_entry, url=url, now=now, warnings=warnings)
    return ParsedFeed(
        title=_single_line(_plain_text(_json_str(doc.get("title")))) or None,
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
) -> _Entry:
    raw_id = item.get("id")
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)  # JSON Feed 1.0 publishers often send numbers
    link = _http_link(_json_str(item.get("url")), base) or _http_link(
        _json_str(item.get("external_url")), base
    )
    contents = [
        html_to_text(_json_str(item.get("content_html"))),
        _plain_text(_json_str(item.get("content_text"))),
    ]
    published = None
    for key in ("date_published", "date_modified"):
        published = _parse_rfc3339(item.get(key))
        if published is not None:
            break
    return _Entry(
        id=_clean(raw_id),
        title=_single_line(_plain_text(_json_str(item.get("title")))),
        summary=_plain_text(_json_str(item.get("summary"))),
        content=max(contents, key=len),
        link=link,
        published=published,
        author=_json_author(item) or feed_author,
        language=_clean(item.get("language")) or feed_language,
    )


def _json_author(obj: dict[str, Any]) -> str | None:
    """JSON Feed 1.1 ``authors`` (a list), else 1.0 ``author`` (an object)."""
    candidates = obj.get("authors")
    if not isinstance(candidates, list):
        candidates = [obj.get("author")]
    names = [
        _single_line(c["name"])
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


# -- text --------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    """address article aside blockquote br caption dd details dialog div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section
    summary table tbody thead tfoot tr ul""".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_DROPPED_TAGS = frozenset(
    {"script", "style", "template", "noscript", "svg", "math", "iframe", "object", "head"}
)
# "<!channel>" is not markup anyone meant; to html.parser it is a bogus comment and would
# vanish. Escape every "<!" that does not open a comment, CDATA section or doctype.
_BOGUS_DECLARATION = re.compile(r"<!(?!--|\[|doctype)", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self._dropping += 1
        else:
            self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _DROPPED_TAGS:
            self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self._dropping = max(0, self._dropping - 1)
        else:
            self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data.replace("\r", " ").replace("\n", " "))

    def _break(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in _CELL_TAGS:
            self.parts.append(" ")


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment.

    Block elements become line breaks, table cells spaces; script, style and
    similar are dropped; entities are decoded; whitespace is collapsed within
    lines and empty lines are removed.
    """
    if "<" not in fragment and "&" not in fragment:
        return _single_line(fragment)  # no markup: one block, newlines are just spaces
    extractor = _TextExtractor()
    try:
        extractor.feed(_BOGUS_DECLARATION.sub("&lt;!", fragment))
        extractor.close()
        text = "".join(extractor.parts)
    except AssertionError:  # html.parser gives up on some malformed declarations
        text = unescape(re.sub(r"<[^>]*>", " ", fragment))
    return _plain_text(text)


def _plain_text(text: str) -> str:
    """Whitespace collapsed within lines; empty lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _single_line(text: str) -> str:
    return " ".join(text.split())


def _clean(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _http_link(href: Any, base: str | None) -> str | None:
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
