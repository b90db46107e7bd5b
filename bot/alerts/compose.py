"""The messages around an alert: its live form, thread replies and digests.

Pure, like ``render``: plain data in, Block Kit out. An alert is stored as the
blocks ``render_alert`` made when it matched; what Slack shows is composed at
delivery from those blocks plus what has happened since (more outlets carried
the story, someone gave feedback), so a ``chat.update`` can always re-render
the whole message from stored state and repeating one is harmless.

Every string that came from a feed or a user is escaped and cut to Block Kit's
limits with ``render``'s helpers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.alerts.render import (
    _SPAN_ASTERISK,
    BLOCKS_MAX,
    CONTEXT_MAX,
    ELLIPSIS,
    HEADER_MAX,
    SECTION_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    RenderedAlert,
    _clean_line,
    _context,
    _fit,
    _format_time,
    _grapheme_safe,
    _mrkdwn_section,
    _safe_url,
    _slack_len,
)

# Button action ids and the verdict each records.
FEEDBACK_ACTIONS = {
    "claimbot_relevant": "relevant",
    "claimbot_false_positive": "false_positive",
    "claimbot_mute": "mute",
}
FEEDBACK_BLOCK_ID = "claimbot_feedback"
_VERDICT_LINES = {
    "relevant": "\u2705 marked relevant by {who}",
    "false_positive": "\u274c marked false positive by {who}",
    "mute": "\U0001f507 claim muted for 24 h by {who}",
}
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
OUTLETS_SHOWN = 10
DIGEST_SECTIONS_MAX = BLOCKS_MAX - 3  # header, summary context, overflow line


@dataclass(frozen=True)
class FeedbackView:
    verdict: str
    user_id: str
    user_name: str | None


def compose_alert(
    base: RenderedAlert,
    *,
    alert_id: int,
    outlets: Sequence[str] = (),
    feedback: FeedbackView | None = None,
    buttons: bool = False,
) -> RenderedAlert:
    """The alert as Slack should show it now.

    Adds "+N outlets" when copies of the story arrived, then either the
    feedback line (once someone judged it) or the feedback buttons.
    """
    blocks: list[dict[str, Any]] = [dict(block) for block in base.blocks]
    if outlets:
        blocks.append(_context(outlets_line(outlets)))
    if feedback is not None:
        blocks.append(_context(feedback_line(feedback)))
    elif buttons:
        blocks.append(feedback_buttons(alert_id))
    assert len(blocks) <= BLOCKS_MAX
    return RenderedAlert(text=base.text, blocks=blocks)


def compose_plain(base_plain: str, outlets: Sequence[str]) -> str:
    """The terminal form of a composed alert."""
    if not outlets:
        return base_plain
    return f"{base_plain}\n  {_clean_line(outlets_line(outlets, escape=False))}"


def outlets_line(outlets: Sequence[str], *, escape: bool = True) -> str:
    """``+3 outlets: Reuters, BBC (2)``: every later copy counted, names listed once."""
    counts = Counter(_clean_line(name) or "?" for name in outlets)
    names = [f"{name} ({n})" if n > 1 else name for name, n in counts.items()]
    shown = [_fit(n, SOURCE_MAX) if escape else n for n in names[:OUTLETS_SHOWN]]
    more = len(names) - len(shown)
    tail = f", {ELLIPSIS} (+{more} more)" if more else ""
    total = len(outlets)
    line = f"+{total} outlet{'s' if total != 1 else ''}: " + ", ".join(shown) + tail
    return _fit_escaped(line, CONTEXT_MAX) if escape else line


def feedback_line(feedback: FeedbackView) -> str:
    template = _VERDICT_LINES.get(feedback.verdict, "judged {verdict} by {who}")
    return template.format(who=_who(feedback), verdict=_fit(_clean_line(feedback.verdict), 40))


def _who(feedback: FeedbackView) -> str:
    """A mention when Slack gave a real user id, else the escaped name: never raw input."""
    if _SLACK_USER_ID.fullmatch(feedback.user_id):
        return f"<@{feedback.user_id}>"
    return _fit(_clean_line(feedback.user_name or feedback.user_id), 80) or "someone"


def feedback_buttons(alert_id: int) -> dict[str, Any]:
    def button(label: str, action_id: str, style: str | None = None) -> dict[str, Any]:
        element: dict[str, Any] = {
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": action_id,
            "value": str(alert_id),
        }
        if style:
            element["style"] = style
        return element

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [
            button("Relevant", "claimbot_relevant", "primary"),
            button("False positive", "claimbot_false_positive", "danger"),
            button("Mute claim 24 h", "claimbot_mute"),
        ],
    }


# -- replies -----------------------------------------------------------------


@dataclass(frozen=True)
class ReplyView:
    """A later copy of a story, posted in the first alert's thread."""

    item_title: str
    item_link: str | None
    source: str
    published: datetime | None


