"""Turn one match into a Slack message: Block Kit blocks plus a plain fallback.

Pure: no I/O, no clock, no slack_sdk. Everything shown comes in an
``AlertView``; everything sent goes out as a ``RenderedAlert``.

Feed text is hostile by default. ``&``, ``<`` and ``>`` are Slack's control
characters (``<!channel>``, ``<@U123>``, ``<url|text>``), so every piece of
feed text is escaped before it is placed in mrkdwn, and links are only made
from http(s) URLs whose link-breaking characters are percent-encoded. Control
characters and bidi overrides are dropped so a headline cannot reorder or
recolour the lines around it.

Every Block Kit limit is respected by truncating at a safe point: never inside
an escape entity or a ``<url|text>`` link, never between an emoji and its
modifiers, and at a word boundary when one is near. Lengths are counted in
UTF-16 code units, which is never less than the character count Slack checks.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"
HEADER_MAX = 150
SECTION_MAX = 3000
CONTEXT_MAX = 2000
BLOCKS_MAX = 50
FALLBACK_MAX = 3000

# Budgets inside the limits above, chosen so that every part fits by construction.
TITLE_MAX = 500
URL_MAX = 2000
SOURCE_MAX = 200
CLAIM_ID_MAX = 200
TERM_MAX = 100

_ZWSP = "\u200b"  # lets *bold* start or end next to a letter
_ZWJ = "\u200d"
_SPAN_ASTERISK = "\u2217"  # stands in for "*" inside a bold span
_WORD_BACKOFF = 20  # how far back a cut may move to land on a space
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_URL_BREAKERS = frozenset("<>|\"'`")


@dataclass(frozen=True)
class AlertView:
    """Everything an alert shows, as plain data.

    ``published`` is timezone-aware UTC. ``highlights`` are (start, end)
    character spans in ``snippet``, sorted and non-overlapping.
    """

    claim_id: str
    claim_title: str
    item_title: str
    item_link: str | None
    source: str
    published: datetime | None
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    matched_terms: tuple[str, ...]
    score: float
    severity: str = "normal"


@dataclass(frozen=True)
class RenderedAlert:
    """A message ready for ``chat.postMessage``: fallback ``text`` and ``blocks``."""

    text: str
    blocks: list[dict[str, Any]]


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters so ``text`` is shown, never parsed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_alert(view: AlertView) -> RenderedAlert:
    """Build the Block Kit message for one alert."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _header_text(view)}},
        _mrkdwn_section(_headline(view)),
    ]
    when = _format_time(view.published)
    source = _fit(_clean_line(view.source), SOURCE_MAX)
    about = " · ".join(part for part in (source, when) if part)
    if about:
        blocks.append(_context(about))
    snippet = _snippet_mrkdwn(view.snippet, view.highlights, SECTION_MAX)
    if snippet.strip():
        blocks.append(_mrkdwn_section(snippet))
    blocks.append(_context(_claim_line(view)))
    assert len(blocks) <= BLOCKS_MAX
    return RenderedAlert(text=_fallback_text(view), blocks=blocks)


def render_alert_plain(view: AlertView) -> str:
    """The alert as terminal text (the dry run): no markup, controls removed."""
    lines = [f"[{_clean_line(view.claim_id)}] {_clean_line(view.claim_title)}"]
    lines.append(f"  {_clean_line(view.item_title) or '(untitled)'}")
    if view.item_link and _clean_line(view.item_link):
        lines.append(f"  {_clean_line(view.item_link)}")
    about = " · ".join(p for p in (_clean_line(view.source), _format_time(view.published)) if p)
    if about:
        lines.append(f"  {about}")
    snippet = "".join(
        f"[{_clean_text(text)}]" if bold else _clean_text(text)
        for text, bold in _split_highlights(view.snippet, view.highlights)
    ).strip()
    if snippet:
        lines.append("  " + snippet.replace("\n", "\n  "))
    terms = [_clean_line(term) for term in view.matched_terms]
    lines.append(f"  {_claim_summary(_clean_line(view.claim_id), view.score, terms)}")
    return "\n".join(lines)


# -- blocks -----------------------------------------------------------------


# Severity marks shown before the header; "normal" and "low" claims show none.
SEVERITY_MARKS = {"high": "\u26a0\ufe0f ", "critical": "\U0001f6a8 "}


def _header_text(view: AlertView) -> str:
    title = _clean_line(view.claim_title) or _clean_line(view.claim_id) or "claimbot alert"
    mark = SEVERITY_MARKS.get(view.severity, "")
    return mark + _fit(title, HEADER_MAX - _slack_len(mark))


def _headline(view: AlertView) -> str:
    title = _fit(_clean_line(view.item_title), TITLE_MAX) or "(untitled)"
    url = _safe_url(view.item_link)
    if url is None:
        return title
    return f"<{url}|{title}>"


def _claim_line(view: AlertView) -> str:
    terms = [_fit(_clean_line(term), TERM_MAX) for term in view.matched_terms]
    terms = [term for term in terms if term]
    head = _claim_summary(_fit(_clean_line(view.claim_id), CLAIM_ID_MAX), view.score, [])
    if view.severity != "normal":
        head += f" · severity {_fit(_clean_line(view.severity), 20)}"
    if not terms:
        return head
    prefix = f"{head} · matched: "
    # Keep whole terms while they fit, leaving room for the "(+N more)" tail.
    reserve = len(f", {ELLIPSIS} (+{len(terms)} more)")
    budget = CONTEXT_MAX - _slack_len(prefix) - reserve
    shown: list[str] = []
    used = 0
    for term in terms:
        cost = _slack_len(term) + (2 if shown else 0)
        if used + cost > budget:
            break
        shown.append(term)
        used += cost
    tail = "" if len(shown) == len(terms) else f", {ELLIPSIS} (+{len(terms) - len(shown)} more)"
    return prefix + ", ".join(shown) + tail


def _claim_summary(claim_id: str, score_value: float, terms: list[str]) -> str:
    """``claim <id> · score 0.87[ · matched: a, b]``; the caller escapes or not."""
    score = f"{score_value:.2f}" if math.isfinite(score_value) else "?"
    line = f"claim {claim_id} · score {score}"
    if terms:
        line += " · matched: " + ", ".join(terms)
    return line


def _fallback_text(view: AlertView) -> str:
    """Notification and screen-reader text: claim, headline, source; all escaped."""
    claim = _fit(_clean_line(view.claim_title) or _clean_line(view.claim_id), HEADER_MAX)
    title = _fit(_clean_line(view.item_title), TITLE_MAX) or "(untitled)"
    source = _fit(_clean_line(view.source), SOURCE_MAX)
    text = f"{claim}: {title}" + (f" ({source})" if source else "")
    assert _slack_len(text) <= FALLBACK_MAX  # by the budgets above
    return text


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _format_time(when: datetime | None) -> str:
    if when is None:
        return ""
    if when.tzinfo is None:  # the contract says UTC; a naive value is taken as such
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- links ------------------------------------------------------------------


def _safe_url(url: str | None) -> str | None:
    """An http(s) URL fit to sit inside ``<url|text>``, or None to show no link."""
    if not url:
        return None
    url = url.strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    encoded = "".join(
        quote(ch, safe="") if ch in _URL_BREAKERS or ch.isspace() or _is_control(ch) else ch
        for ch in url
    )
    safe = escape_mrkdwn(encoded)
    # Measured after encoding: "&" and "|" grow, and the headline must still fit.
    return safe if _slack_len(safe) <= URL_MAX else None


# -- snippet ----------------------------------------------------------------


def _split_highlights(
    snippet: str, highlights: tuple[tuple[int, int], ...]
) -> list[tuple[str, bool]]:
    """Cut ``snippet`` into (text, highlighted) runs.

    Spans are clamped to the snippet; empty ones are ignored and overlaps are
    trimmed, so a sloppy caller gets a readable message rather than an error.
    """
    runs: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(highlights):
        start, end = max(start, pos), min(end, len(snippet))
        if start >= end:
            continue  # empty, out of range or overlapping the previous span
        if start > pos:
            runs.append((snippet[pos:start], False))
        runs.append((snippet[start:end], True))
        pos = end
    if pos < len(snippet):
        runs.append((snippet[pos:], False))
    return runs


def _snippet_mrkdwn(snippet: str, highlights: tuple[tuple[int, int], ...], limit: int) -> str:
    """The snippet as mrkdwn with highlights in *bold*, escaped and at most ``limit`` long."""
    runs = _bold_safe_runs(_split_highlights(snippet, highlights))
    pieces = [_format_run(runs, i) for i in range(len(runs))]
    if _slack_len("".join(pieces)) <= limit:
        return "".join(pieces)

    budget = limit - _slack_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for i, (text, bold) in enumerate(runs):
        piece = pieces[i]
        if used + _slack_len(piece) <= budget:
            out.append(piece)
            used += _slack_len(piece)
            continue
        lead = _ZWSP if bold and _needs_zwsp_before(runs, i) else ""
        overhead = len(lead) + 3 if bold else 0  # "*", "*" and a closing zero-width space
        prefix, _ = _fit_raw(text, budget - used - overhead)
        if prefix.strip():
            out.append(f"{lead}*{prefix}*{_ZWSP}" if bold else prefix)
        break
    return "".join(out).rstrip() + ELLIPSIS


