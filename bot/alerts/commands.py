"""The ``/claimbot`` slash command: parsing and answers (pure).

``interactive`` receives the command over Socket Mode, runs the query this
module asks for against the store and sends back what ``answer_*`` render.
Everything from the database is feed text or user text, so it is escaped
like any alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.render import _clean_line, _fit, _safe_url
from bot.config import parse_duration
from bot.feedback import suggest_threshold
from bot.store.records import ClaimStats, StoredMatch

USAGE = (
    "Usage: `/claimbot recent [claim]` · `/claimbot search &lt;text&gt;` · "
    "`/claimbot mute &lt;claim&gt; &lt;duration, e.g. 24h&gt;` · "
    "`/claimbot unmute &lt;claim&gt;` · `/claimbot stats`"
)
MAX_MUTE = timedelta(days=365)
ANSWER_MAX = 3000


class CommandError(Exception):
    """A command that cannot be run; the message goes back to the user as is."""


@dataclass(frozen=True)
class Command:
    name: str  # recent, search, mute, unmute, stats, help
    claim: str | None = None
    text: str | None = None
    duration: timedelta | None = None


def parse_command(text: str, claim_ids: Sequence[str]) -> Command:
    """Read what followed ``/claimbot``; raises ``CommandError`` with usage on bad input."""
    words = text.split()
    if not words or words[0].lower() in ("help", "?"):
        return Command("help")
    name, rest = words[0].lower(), words[1:]
    if name == "recent":
        if len(rest) > 1:
            raise CommandError(f"`recent` takes at most one claim id. {USAGE}")
        return Command("recent", claim=_claim(rest[0], claim_ids) if rest else None)
    if name == "search":
        query = " ".join(rest).strip()
        if not query:
            raise CommandError(f"`search` needs some text to look for. {USAGE}")
        return Command("search", text=query[:200])
    if name == "mute":
        if len(rest) != 2:
            raise CommandError(f"`mute` needs a claim id and a duration. {USAGE}")
        try:
            seconds = parse_duration(rest[1])
        except ValueError as exc:
            raise CommandError(f"{_fit(str(exc), 200)}. {USAGE}") from exc
        if seconds < 1 or timedelta(seconds=seconds) > MAX_MUTE:
            raise CommandError("a mute lasts between 1 second and 365 days")
        return Command("mute", claim=_claim(rest[0], claim_ids),
                       duration=timedelta(seconds=seconds))
    if name == "unmute":
        if len(rest) != 1:
            raise CommandError(f"`unmute` needs a claim id. {USAGE}")
        return Command("unmute", claim=_claim(rest[0], claim_ids))
    if name == "stats":
        return Command("stats")
    raise CommandError(f"unknown command `{_fit(name, 40)}`. {USAGE}")


def _claim(word: str, claim_ids: Sequence[str]) -> str:
    if word in claim_ids:
        return word
    known = ", ".join(claim_ids[:20]) or "none"
    if len(claim_ids) > 20:
        known += f", \u2026 ({len(claim_ids) - 20} more)"
    raise CommandError(f"no claim `{_fit(word, 80)}` is watched (claims: {_fit(known, 1500)})")


def answer_matches(matches: Sequence[StoredMatch], heading: str) -> str:
    if not matches:
        return f"{heading}: nothing stored yet."
    lines = [f"*{heading}*"]
    for match in matches:
        title = _fit(_clean_line(match.item_title), 200) or "(untitled)"
        url = _safe_url(match.item_link)
        headline = f"<{url}|{title}>" if url else title
        source = _fit(_clean_line(match.feed_name or match.feed_url), 80)
        lines.append(
            f"\u2022 `{match.claim_id}` {match.score:.2f} · {headline} — {source}"
            f" · {match.created_at:%Y-%m-%d %H:%M}"
        )
    return _join_within(lines)


def answer_stats(
    stats: Sequence[ClaimStats], thresholds: Mapping[str, float], mutes: Mapping[str, datetime]
) -> str:
    if not stats:
        return "No matches stored yet."
    lines = ["*Per claim (last 30 days)*"]
    for row in stats:
        precision = "n/a" if row.precision is None else f"{row.precision:.0%}"
        line = (
            f"\u2022 `{row.claim_id}`: {row.alerts} alerts, {row.stories} stories, "
            f"{row.matches} matches; feedback {row.relevant} relevant / "
            f"{row.false_positive} false positive (precision {precision})"
        )
        if row.claim_id in mutes:
            line += f" · muted until {mutes[row.claim_id]:%Y-%m-%d %H:%M} UTC"
        advice = suggest_threshold(row.judged_scores, thresholds.get(row.claim_id, 0.5))
        if advice is not None:
            line += f"\n    \u2192 {advice.describe(row.claim_id)}"
        lines.append(line)
    return _join_within(lines)


def _join_within(lines: Sequence[str]) -> str:
    """Join lines, dropping the tail that does not fit a message section."""
    out: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > ANSWER_MAX - 40:
            out.append(f"\u2026 and {len(lines) - len(out)} more")
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)
