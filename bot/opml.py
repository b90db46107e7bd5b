"""OPML 1.0/2.0 subscription lists: read the feeds out of one, write one from ours.

Pure: bytes or text in, plain data out; the caller reads and writes files.

OPML files come from other people's feed readers, so reading one must not be a
way in. XML's DOCTYPE lets a document declare entities that expand into
gigabytes ("billion laughs") or pull in local files, and OPML needs none of
it, so any DOCTYPE, entity declaration or external entity is refused before
anything is built. The parser is expat driven directly (defusedxml is not a
dependency) so that refusal happens in expat's own callbacks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
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


class _Refused(Exception):
    """Raised inside an expat callback to stop parsing a document we will not read."""


def parse_opml(data: bytes | str, *, source: str) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl`` in ``data``, in document order.

    ``source`` names the file in errors. Raises :class:`ConfigError` for malformed
    XML, a document that is not OPML, or any DOCTYPE/entity declaration.
    """
    root = _parse_xml(data, source)
    if root.tag != "opml":
        raise ConfigError(f"not an OPML file: the root element is <{root.tag}>", path=source)
    body = root.find("body")
    if body is None:
        raise ConfigError("not an OPML file: it has no <body>", path=source)
    return list(_feeds_in(body, ()))


def _parse_xml(data: bytes | str, source: str) -> Element:
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ConfigError(str(exc), path=source, line=parser.CurrentLineNumber) from exc
    except expat.ExpatError as exc:
        problem = f"invalid XML: {expat.ErrorString(exc.code)}"
        raise ConfigError(problem, path=source, line=exc.lineno) from exc
    return builder.close()


def _refuse_doctype(*_: Any) -> NoReturn:
    raise _Refused(
        "refusing an OPML file with a DOCTYPE: OPML needs none, and its entity"
        " declarations can expand without bound or read local files"
    )


def _refuse_entity(*_: Any) -> NoReturn:
    raise _Refused("refusing an OPML file that declares or references external entities")


def _feeds_in(outline_parent: Element, folders: tuple[str, ...]) -> Iterator[OpmlFeed]:
    for outline in outline_parent.iterfind("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        label = (outline.get("title") or outline.get("text") or "").strip()
        if url:
            # An outline must have a text; writers with no name use the URL, we use no name.
            yield _feed(outline, url, label if label and label != url else None, folders)
        yield from _feeds_in(outline, (*folders, label) if label and not url else folders)


def _feed(outline: Element, url: str, name: str | None, folders: tuple[str, ...]) -> OpmlFeed:
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