def _bold_safe_runs(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Make highlighted runs safe to wrap in ``*``.

    Cleans control characters; inside a highlight, "*" would end the bold early
    and newlines or edge spaces stop Slack from seeing it, so asterisks are
    replaced, newlines become spaces and edge whitespace moves outside the span.
    """
    safe: list[tuple[str, bool]] = []
    for text, bold in runs:
        text = _clean_text(text)
        if not bold:
            safe.append((text, False))
            continue
        text = text.replace("*", _SPAN_ASTERISK).replace("\n", " ")
        core = text.strip()
        if not core:
            safe.append((text, False))
            continue
        head, tail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        safe.extend([(head, False), (core, True), (tail, False)])
    merged: list[tuple[str, bool]] = []
    for text, bold in safe:
        if not text:
            continue
        if merged and not bold and not merged[-1][1]:
            merged[-1] = (merged[-1][0] + text, False)
        else:
            merged.append((text, bold))
    return merged


def _format_run(runs: list[tuple[str, bool]], i: int) -> str:
    text, bold = runs[i]
    if not bold:
        return escape_mrkdwn(text)
    lead = _ZWSP if _needs_zwsp_before(runs, i) else ""
    trail = _ZWSP if _needs_zwsp_after(runs, i) else ""
    return f"{lead}*{escape_mrkdwn(text)}*{trail}"


def _needs_zwsp_before(runs: list[tuple[str, bool]], i: int) -> bool:
    # Slack only opens bold after whitespace or the start; mid-word needs a separator.
    return i > 0 and not runs[i - 1][0][-1:].isspace()


def _needs_zwsp_after(runs: list[tuple[str, bool]], i: int) -> bool:
    return i + 1 < len(runs) and not runs[i + 1][0][:1].isspace()


# -- text helpers -----------------------------------------------------------


def _fit(text: str, limit: int) -> str:
    """Escape ``text`` and cut it to ``limit`` UTF-16 units, ending in "…" when cut."""
    prefix, cut = _fit_raw(text, limit)
    if not cut:
        return prefix
    prefix, _ = _fit_raw(text, limit - _slack_len(ELLIPSIS))
    return prefix + ELLIPSIS


def _fit_raw(text: str, room: int) -> tuple[str, bool]:
    """The longest escaped prefix of ``text`` within ``room`` units, cut safely.

    Escaping character by character means a cut can never split an entity.
    Returns the prefix and whether anything was cut off.
    """
    escaped = escape_mrkdwn(text)
    if _slack_len(escaped) <= room:  # most texts fit whole: no walk character by character
        return escaped, False
    used, cut = 0, len(text)
    for i, ch in enumerate(text):
        size = _slack_len(_ESCAPES.get(ch, ch))
        if used + size > room:
            cut = i
            break
        used += size
    cut = _grapheme_safe(text, cut)
    space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    if space > 0 and cut - space <= _WORD_BACKOFF:
        cut = space
    return escape_mrkdwn(text[:cut]).rstrip(), True


def _grapheme_safe(text: str, cut: int) -> int:
    """Move ``cut`` left so it does not split a character from its modifiers."""
    while cut > 0 and (_extends(text[cut]) or text[cut - 1] == _ZWJ):
        cut -= 1
    # Flags are pairs of regional indicators; never keep half a pair.
    indicators = 0
    while cut - indicators > 0 and _is_regional_indicator(text[cut - indicators - 1]):
        indicators += 1
    if indicators % 2:
        cut -= 1
    return cut


def _extends(ch: str) -> bool:
    """Whether ``ch`` attaches to the character before it."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _slack_len(text: str) -> int:
    """Length in UTF-16 code units: an upper bound on what Slack counts."""
    return len(text.encode("utf-16-le")) // 2


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS


# What ``_clean_text`` drops: ``_is_control`` (category Cc is exactly these two ranges)
# but newlines. One regex pass: a generator over every character was a third of the time
# to render a steady pass's alerts (bench/ingest.py).
_DROPPED = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(sorted(_BIDI_CONTROLS)) + "]")


def _clean_text(text: str) -> str:
    """Drop control characters and bidi overrides; keep newlines, tabs become spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _DROPPED.sub("", text)


def _clean_line(text: str) -> str:
    """``_clean_text`` on one line: all whitespace runs become one space."""
    return " ".join(_clean_text(text).split())
