"""A fast path for plain RSS and Atom: expat in C instead of feedparser's SAX handlers.

Why: feedparser spends most of its time in pure-Python SAX callbacks (about 20% of the
CPU of a steady ingestion pass). Here the C-accelerated ``xml.etree.ElementTree`` parses
the document, and a reduced copy of feedparser's element handling (``feedparser.mixin``
and ``feedparser.namespaces``, 6.0.x) reads the events into the same dictionaries
feedparser would have returned -- only the keys ``bot.feeds.parse`` reads. The caller
then shares everything after the XML reading with the feedparser path, so identities,
dates and text come out identical.

The copy is deliberately faithful, quirks included: the element stack with its orphaned
entries, the "title depth" and "property depth" rules, the summary/content swap,
``guidislink``, the author string heuristics, a leaking ``xml:base``, the mojibake and
cp1252 repairs. Anything it does not reproduce makes it decline: ``read_plain_xml``
returns ``None`` ("use feedparser"), which is always safe. It declines on

- anything but well-formed XML that is UTF-8 (or US-ASCII) for both expat and feedparser;
- any DOCTYPE or entity declaration (security: entities are never expanded; and
  feedparser rewrites those documents before parsing);
- a root other than RSS, RSS 1.0 (RDF) or Atom 1.0;
- elements feedparser handles that are not reproduced here (GeoRSS, Creative Commons,
  ``xhtml:body``, ...), Atom ``type="xhtml"`` or base64 text constructs, markup nested in
  an entry's title, summary or content, and a few odd namespace and attribute cases.

``tests/test_fastxml.py`` holds it to feedparser, item by item, over the real-2026 corpus.
"""

from __future__ import annotations

import calendar
import codecs
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import RE_XML_PI_ENCODING
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urifixer, _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict

__all__ = ["PlainFeed", "decline_reason", "read_plain_xml"]

Attrs = dict[str, str]
Context = dict[str, Any]


@dataclass(frozen=True)
class PlainFeed:
    """What feedparser would have returned, as far as ``bot.feeds.parse`` reads it."""

    feed: Context
    entries: list[Context]
    version: str


class _Decline(Exception):
    """Not sure to match feedparser here; the message says why."""


def read_plain_xml(body: bytes, content_type: str | None) -> PlainFeed | None:
    """``body`` read as feedparser would, or ``None`` when feedparser must do it.

    ``content_type`` is the response's Content-Type (only its charset matters).
    """
    try:
        return _read(body, content_type)
    except _Decline:
        return None


def decline_reason(body: bytes, content_type: str | None) -> str | None:
    """Why ``read_plain_xml`` leaves ``body`` to feedparser; ``None`` if it does not."""
    try:
        _read(body, content_type)
    except _Decline as decline:
        return str(decline)
    return None


def _read(body: bytes, content_type: str | None) -> PlainFeed:
    data = _plain_utf8(body, content_type)
    _refuse_declarations(data)
    reader = _Reader()
    try:
        parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start-ns", "start", "end"))
        parser.feed(data)
        parser.close()
        reader.run(parser.read_events())
        return reader.result()
    except ET.ParseError as exc:
        raise _Decline(f"not well-formed: {exc}") from exc
    except _Decline:
        raise
    except Exception as exc:  # feedparser may fail here too, or differ: let it decide
        raise _Decline(f"unexpected {type(exc).__name__}: {exc}") from exc


# -- the bytes: only what expat and feedparser both read as the same UTF-8 ---------------

