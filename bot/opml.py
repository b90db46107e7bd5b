"""OPML 1.0/2.0 subscription lists: read the feeds out of one, write one from ours.

Pure: bytes or text in, plain data out; the caller reads and writes files.

OPML files come from other people's feed readers, so reading one must not be a
way in. XML's DOCTYPE lets a document declare entities that expand into
gigabytes ("billion laughs") or pull in local files, and OPML needs none of
it, so any DOCTYPE, entity declaration or external entity is refused before
anything is built. The parser is expat driven directly (defusedxml is not a
dependency) so that refusal happens in expat's own callbacks. Nor may a feed URL
point into the local disk (``/etc/passwd``, ``../secrets.xml``, ``file://``): the bot
would read that file, so only http:// and https:// feeds are taken, the rest set
aside with the reason. Outlines are walked without recursion, however deep.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, TreeBuilder, indent, tostring
from xml.parsers import expat

from bot.errors import ConfigError

# Attributes of our own, for what OPML has no word for; other readers ignore them.
INTERVAL_ATTRIBUTE = "claimbotInterval"
ENABLED_ATTRIBUTE = "claimbotEnabled"


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription: its feed URL, display name, tags and claimbot's own extras.

    ``tags`` holds the OPML 2.0 ``category`` values and the names of the folders
    (outlines without a feed URL) the subscription sits in, outermost first.
    """

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class SkippedOutline:
    """An outline whose feed URL is not taken, at 1-based ``line`` of the file."""

    url: str
    reason: str
    line: int


@dataclass(frozen=True)
class Subscriptions:
    """What an OPML file holds: the web feeds, and the outlines set aside."""

    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[SkippedOutline, ...] = ()


class _Refused(Exception):
    """Raised inside an expat callback to stop parsing a document we will not read."""


def parse_opml(data: bytes | str, *, source: str) -> Subscriptions:
    """Every outline with an ``xmlUrl`` in ``data``, in document order.

    Those whose URL is not http:// or https:// (a local path, ``file://``...) are
    not feeds but :class:`SkippedOutline` entries, with the reason. ``source`` names
    the file in errors. Raises :class:`ConfigError` for malformed XML, a document
    that is not OPML, or any DOCTYPE/entity declaration.
    """
    root, lines = _parse_xml(data, source)
    if root.tag != "opml":
        raise ConfigError(f"not an OPML file: the root element is <{root.tag}>", path=source)
    body = root.find("body")
    if body is None:
        raise ConfigError("not an OPML file: it has no <body>", path=source)
    feeds: list[OpmlFeed] = []
    skipped: list[SkippedOutline] = []
    for outline, feed in _feeds_in(body):
        problem = web_url_problem(feed.url)
        if problem:
            skipped.append(SkippedOutline(feed.url, problem, lines.get(outline, 0)))
        else:
            feeds.append(feed)
    return Subscriptions(tuple(feeds), tuple(skipped))


def web_url_problem(url: str) -> str | None:
    """Why ``url`` is not a web feed's URL (http:// or https:// with a host), or None."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None if parts.hostname else "a URL with no host"
    if not scheme or len(scheme) == 1:  # a path, or a Windows drive letter
        return "a local file path, not an http(s) URL"
    return f"a {scheme}: URL, not http(s)"


def _parse_xml(data: bytes | str, source: str) -> tuple[Element, dict[Element, int]]:
    """The document, and the 1-based line each element starts on."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    lines: dict[Element, int] = {}

    def start(tag: str, attributes: dict[str, str]) -> None:
        lines[builder.start(tag, attributes)] = parser.CurrentLineNumber

    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ConfigError(str(exc), path=source, line=parser.CurrentLineNumber) from exc
    except expat.ExpatError as exc:
        problem = f"invalid XML: {expat.ErrorString(exc.code)}"
        raise ConfigError(problem, path=source, line=exc.lineno) from exc
    return builder.close(), lines


def _refuse_doctype(*_: Any) -> NoReturn:
    raise _Refused(
        "refusing an OPML file with a DOCTYPE: OPML needs none, and its entity"
        " declarations can expand without bound or read local files"
    )


def _refuse_entity(*_: Any) -> NoReturn:
    raise _Refused("refusing an OPML file that declares or references external entities")


def _feeds_in(body: Element) -> Iterator[tuple[Element, OpmlFeed]]:
    """Each outline with a feed URL, and its feed, depth first in document order.

    Iterative: a file nested thousands deep is no reason to run out of stack. Each
    level keeps only its own folder name (or None), so depth costs no more than that.
    """
    levels: list[tuple[Iterator[Element], str | None]] = [(body.iterfind("outline"), None)]
    while levels:
        outline = next(levels[-1][0], None)
        if outline is None:
            levels.pop()
            continue
        url = (outline.get("xmlUrl") or "").strip()
        label = (outline.get("title") or outline.get("text") or "").strip()
        if url:
            folders = [folder for _, folder in levels if folder]
            # An outline must have a text; writers with no name use the URL, we use no name.
            yield outline, _feed(outline, url, label if label and label != url else None,
                                 folders)
        levels.append((outline.iterfind("outline"), label if label and not url else None))


def _feed(outline: Element, url: str, name: str | None, folders: Sequence[str]) -> OpmlFeed:
    tags = [folder_tag(folder) for folder in folders]
    tags += [c.strip().strip("/") for c in (outline.get("category") or "").split(",")]
    enabled = (outline.get(ENABLED_ATTRIBUTE) or "true").strip().lower() != "false"
    interval = (outline.get(INTERVAL_ATTRIBUTE) or "").strip() or None
    return OpmlFeed(url, name, tuple(_unique(t for t in tags if t)), interval, enabled)


def folder_tag(folder: str) -> str:
    """A tag from a folder's name, in the house style: ``Latin America`` -> ``latin-america``."""
    return "-".join(folder.lower().split())


def _unique(values: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(values))


def render_opml(feeds: Sequence[OpmlFeed], *, title: str = "claimbot feeds") -> str:
    """An OPML 2.0 document with one flat outline per feed.

    Tags go to the standard ``category`` attribute; interval and enabled to
    attributes of our own, so that reading the document back gives the same feeds.
    """
    root = Element("opml", version="2.0")
    SubElement(root, "head").append(_text_element("title", title))
    body = SubElement(root, "body")
    for feed in feeds:
        SubElement(body, "outline", _outline_attributes(feed))
    indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, "unicode") + "\n"


def _text_element(tag: str, text: str) -> Element:
    element = Element(tag)
    element.text = text
    return element


def _outline_attributes(feed: OpmlFeed) -> dict[str, str]:
    label = feed.name or feed.url
    attributes = {"type": "rss", "text": label, "title": label, "xmlUrl": feed.url}
    if feed.tags:
        attributes["category"] = ",".join(feed.tags)
    if feed.interval:
        attributes[INTERVAL_ATTRIBUTE] = feed.interval
    if not feed.enabled:
        attributes[ENABLED_ATTRIBUTE] = "false"
    return attributes
