"""What a match shows as its reason: matched terms, their places, a snippet.

Pure functions over the item text and the character spans that matched; the
renderer and the CLI only display what is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SNIPPET_CHARS = 280
_LEAD_CHARS = 60
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an item matched a claim, and the parts of its score.

    ``spans`` are (start, end) character offsets into the item's text (title,
    summary and content joined by newlines); ``highlights`` are the same spans
    relative to ``snippet``. ``sentence`` is the item's sentence that states the
    claim best. ``lexical`` (0..1, from ``bm25``) and ``semantic`` (cosine, or
    None without the semantic extra) are the parts of the statement score.
    """

    terms: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    query_matched: bool
    sentence: str = ""
    lexical: float = 0.0
    semantic: float | None = None
    bm25: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "terms": list(self.terms),
            "spans": [list(span) for span in self.spans],
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "sentence": self.sentence,
            "query_matched": self.query_matched,
            "lexical": self.lexical,
            "semantic": self.semantic,
            "bm25": self.bm25,
        }


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort spans and merge those that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window_start(text: str, spans: list[tuple[int, int]]) -> int:
    """Start of the window that holds the most matched spans."""
    if not spans:
        return 0
    best_start, best_count = spans[0][0], 0
    for start, _ in spans:
        count = sum(1 for s, e in spans if s >= start and e <= start + SNIPPET_CHARS - _LEAD_CHARS)
        if count > best_count:
            best_start, best_count = start, count
    begin = max(0, best_start - _LEAD_CHARS)
    if begin > 0:
        space = text.rfind(" ", 0, begin + 1)
        newline = text.rfind("\n", 0, begin + 1)
        cut = max(space, newline)
        begin = cut + 1 if cut >= 0 and best_start - cut < _LEAD_CHARS * 2 else begin
    return begin


def build_snippet(
    text: str, spans: list[tuple[int, int]]
) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A one-line excerpt of ``text`` around the densest matched region.

    Returns the snippet and the matched spans relative to it, so a renderer can
    bold exactly the words that matched.
    """
    merged = merge_spans(spans)
    begin = _window_start(text, merged)
    end = min(len(text), begin + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        if space > begin + SNIPPET_CHARS // 2:
            end = space
    body = text[begin:end]
    prefix = _ELLIPSIS if begin > 0 else ""
    suffix = _ELLIPSIS if end < len(text) else ""
    # Newlines separate title from summary; in a one-line snippet a space reads better.
    snippet = prefix + body.replace("\n", " ") + suffix
    shift = len(prefix) - begin
    highlights = tuple(
        (max(s, begin) + shift, min(e, end) + shift) for s, e in merged if s < end and e > begin
    )
    return snippet, highlights