_OTHER_BOMS = (
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF16_LE,
    b"\x4c\x6f\xa7\x94",  # "<?xm" in EBCDIC, then UTF-16 and UTF-32 without BOM
    b"\x00\x3c\x00\x3f",
    b"\x3c\x00\x3f\x00",
    b"\x00\x00\x00\x3c",
    b"\x3c\x00\x00\x00",
)
# The XML declaration as expat reads it (any whitespace, over several lines).
_XML_DECLARATION_START = re.compile(rb"<\?xml\s")
_XML_DECLARATION = re.compile(rb"<\?xml\s[^>]*\?>")
_DECLARED_VERSION = re.compile(rb"""\sversion\s*=\s*["']([^"']*)["']""")
_DECLARED_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([^"']*)["']""")


def _plain_utf8(body: bytes, content_type: str | None) -> bytes:
    """``body`` (without a UTF-8 byte-order mark) if both parsers decode it as UTF-8."""
    if body.startswith(codecs.BOM_UTF8):
        data = body[3:]  # feedparser strips it; expat would skip it
    elif body.startswith(_OTHER_BOMS):
        raise _Decline("byte-order mark or encoding other than UTF-8")
    else:
        data = body
    # feedparser (encodings.convert_to_utf8, under the application/xml that parse.py
    # hands it): the charset parameter, else its reading of the declaration, else UTF-8.
    match = RE_XML_PI_ENCODING.match(data)
    feedparser_declared = match.group(1).decode("utf-8", "replace").lower() if match else ""
    feedparser_encoding = _charset(content_type) or feedparser_declared or "utf-8"
    # expat: the declaration, else UTF-8.
    expat_encoding = "utf-8"
    if _XML_DECLARATION_START.match(data):
        declaration = _XML_DECLARATION.match(data)
        if declaration is None:
            raise _Decline("unusual XML declaration")
        version = _DECLARED_VERSION.search(declaration.group())
        if version is None or version.group(1) != b"1.0":
            raise _Decline("XML declaration without version 1.0")
        encoding = _DECLARED_ENCODING.search(declaration.group())
        if encoding is not None:
            expat_encoding = encoding.group(1).decode("ascii", "replace")
    kinds = {_codec(feedparser_encoding), _codec(expat_encoding)}
    if not kinds <= {"utf-8", "ascii"}:
        raise _Decline(f"encoding {feedparser_encoding!r} / {expat_encoding!r}")
    if not data.isascii():
        if "ascii" in kinds:
            raise _Decline("declared US-ASCII, but is not")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Decline("not valid UTF-8") from exc
    return data


def _charset(content_type: str | None) -> str:
    """The charset feedparser sees: parse.py passes it on, the last one given, unquoted."""
    charset = ""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return charset


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "unknown"


def _refuse_declarations(data: bytes) -> None:
    """Refuse a DOCTYPE (and so any entity declaration) before the root element.

    The prolog may hold only the XML declaration, processing instructions, comments,
    whitespace and a DOCTYPE; past the root's start expat rejects a DOCTYPE itself.
    feedparser rewrites the prolog's DOCTYPE and ENTITY text even inside comments, so
    those words anywhere in the prolog decline too.
    """
    position = 0
    while True:
        while data[position : position + 1] in (b" ", b"\t", b"\r", b"\n"):
            position += 1
        if data.startswith(b"<?", position):
            end = data.find(b"?>", position + 2)
            position = end + 2
        elif data.startswith(b"<!--", position):
            end = data.find(b"-->", position + 4)
            position = end + 3
        else:
            break
        if end < 0:
            raise _Decline("unterminated prolog")
    prolog = data[:position].upper()
    if data.startswith(b"<!", position) or b"DOCTYPE" in prolog or b"ENTITY" in prolog:
        raise _Decline("DOCTYPE or entity declaration")
    if not re.match(rb"<[A-Za-z_]", data[position : position + 2]):
        raise _Decline("no root element where expected")


# -- feedparser's element handling, reduced ----------------------------------------------

# feedparser's tables, so that a new namespace or handler there is seen here too.
_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_FEEDPARSER_HANDLERS = frozenset(
    name for name in dir(_FeedParserMixin) if name.startswith(("_start_", "_end_"))
)
_HTML_TYPES = frozenset(_FeedParserMixin.html_types)
_COPIED_TO_SUMMARY = _HTML_TYPES | {"text/plain"}
_RELATIVE_URI_ELEMENTS = frozenset(_FeedParserMixin.can_be_relative_uri)
_KEYMAP: dict[str, str | list[str]] = FeedParserDict.keymap
_URIFIXER: re.Pattern[str] = _urifixer
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
_map_content_type: Callable[[str], str] = _FeedParserMixin.map_content_type

_XLINK = "http://www.w3.org/1999/xlink"
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
_ROOT_VERSIONS = {"rss": "rss", "feed": "atom10", "rdf:rdf": "rss1"}  # a prefix of the version
_TEXTINPUT_TAGS = frozenset({"title", "link", "description", "name"})
_IMAGE_TAGS = frozenset({"title", "link", "description", "url", "href", "width", "height"})
# Keys that this module or parse.py reads; an unhandled element writing one is declined.
_GUARDED_KEYS = frozenset(
    """title title_detail link links id guidislink summary summary_detail content author
    author_detail authors published_parsed updated_parsed created_parsed language image
    textinput tags contributors publisher publisher_detail source href name email
    generator_detail media_thumbnail media_content media_credit media_rating
    media_restriction media_license media_player""".split()
)
_DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_AMP_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|"""
    r"""(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)


@dataclass(frozen=True)
class _PendingDate:
    """A date string, parsed only if parse.py will read it (feedparser parses every one)."""

    raw: str | None


@dataclass(frozen=True, slots=True)
class _Tag:
    """What feedparser makes of an element's tag, as long as the namespaces stay put."""

    name: str  # feedparser's element name: "prefix:local", lowercase
    key: str  # its handler suffix: "local" or "prefix_local" with feedparser's prefix
    start: Callable[[_Reader, Attrs], None] | None  # handlers reproduced here
    end: Callable[[_Reader], None] | None
    feedparser_start: bool  # feedparser has handlers for it
    feedparser_end: bool
    guarded: bool  # without a handler, feedparser would store it under a key read here
    unprefixed: bool
    keeps_textinput: bool
    keeps_image: bool


class _Reader:
    """One document's events, handled as feedparser's ``_FeedParserMixin`` would.

    Method names follow feedparser's (``_start_title``, ``_end_guid``, ...) so that each
    can be compared with its original; the handler tables below are built from them.
    """

    def __init__(self) -> None:
        self.version = ""
        self.feed: Context = {}
        self.entries: list[Context] = []
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.tags: dict[str, _Tag] = {}  # by ElementTree tag
        self.elementstack: list[tuple[str, Any, list[str]]] = []
        self.contentparams: Context = {}
        self.content_is_kept = True
        self.content_depth = 0
        self.depth = 0
        self.baseuri = ""
        self.basestack: list[str] = []
        self.base_cache: dict[tuple[str, str], str] = {}
        self.lang: str | None = None
        self.langstack: list[str | None] = []
        self.infeed = self.inentry = self.incontent = self.inimage = self.intextinput = 0
        self.inauthor = self.incontributor = self.inpublisher = self.insource = 0
        self.sourcedata: Context = {}
        self.summary_key: str | None = None
        self.title_depth = -1
        self.has_content = 0
        self.guidislink = False
        self.depths: dict[str, int] = {}  # feedparser's property_depth_map, this entry's
        self.children = 0  # element children of the element being started
        self.root: str | None = None

    # -- events ----------------------------------------------------------------------------

    def run(self, events: Any) -> None:
        open_tags: list[_Tag] = []
        stack = self.elementstack
        for event, payload in events:
            # SAX order: start, the text up to the first child, children each followed
            # by the text after it (its tail), end. Text goes to the innermost pushed element.
            if event == "start":
                open_tags.append(self.start_element(payload))
                if payload.text and stack:
                    stack[-1][2].append(payload.text)
            elif event == "end":
                self.end_element(payload.tag, open_tags.pop())
                if payload.tail and stack:
                    stack[-1][2].append(payload.tail)
            else:
                self.start_prefix_mapping(*payload)

    def start_prefix_mapping(self, prefix: str, uri: str) -> None:
        """``_StrictFeedParser.startPrefixMapping`` and ``track_namespace``."""
        if not uri:
            return
        if prefix and uri == _XLINK:
            raise _Decline("xlink namespace declaration")  # feedparser adds it as attribute
        loweruri = uri.lower()
        if not self.version:
            if not prefix and loweruri == "http://my.netscape.com/rdf/simple/0.9/":
                self.version = "rss090"
            elif loweruri == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif loweruri == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if "backend.userland.com/rss" in loweruri:
            uri = loweruri = "http://backend.userland.com/rss"
        if loweruri in _NAMESPACES:
            self.namespacemap[prefix or None] = _NAMESPACES[loweruri]
            self.namespaces_in_use[_NAMESPACES[loweruri]] = uri
        else:
            self.namespaces_in_use[prefix] = uri
        self.tags.clear()  # names and handlers may change with the namespaces

    def describe(self, tag: str) -> _Tag:
        """What feedparser makes of an ElementTree tag: ``startElementNS`` (expat, so no
        qualified names) then the prefix mapping and handler lookup of ``unknown_starttag``.
        """
        if tag[0] == "{":
            namespace, _, local = tag[1:].partition("}")
        else:
            namespace, local = "", tag
        lower = namespace.lower()
        if "backend.userland.com/rss" in lower:
            namespace = lower = "http://backend.userland.com/rss"
        prefix = _NAMESPACES.get(lower)
        name = local.lower()
        if prefix:
            name = prefix.lower() + ":" + name
        elif namespace:
            for doc_prefix, uri in self.namespaces_in_use.items():
                if doc_prefix and uri == namespace:
                    name = doc_prefix + ":" + name
                    break
        name = name.lower()
        prefix, suffix = name.split(":", 1) if ":" in name else ("", name)
        if suffix in ("svg", "math"):
            raise _Decline(f"<{name}> (feedparser declares its namespace itself)")
        prefix = self.namespacemap.get(prefix, prefix)
        key = prefix + "_" + suffix if prefix else suffix
        mapped = _KEYMAP.get(key, key)
        described = _Tag(
            name=name,
            key=key,
            start=_START.get("_start_" + key),
            end=_END.get("_end_" + key),
            feedparser_start="_start_" + key in _FEEDPARSER_HANDLERS,
            feedparser_end="_end_" + key in _FEEDPARSER_HANDLERS,
            guarded=(mapped[0] if isinstance(mapped, list) else mapped) in _GUARDED_KEYS,
            unprefixed=not prefix,
            keeps_textinput=suffix in _TEXTINPUT_TAGS,
            keeps_image=suffix in _IMAGE_TAGS,
        )
        self.tags[tag] = described
        return described

    def start_element(self, element: ET.Element) -> _Tag:
        """``startElementNS`` then ``unknown_starttag``."""
        tag = self.tags.get(element.tag) or self.describe(element.tag)
        if self.root is None:
            if tag.name not in _ROOT_VERSIONS:
                raise _Decline(f"root <{tag.name}> is not RSS or Atom")
            self.root = tag.name
        self.depth += 1
        # xml:base and xml:lang, as unknown_starttag tracks them
        if element.attrib:
            attrs = _attributes(element.attrib)
            base = attrs.get("xml:base", attrs.get("base")) or self.baseuri
            lang = attrs.get("xml:lang", attrs.get("lang"))
            if lang == "":
                lang = None
            elif lang is None:
                lang = self.lang
        else:
            attrs, base, lang = {}, self.baseuri, self.lang
        if base:
            self.baseuri = self._absolute_base(base)
        if lang and tag.name in ("feed", "rss", "rdf:RDF"):  # sic: names are lowercase
            self.feed["language"] = lang.replace("_", "-")
        self.lang = lang
        self.basestack.append(self.baseuri)
        self.langstack.append(lang)
        if self.incontent:
            # feedparser turns the text construct into XHTML and copies this markup in.
            if self.content_is_kept:
                raise _Decline(f"markup inside <{self.elementstack[-1][0]}>")
            return tag
        if tag.unprefixed:  # feedparser's "special hack" for empty textinput and image
            if not tag.keeps_textinput:
                self.intextinput = 0
            if not tag.keeps_image:
                self.inimage = 0
        if tag.start is not None:
            self.children = len(element)
            tag.start(self, attrs)
        elif tag.feedparser_start:
            raise _Decline(f"<{tag.name}> is not reproduced")
        elif tag.guarded:
            raise _Decline(f"<{tag.name}> has no handler and would overwrite {tag.key!r}")
        elif not attrs:
            self.push(tag.key, 1)
        else:
            self.context()  # feedparser stores the attributes under the key
        return tag

    def end_element(self, name: str, tag: _Tag) -> None:
        """``endElementNS`` then ``unknown_endtag``."""
        if (self.tags.get(name) or self.describe(name)).name != tag.name:
            raise _Decline(f"<{tag.name}> changed namespace prefix inside itself")
        if self.incontent and self.depth > self.content_depth:  # markup in a dropped text
            if tag.feedparser_end:
                raise _Decline(f"</{tag.name}> inside a text construct")
        elif tag.end is not None:
            tag.end(self)
        elif tag.feedparser_end:
            raise _Decline(f"</{tag.name}> is not reproduced")
        elif tag.key == "ttl":
            self.pop("ttl")
        else:
            self.discard(tag.key)
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]  # not reset to "": feedparser leaks it
        if self.langstack:
            self.langstack.pop()
            if self.langstack:
                self.lang = self.langstack[-1]
        self.depth -= 1

    def result(self) -> PlainFeed:
        expected = _ROOT_VERSIONS.get(self.root or "")
        if expected is None or not self.version.startswith(expected):
            raise _Decline(f"root <{self.root}> read as version {self.version!r}")
        for entry in self.entries:
            _settle_dates(entry)
        return PlainFeed(feed=self.feed, entries=self.entries, version=self.version)

    # -- feedparser's helpers --------------------------------------------------------------

    def _absolute_base(self, base: str) -> str:
        current = self.baseuri
        if not current:
            return str(_urljoin(current, base))
        key = (current, base)
        absolute = self.base_cache.get(key)
        if absolute is None:
            absolute = str(make_safe_absolute_uri(current, base) or current)
            self.base_cache[key] = absolute
        return absolute

    def resolve_uri(self, uri: str) -> str:
        if self.baseuri:
            return str(_urljoin(self.baseuri, uri))
        # _urljoin("", uri) without its re.sub: only "scheme:///x" loses slashes.
        fixed = _URIFIXER.match(uri)
        if fixed is not None and fixed.group(2):
            return uri[: fixed.start(2)] + uri[fixed.end(2) :]
        return uri

    def context(self) -> Context:
        """``_get_context``: where handlers save what they read."""
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feed:
            image: Context = self.feed["image"]
            return image
        if self.intextinput:
            textinput: Context = self.feed["textinput"]  # KeyError: feedparser fails too
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feed

    def push(self, element: str, expecting_text: Any) -> None:
        self.elementstack.append((element, expecting_text, []))

    def discard(self, element: str) -> bool:
        """``pop`` when its result is never read: only the stack is kept right."""
        if self.elementstack and self.elementstack[-1][0] == element:
            self.elementstack.pop()
            return True
        return False

    def pop(self, element: str) -> str | None:
        """feedparser's ``pop``: an element's text, cleaned up and saved where it belongs."""
        if not self.elementstack or self.elementstack[-1][0] != element:
            return None
        _, expecting_text, pieces = self.elementstack.pop()
        output = "".join(pieces).strip()
        if not expecting_text:
            return output
        params = self.contentparams
        if element in _RELATIVE_URI_ELEMENTS and output:
            if element != "id" or self.guidislink:
                output = self.resolve_uri(output)
        if not self.version.startswith("atom") and params.get("type") == "text/plain":
            if _looks_like_html(output):
                params["type"] = "text/html"
        if not output.isascii():
            try:  # feedparser's repair of UTF-8 that was read as ISO-8859-1
                output = output.encode("iso-8859-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
            if _C1_CONTROLS.search(output):  # and of C1 controls meant as cp1252
                output = output.translate(_cp1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", []).append({**params, "value": output})
            elif element == "link":
                if not self.inimage:
                    if "&" in output:  # feedparser undoes "&b;" for "&b" in query strings
                        output = _AMP_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                old_depth = self.depths.get(element)
                if old_depth is None or self.depth <= old_depth:
                    self.depths[element] = self.depth
                    entry[element] = output
                if self.incontent:
                    entry[element + "_detail"] = {**params, "value": output}
        elif self.infeed or self.insource:
            context = self.context()
            if element == "description":
                element = "subtitle"
            context[element] = output
            if element == "link":
                if "&" in output:
                    output = _AMP_ENTITY.sub(r"&\g<1>", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[element + "_detail"] = {**params, "value": output}
        return output

    def push_content(
        self, tag: str, attrs: Attrs, default_type: str, expecting_text: Any, *, kept: bool
    ) -> None:
        """``push_content``; ``kept`` is false for text constructs nothing reads."""
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        kind = _map_content_type(attrs.get("type", default_type))
        self.contentparams = {"type": kind, "language": self.lang, "base": self.baseuri}
        if kept:
            if attrs.get("mode", "") == "base64" or not (
                kind.startswith("text/") or kind.endswith(("+xml", "/xml"))
            ):
                raise _Decline(f"base64 <{tag}>")
            if kind == "application/xhtml+xml":
                raise _Decline(f"XHTML <{tag}>")
        self.content_is_kept = kept
        self.content_depth = self.depth
        self.push(tag, expecting_text)

    def pop_content(self, tag: str) -> str | None:
        value = None
        if self.content_is_kept:
            value = self.pop(tag)
        else:
            self.discard(tag)
        self.incontent -= 1
        self.contentparams = {}
        return value

    def save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self.context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def standard_prefix(self, name: str) -> str:
        prefix, colon, suffix = name.partition(":")
        if not colon:
            return name
        return self.namespacemap.get(prefix, prefix) + ":" + suffix

    def save_author(self, key: str, value: Any, prefix: str = "author") -> None:
        context = self.context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self.sync_author_detail()  # sic: the author's, whatever the prefix
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def save_contributor(self, key: str, value: Any) -> None:
        context = self.context()
        context.setdefault("contributors", [{}])
        context["contributors"][-1][key] = value

    def sync_author_detail(self, key: str = "author") -> None:
        context = self.context()
        detail = context.get(key + "s", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
            return
        author, email = context.get(key), None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(key + "_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def expecting_text(self) -> int:
        return self.infeed or self.inentry or self.insource

    def kept(self) -> bool:
        """Whether a description, summary or content here ends up in an entry."""
        return bool(self.inentry and not self.insource)

    # -- handlers (feedparser.namespaces._base and friends) --------------------------------

    def _start_rss(self, attrs: Attrs) -> None:
        if not self.version or not self.version.startswith("rss"):
            version = attrs.get("version", "")
            self.version = _RSS_VERSIONS.get(version) or (
                "rss20" if version.startswith("2.") else "rss"
            )

    def _start_channel(self, attrs: Attrs) -> None:
        self.infeed = 1
        self._cdf_common(attrs)

    def _cdf_common(self, attrs: Attrs) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise _Decline("CDF attributes")

    def _start_feed(self, attrs: Attrs) -> None:
        self.infeed = 1
        if not self.version:
            self.version = _ATOM_VERSIONS.get(attrs.get("version") or "") or "atom"

    def _end_channel(self) -> None:
        self.infeed = 0

    _end_feed = _end_channel

    def _start_image(self, attrs: Attrs) -> None:
        context = self.context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def _end_image(self) -> None:
        self.discard("image")
        self.inimage = 0

    def _start_textinput(self, attrs: Attrs) -> None:
        self.context().setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def _end_textinput(self) -> None:
        self.discard("textinput")
        self.intextinput = 0

    def _start_author(self, attrs: Attrs) -> None:
        self.inauthor = 1
        self.push("author", 1)
        self.context().setdefault("authors", []).append({})

    _start_managingeditor = _start_dc_author = _start_dc_creator = _start_author
    _start_itunes_author = _start_author

    def _end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self.sync_author_detail()

    _end_managingeditor = _end_dc_author = _end_dc_creator = _end_itunes_author = _end_author

    def _start_contributor(self, attrs: Attrs) -> None:
        self.incontributor = 1
        self.context().setdefault("contributors", []).append({})
        self.push("contributor", 0)

    def _end_contributor(self) -> None:
        self.discard("contributor")
        self.incontributor = 0

    def _start_dc_contributor(self, attrs: Attrs) -> None:
        self.incontributor = 1
        self.context().setdefault("contributors", []).append({})
        self.push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    def _start_name(self, attrs: Attrs) -> None:
        self.push("name", 0)

    _start_itunes_name = _start_name

    def _end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher:
            self.save_author("name", value, "publisher")
        elif self.inauthor:
            self.save_author("name", value)
        elif self.incontributor:
            self.save_contributor("name", value)
        elif self.intextinput:
            self.context()["name"] = value

    _end_itunes_name = _end_name

    def _start_width(self, attrs: Attrs) -> None:
        self.push("width", 0)

    def _end_width(self) -> None:
        if not self.discard("width"):
            raise _Decline("<width> out of place")  # feedparser: int(None)

    def _start_height(self, attrs: Attrs) -> None:
        self.push("height", 0)

    def _end_height(self) -> None:
        if not self.discard("height"):
            raise _Decline("<height> out of place")

    def _start_url(self, attrs: Attrs) -> None:
        self.push("href", 1)

    _start_homepage = _start_uri = _start_url

    def _end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self.save_author("href", value)
        elif self.incontributor:
            self.save_contributor("href", value)

    _end_homepage = _end_uri = _end_url

    def _start_email(self, attrs: Attrs) -> None:
        self.push("email", 0)

    _start_itunes_email = _start_email

    def _end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher:
            self.save_author("email", value, "publisher")
        elif self.inauthor:
            self.save_author("email", value)
        elif self.incontributor:
            self.save_contributor("email", value)

    _end_itunes_email = _end_email

    def _start_subtitle(self, attrs: Attrs) -> None:
        self.push_content("subtitle", attrs, "text/plain", 1, kept=False)

    _start_tagline = _start_itunes_subtitle = _start_subtitle

    def _end_subtitle(self) -> None:
        self.pop_content("subtitle")

    _end_tagline = _end_itunes_subtitle = _end_subtitle

    def _start_rights(self, attrs: Attrs) -> None:
        self.push_content("rights", attrs, "text/plain", 1, kept=False)

    _start_copyright = _start_dc_rights = _start_rights

    def _end_rights(self) -> None:
        self.pop_content("rights")

    _end_copyright = _end_dc_rights = _end_rights

    def _start_info(self, attrs: Attrs) -> None:
        self.push_content("info", attrs, "text/plain", 1, kept=False)

    _start_feedburner_browserfriendly = _start_info

    def _end_info(self) -> None:
        self.pop_content("info")

    _end_feedburner_browserfriendly = _end_info

    def _start_item(self, attrs: Attrs) -> None:
        self.entries.append({})
        self.depths = {}
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = False
        self.title_depth = -1
        about = attrs.get(self.standard_prefix("rdf:about"))
        if about:
            self.context()["id"] = about
        self._cdf_common(attrs)

    _start_entry = _start_item

    def _end_item(self) -> None:
        self.discard("item")
        self.inentry = 0
        self.has_content = 0

    _end_entry = _end_item

    def _start_language(self, attrs: Attrs) -> None:
        self.push("language", 1)

    _start_dc_language = _start_language

    def _end_language(self) -> None:
        self.lang = self.pop("language")

    _end_dc_language = _end_language

    def _start_webmaster(self, attrs: Attrs) -> None:
        self.push("publisher", 1)

    _start_dc_publisher = _start_webmaster

    def _end_webmaster(self) -> None:
        self.discard("publisher")  # and the publisher's details, which nothing reads

    _end_dc_publisher = _end_webmaster

    def _start_published(self, attrs: Attrs) -> None:
        self.push("published", 1)

    _start_issued = _start_pubdate = _start_dcterms_issued = _start_published

    def _end_published(self) -> None:
        self.save("published_parsed", _PendingDate(self.pop("published")), overwrite=True)

    _end_issued = _end_pubdate = _end_dcterms_issued = _end_published

    def _start_updated(self, attrs: Attrs) -> None:
        self.push("updated", 1)

    _start_modified = _start_lastbuilddate = _start_dc_date = _start_updated
    _start_dcterms_modified = _start_updated

    def _end_updated(self) -> None:
        self.save("updated_parsed", _PendingDate(self.pop("updated")), overwrite=True)

    _end_modified = _end_lastbuilddate = _end_dc_date = _end_dcterms_modified = _end_updated

    def _start_created(self, attrs: Attrs) -> None:
        self.push("created", 1)

    _start_dcterms_created = _start_created

    def _end_created(self) -> None:
        self.save("created_parsed", _PendingDate(self.pop("created")), overwrite=True)

    _end_dcterms_created = _end_created

    def _start_expirationdate(self, attrs: Attrs) -> None:
        self.push("expired", 1)

    def _end_expirationdate(self) -> None:
        self.discard("expired")

    def _start_category(self, attrs: Attrs) -> None:
        if self.children:
            raise _Decline("markup inside a category")  # could change the tags' context
        self.context()
        self.push("category", 1)

    _start_keywords = _start_dc_subject = _start_media_category = _start_category
    _start_itunes_category = _start_category

    def _end_category(self) -> None:
        self.discard("category")

    _end_keywords = _end_dc_subject = _end_media_category = _end_itunes_category = _end_category

    def _start_tags(self, attrs: Attrs) -> None:
        self.push("tags", 1)

    def _end_tags(self) -> None:
        self.discard("tags")

    def _end_media_keywords(self) -> None:
        self.discard("media_keywords")

    def _end_itunes_keywords(self) -> None:
        self.discard("itunes_keywords")

    def _end_itunes_block(self) -> None:
        self.discard("itunes_block")

    def _end_itunes_explicit(self) -> None:
        self.discard("itunes_explicit")

    def _start_cloud(self, attrs: Attrs) -> None:
        self.context()

    def _start_generator(self, attrs: Attrs) -> None:
        self.context()
        self.push("generator", 1)

    def _end_generator(self) -> None:
        self.discard("generator")

    def _start_admin_generatoragent(self, attrs: Attrs) -> None:
        self.context()  # feedparser pushes and pops a <generator> of its own

    _start_admin_errorreportsto = _start_admin_generatoragent

    def _start_link(self, attrs: Attrs) -> None:
        attrs.setdefault("rel", "alternate")
        if attrs["rel"] == "self":
            attrs.setdefault("type", "application/atom+xml")
        else:
            attrs.setdefault("type", "text/html")
        context = self.context()
        attrs = _enforce_href(attrs)
        if "href" in attrs:
            attrs["href"] = self.resolve_uri(attrs["href"])
        expecting_text = self.expecting_text()
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(attrs)
        if "href" in attrs:
            if attrs["rel"] == "alternate" and _map_content_type(attrs["type"]) in _HTML_TYPES:
                context["link"] = attrs["href"]
        else:
            self.push("link", expecting_text)

    def _end_link(self) -> None:
        self.pop("link")

    def _start_guid(self, attrs: Attrs) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        self.push("id", 1)

    _start_id = _start_guid

    def _end_guid(self) -> None:
        value = self.pop("id")
        self.save("guidislink", self.guidislink and "link" not in self.context())
        if self.guidislink:
            self.save("link", value)  # a permalink guid stands in for a missing <link>

    _end_id = _end_guid

    def _start_title(self, attrs: Attrs) -> None:
        self.push_content("title", attrs, "text/plain", self.expecting_text(), kept=True)

    _start_dc_title = _start_media_title = _start_title

    def _end_title(self) -> None:
        value = self.pop_content("title")
        if value:
            self.title_depth = self.depth

    _end_dc_title = _end_title

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_description(self, attrs: Attrs) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            self.push_content(
                "description", attrs, "text/html", self.expecting_text(), kept=self.kept()
            )

    _start_dc_description = _start_media_description = _start_description

    def _start_abstract(self, attrs: Attrs) -> None:
        self.push_content(
            "description", attrs, "text/plain", self.expecting_text(), kept=self.kept()
        )

    def _end_description(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content("description")
        self.summary_key = None

    _end_abstract = _end_dc_description = _end_media_description = _end_description

    def _start_summary(self, attrs: Attrs) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            self.summary_key = "summary"
            self.push_content("summary", attrs, "text/plain", 1, kept=self.kept())

    _start_itunes_summary = _start_summary

    def _end_summary(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content(self.summary_key or "summary")
        self.summary_key = None

    _end_itunes_summary = _end_summary

    def _start_enclosure(self, attrs: Attrs) -> None:
        attrs = _enforce_href(attrs)
        context = self.context()
        attrs["rel"] = "enclosure"
        context.setdefault("links", []).append(attrs)

    def _start_source(self, attrs: Attrs) -> None:
        if "url" in attrs:
            self.sourcedata["href"] = attrs["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        self.discard("source")
        self.context()
        self.sourcedata = {}

    def _start_content(self, attrs: Attrs) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/plain", 1, kept=self.kept())
        if attrs.get("src"):
            self.contentparams["src"] = attrs["src"]
        self.push("content", 1)  # sic: pushed twice, the first left behind

    def _start_content_encoded(self, attrs: Attrs) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/html", 1, kept=self.kept())

    _start_fullitem = _start_content_encoded

    def _end_content(self) -> None:
        copy_to_summary = self.contentparams.get("type") in _COPIED_TO_SUMMARY
        value = self.pop_content("content")
        if copy_to_summary:
            self.save("summary", value)

    _end_content_encoded = _end_fullitem = _end_content

    def _start_newlocation(self, attrs: Attrs) -> None:
        self.push("newlocation", 1)

    def _end_newlocation(self) -> None:
        self.discard("newlocation")

    def _start_media_group(self, attrs: Attrs) -> None:
        pass  # feedparser: "don't do anything, but don't break the enclosed tags either"

    def _start_media_content(self, attrs: Attrs) -> None:
        self.context()

    def _start_media_rating(self, attrs: Attrs) -> None:
        self.context()
        self.push("rating", 1)

    def _end_media_rating(self) -> None:
        self.discard("rating")

    def _start_media_credit(self, attrs: Attrs) -> None:
        self.context()
        self.push("credit", 1)

    def _end_media_credit(self) -> None:
        self.discard("credit")

    def _start_media_restriction(self, attrs: Attrs) -> None:
        self.context()
        self.push("restriction", 1)

    def _end_media_restriction(self) -> None:
        self.discard("restriction")

    def _start_media_license(self, attrs: Attrs) -> None:
        self.context()
        self.push("license", 1)

    def _end_media_license(self) -> None:
        self.discard("license")

    def _start_media_thumbnail(self, attrs: Attrs) -> None:
        self.context()
        self.push("url", 1)

    def _end_media_thumbnail(self) -> None:
        self.discard("url")

    def _start_media_player(self, attrs: Attrs) -> None:
        self.push("media_player", 0)
        self.context()

    def _end_media_player(self) -> None:
        self.discard("media_player")

    def _start_itunes_image(self, attrs: Attrs) -> None:
        self.push("itunes_image", 0)
        href = attrs.get("href") or attrs.get("url")
        if href:
            self.context()["image"] = {"href": href}

    _start_itunes_link = _start_itunes_image

    def _start_itunes_owner(self, attrs: Attrs) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self.discard("publisher")
        self.inpublisher = 0

    def _start_georss_point(self, attrs: Attrs) -> None:
        self.push("geometry", 0)
        self.context()

    _start_georss_line = _start_georss_polygon = _start_georss_box = _start_georss_point
    _start_georssgeom = _start_georss_point

    def _end_georss_point(self) -> None:
        self.discard("geometry")  # the geometry, which nothing reads

    _end_georss_line = _end_georss_polygon = _end_georss_box = _end_georss_point

    def _start_where(self, attrs: Attrs) -> None:
        self.push("where", 0)
        self.context()

    _start_georss_where = _start_where

    def _end_where(self) -> None:
        self.discard("where")

    _end_georss_where = _end_where

    def _start_dcterms_valid(self, attrs: Attrs) -> None:
        self.push("validity", 1)

    def _end_dcterms_valid(self) -> None:
        self.discard("validity")


_START: dict[str, Callable[[_Reader, Attrs], None]] = {
    name: getattr(_Reader, name) for name in dir(_Reader) if name.startswith("_start_")
}
_END: dict[str, Callable[[_Reader], None]] = {
    name: getattr(_Reader, name) for name in dir(_Reader) if name.startswith("_end_")
}


def _attributes(attrib: dict[str, str]) -> Attrs:
    """Attributes as ``_StrictFeedParser.startElementNS`` and ``unknown_starttag`` give them.

    Namespaced ones appear twice: with their standard prefix (``xml:lang``) and bare
    (``lang``), as expat reports no qualified names.
    """
    attrs: Attrs = {}
    bare: list[tuple[str, str]] = []
    for key, value in attrib.items():
        if key[0] == "{":
            uri, _, local = key[1:].partition("}")
            prefix = _NAMESPACES.get(uri.lower(), "")
            attrs[(prefix + ":" + local if prefix else local).lower()] = value
            bare.append((local.lower(), value))
        else:
            attrs[key.lower()] = value
            bare.append((key.lower(), value))
    if len({name for name, _ in bare}) != len(bare):
        raise _Decline("attributes whose local names clash")
    for name, value in bare:
        attrs[name] = value
    for name in ("rel", "type"):
        if name in attrs:
            attrs[name] = attrs[name].lower()
    return attrs


def _enforce_href(attrs: Attrs) -> Attrs:
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def _settle_dates(entry: Context) -> None:
    """Parse the dates parse.py will read: published, else updated, else created."""
    for position, key in enumerate(_DATE_KEYS):
        pending = entry.get(key)
        if not isinstance(pending, _PendingDate):
            continue
        parsed = parse_date(pending.raw)
        entry[key] = parsed
        if _usable(parsed):
            for later in _DATE_KEYS[position + 1 :]:
                entry.pop(later, None)
            return


# The two shapes nearly every feed date takes, in the strict forms for which feedparser's
# answer is known without running its handlers one after another (tests/test_fastxml.py
# compares with feedparser): RFC 822 with a numeric or GMT zone, which its W3DTF handler
# (tried first) rejects and its RFC 822 handler reads; RFC 3339, which the W3DTF handler
# reads, dropping fractions of a second.
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun), +)?(\d{1,2}) "
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (\d{4}) (\d\d):(\d\d):(\d\d) "
    r"(?:gmt|utc|ut|z|([+-])(\d\d)(\d\d))",
    re.IGNORECASE,
)
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d{1,6})?(?:[Zz]|([+-])(\d\d):(\d\d))"
)
_MONTHS = {
    name: number
    for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)
}


def parse_date(raw: str | None) -> Any:
    """``feedparser.datetimes._parse_date(raw)``: a UTC ``struct_time`` or ``None``."""
    match = _RFC822.fullmatch(raw) if raw else None
    if match is not None:
        day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
        month_number = _MONTHS[month.lower()]
    else:
        match = _RFC3339.fullmatch(raw) if raw else None
        if match is None:
            return _parse_date(raw)
        year, month, day, hour, minute, second, sign, zone_h, zone_m = match.groups()
        month_number = int(month)
    try:
        stamp = datetime(int(year), month_number, int(day), int(hour), int(minute), int(second))
        offset = timedelta(hours=int(zone_h or 0), minutes=int(zone_m or 0))
        return (stamp + offset if sign == "-" else stamp - offset).utctimetuple()
    except (OverflowError, ValueError):
        return _parse_date(raw)  # feedparser's handler gives up on it; later ones may not


def _usable(value: Any) -> bool:
    """Whether parse.py's ``_from_struct_time`` turns ``value`` into a datetime."""
    if not isinstance(value, time.struct_time):
        return False
    try:
        datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return True
