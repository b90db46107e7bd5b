"""Plain text out of feed markup: HTML fragments and loosely spaced strings.

Feeds carry titles, summaries and content as HTML or as text with stray
whitespace; everything claimbot matches and shows is plain text, so both feed
formats go through here. This is a leaf module: the standard library only.

Nothing here renders HTML, so nothing needs sanitising: script, style and the
like are dropped, every other tag becomes a line break, a space or nothing.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

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
        return single_line(fragment)  # no markup: one block, newlines are just spaces
    extractor = _TextExtractor()
    try:
        extractor.feed(_BOGUS_DECLARATION.sub("&lt;!", fragment))
        extractor.close()
        text = "".join(extractor.parts)
    except AssertionError:  # html.parser gives up on some malformed declarations
        text = unescape(re.sub(r"<[^>]*>", " ", fragment))
    return plain_text(text)


def plain_text(text: str) -> str:
    """Whitespace collapsed within lines; empty lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def single_line(text: str) -> str:
    """All whitespace, line breaks included, collapsed to single spaces."""
    return " ".join(text.split())


def clean(value: Any) -> str | None:
    """``value`` stripped if it is a non-blank string, else ``None``."""
    if isinstance(value, str):
        return value.strip() or None
    return None