def render_reply(view: ReplyView) -> RenderedAlert:
    # "*" would end the bold around the outlet's name early.
    source = _fit(_clean_line(view.source).replace("*", _SPAN_ASTERISK), SOURCE_MAX)
    source = source or "another outlet"
    when = _format_time(view.published)
    title = _fit(_clean_line(view.item_title), TITLE_MAX) or "(untitled)"
    url = _safe_url(view.item_link)
    headline = f"<{url}|{title}>" if url else title
    about = f"Also reported by *{source}*" + (f" · {when}" if when else "")
    text = f"Also reported by {source}: {title}"
    return RenderedAlert(text=text, blocks=[_mrkdwn_section(f"{about}\n{headline}")])


def render_reply_plain(view: ReplyView) -> str:
    line = f"  \u21b3 also reported by {_clean_line(view.source)}: {_clean_line(view.item_title)}"
    if view.item_link:
        line += f" {_clean_line(view.item_link)}"
    return line


# -- digests -----------------------------------------------------------------


@dataclass(frozen=True)
class DigestLine:
    title: str
    link: str | None
    source: str
    published: datetime | None
    copies: int


@dataclass(frozen=True)
class DigestView:
    claim_id: str
    claim_title: str
    period: str  # e.g. "daily digest, 2026-11-25 09:00 UTC"
    lines: tuple[DigestLine, ...]


def render_digest(view: DigestView) -> RenderedAlert:
    """One message listing a period's stories, as many as Block Kit allows."""
    title = _clean_line(view.claim_title) or _clean_line(view.claim_id)
    header = _fit(f"Digest: {title}", HEADER_MAX)
    count = len(view.lines)
    summary = _fit(
        f"{count} stor{'y' if count == 1 else 'ies'} · {_clean_line(view.period)}"
        f" · claim {_clean_line(view.claim_id)}",
        CONTEXT_MAX,
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        _context(summary),
    ]
    section: list[str] = []
    used = 0
    shown = 0
    for line in view.lines:
        entry = _digest_entry(line)
        cost = _slack_len(entry) + 1
        if section and used + cost > SECTION_MAX:
            if len(blocks) - 2 >= DIGEST_SECTIONS_MAX - 1:
                break
            blocks.append(_mrkdwn_section("\n".join(section)))
            section, used = [], 0
        section.append(entry)
        used += cost
        shown += 1
    if section:
        blocks.append(_mrkdwn_section("\n".join(section)))
    if shown < count:
        blocks.append(
            _context(f"{ELLIPSIS} and {count - shown} more: claimbot matches --claim "
                     f"{_fit(_clean_line(view.claim_id), 200)}")
        )
    assert len(blocks) <= BLOCKS_MAX
    tail = f": {count} new stor{'y' if count == 1 else 'ies'}"
    text = _fit(title, HEADER_MAX - len(tail)) + tail  # the count survives a long title
    return RenderedAlert(text=text, blocks=blocks)


def render_digest_plain(view: DigestView) -> str:
    count = len(view.lines)
    lines = [
        f"[{_clean_line(view.claim_id)}] digest: {count} stor{'y' if count == 1 else 'ies'},"
        f" {_clean_line(view.period)}"
    ]
    for line in view.lines:
        extra = f" (+{line.copies - 1} outlets)" if line.copies > 1 else ""
        lines.append(f"  - {_clean_line(line.title)} ({_clean_line(line.source)}){extra}")
    return "\n".join(lines)


def _digest_entry(line: DigestLine) -> str:
    title = _fit(_clean_line(line.title), 300) or "(untitled)"
    url = _safe_url(line.link)
    headline = f"<{url}|{title}>" if url else title
    source = _fit(_clean_line(line.source), 100)
    when = _format_time(line.published)
    extra = f" · +{line.copies - 1} outlets" if line.copies > 1 else ""
    entry = f"\u2022 {headline} — {source}" + (f" · {when}" if when else "") + extra
    # A pathological link could still overflow a section on its own: drop the link then.
    return entry if _slack_len(entry) < SECTION_MAX else f"\u2022 {title} — {source}{extra}"


def _fit_escaped(text: str, limit: int) -> str:
    """Cut already-escaped text without splitting an entity."""
    if _slack_len(text) <= limit:
        return text
    room, end = limit - _slack_len(ELLIPSIS), 0
    for end, ch in enumerate(text):  # noqa: B007 - the loop leaves ``end`` at the cut
        room -= _slack_len(ch)
        if room < 0:
            break
    cut = text[: _grapheme_safe(text, end)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS
