"""``claimbot matches`` and ``claimbot feeds status``: asking the stored history.

Registered on the main ``claimbot`` app by ``bot.cli``. Output formats are for
people (``table``) and for other programs (``json``, ``jsonl``, ``csv``: every
field, stable names); paging is by cursor so a script can walk the whole
history while new matches arrive.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from bot.cli import _settings, app, err, feeds_app, handle_errors, out
from bot.config import Claim, Settings, load_feeds
from bot.errors import ConfigError
from bot.replay import ReplayReport, replay_claim, with_claim
from bot.store.history import MATCH_STATUSES, MatchQuery
from bot.store.records import GONE, FeedHealth, StoredMatch
from bot.when import TimeSpecError, parse_ago, parse_since, parse_until, utc_now

CSV_FIELDS = (
    "id", "created_at", "claim_id", "score", "alert", "alert_status", "verdict", "feed",
    "feed_url", "title", "summary", "link", "published", "story_id", "terms", "sentence",
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def _time_option(value: str | None, parse: Any, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed: datetime = parse(value, utc_now())
    except TimeSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc
    return parsed


@app.command()
@handle_errors
def matches(
    claim: Annotated[
        list[str] | None, typer.Option("--claim", help="Only this claim id (repeatable).")
    ] = None,
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="Only this feed: url or name (repeatable).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From: 7d, 24h, 2026-11-01 or an ISO datetime.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to (a date includes that whole day).")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help='Words in title or summary: s-300 "air defence" venezuel*'),
    ] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", min=0, max=1, help="Lowest score shown.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="alerted, suggested, relevant or false-positive."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Matches per page.")] = 20,
    after: Annotated[
        int | None, typer.Option("--after", help="Next page: the last match id of this one.")
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table, json, jsonl or csv.")
    ] = OutputFormat.table,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format jsonl.")] = False,
    suggestions: Annotated[
        bool, typer.Option("--suggestions", help="Same as --status suggested.")
    ] = False,
) -> None:
    """Search stored matches, newest first; filters combine.

    Times are when claimbot stored the match, in UTC. A full page ends with the
    --after value for the next one.

    Example: claimbot matches --claim air-defence-failure --since 7d --search "s-300" --format csv
    """
    from bot.store import Store

    if status is not None and status not in MATCH_STATUSES:
        raise typer.BadParameter(
            f"{status!r}: use one of {', '.join(MATCH_STATUSES)}", param_hint="--status"
        )
    query = MatchQuery(
        claim_ids=tuple(claim or ()),
        feeds=tuple(feed or ()),
        since=_time_option(since, parse_since, "--since"),
        until=_time_option(until, parse_until, "--until"),
        search=search,
        min_score=min_score,
        status="suggested" if suggestions and status is None else status,
        after=after,
        limit=limit,
    )
    settings = _settings()
    store = Store(settings.database_url)
    try:
        found = store.find_matches(query)
    finally:
        store.close()
    chosen = OutputFormat.jsonl if as_json else output
    if chosen is OutputFormat.table:
        _print_matches_table(found)
    elif chosen is OutputFormat.json:
        out.print(json.dumps([m.to_dict() for m in found], ensure_ascii=False, indent=2),
                  soft_wrap=True)
    elif chosen is OutputFormat.jsonl:
        for match in found:
            out.print(json.dumps(match.to_dict(), ensure_ascii=False), soft_wrap=True)
    else:
        out.print(matches_csv(found), end="", soft_wrap=True)
    if len(found) == limit:
        err.print(f"more: add --after {found[-1].id} for the next page")


def _print_matches_table(found: list[StoredMatch]) -> None:
    table = Table(title=f"{len(found)} matches, newest first")
    for column in ("id", "when", "claim", "score", "status", "feed", "title"):
        table.add_column(column)
    for match in found:
        table.add_row(
            str(match.id),
            match.created_at.strftime("%Y-%m-%d %H:%M"),
            match.claim_id,
            f"{match.score:.2f}",
            _status_label(match),
            match.feed_name or match.feed_url,
            match.item_title,
        )
    out.print(table)


def _status_label(match: StoredMatch) -> str:
    label = match.alert_status or ("suggested" if not match.alert else "")
    if match.verdict:
        label += f" ({match.verdict.replace('_', ' ')})"
    return label


def matches_csv(found: list[StoredMatch]) -> str:
    """CSV with a header row; evidence flattened to its matched words and sentence."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for match in found:
        row = match.to_dict()
        evidence = match.evidence or {}
        row["terms"] = " ".join(str(t) for t in evidence.get("terms") or ())
        row["sentence"] = evidence.get("sentence") or ""
        writer.writerow({k: _inert(v) if isinstance(v, str) else v for k, v in row.items()})
    return buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """Feed text a spreadsheet would run as a formula (``=HYPERLINK(...)``), quoted as text:
    the usual guard against CSV injection, since the text comes from untrusted feeds."""
    return "'" + text if text.startswith(_FORMULA_START) else text


@feeds_app.command("status")
@handle_errors
def feeds_status(
    days: Annotated[
        int, typer.Option("--days", min=1, max=36500, help="Window for items per day.")
    ] = 7,
    silent: Annotated[
        str, typer.Option("--silent", help="Quiet this long after publishing = silent (3d, 12h).")
    ] = "3d",
    problems: Annotated[
        bool, typer.Option("--problems", help="Only failing or silent feeds.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Per-feed health: last success, last HTTP status, failures in a row, items per day,
    and SILENT for a feed that used to publish and has gone quiet.

    Example: claimbot feeds status --problems --silent 2d
    """
    from bot.store import Store

    try:
        silent_after = parse_ago(silent)
    except OverflowError:
        silent_after = None
    if silent_after is None or not timedelta(0) < silent_after < timedelta(days=36500):
        raise typer.BadParameter(f"{silent!r} is not a duration like 3d or 12h",
                                 param_hint="--silent")
    settings = _settings()
    store = Store(settings.database_url)
    now = utc_now()
    try:
        health = store.feed_health(now=now, days=days, silent_after=silent_after)
    finally:
        store.close()
    configured = _configured_feeds(settings)
    health.sort(key=lambda h: configured is not None and h.url not in configured)
    if problems:
        health = [h for h in health if _is_problem(h, configured)]
    if as_json:
        for feed in health:
            out.print(json.dumps(_health_dict(feed, configured), ensure_ascii=False),
                      soft_wrap=True)
        return
    table = Table(title=f"{len(health)} feeds")
    for column in ("feed", "health", "last success", "HTTP", "fails", "items/day", "last item",
                   "last error"):
        table.add_column(column)
    for feed in health:
        state = feed_state_label(feed, configured)
        label = feed.label if not feed.fetch_url else f"{feed.label}\n→ moved to {feed.fetch_url}"
        table.add_row(
            label, Text(state, style=_STATE_STYLE.get(state.split()[0], "")),
            _ago(feed.last_success_at, now), str(feed.last_http_status or ""),
            str(feed.consecutive_failures), f"{feed.items_per_day:.1f}",
            _ago(feed.last_item_at, now), feed.last_error or "",
        )
    out.print(table)
    if not health:
        out.print("no feeds polled yet: run claimbot poll --once or claimbot run")


_STATE_STYLE = {
    "ok": "green", "failing": "red", "silent": "yellow", "never": "dim", "removed": "dim",
    "gone": "red",
}


def _configured_feeds(settings: Settings) -> set[str] | None:
    """The feeds feeds.yaml lists now; None (label nothing removed) when it cannot be read."""
    try:
        return {feed.url for feed in load_feeds(settings.feeds_file).feeds}
    except ConfigError as exc:
        err.print(f"note: cannot tell removed feeds apart: {exc}")
        return None


def _is_problem(feed: FeedHealth, configured: set[str] | None) -> bool:
    if configured is not None and feed.url not in configured:
        return False  # no longer polled: its silence is expected
    return feed.silent or bool(feed.consecutive_failures)


def feed_state_label(feed: FeedHealth, configured: set[str] | None = None) -> str:
    """One word (and a count) a person scans a column of: ok, failing ×N, silent, never,
    gone (HTTP 410, no longer polled) or removed (stored, but no longer in feeds.yaml)."""
    if configured is not None and feed.url not in configured:
        return "removed"
    if feed.last_status == GONE:
        return "gone"
    if feed.consecutive_failures:
        return f"failing ×{feed.consecutive_failures}"
    if feed.last_success_at is None:
        return "never polled" if feed.last_polled_at is None else "failing"
    if feed.silent:
        return "silent"
    return "ok"


def _health_dict(feed: FeedHealth, configured: set[str] | None) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "url": feed.url,
        "fetch_url": feed.fetch_url,
        "name": feed.name,
        "health": feed_state_label(feed, configured),
        "last_polled_at": iso(feed.last_polled_at),
        "last_success_at": iso(feed.last_success_at),
        "last_status": feed.last_status,
        "last_http_status": feed.last_http_status,
        "consecutive_failures": feed.consecutive_failures,
        "last_error": feed.last_error,
        "items_seen": feed.items_seen,
        "items_per_day": round(feed.items_per_day, 2),
        "last_item_at": iso(feed.last_item_at),
        "silent": feed.silent,
    }


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def replay_from_store(
    settings: Settings, claims: Sequence[Claim], candidate: Claim, since: datetime
) -> ReplayReport:
    """What ``candidate`` would have matched among the stored items since ``since``."""
    from bot.pipeline import MatcherFactory  # here: the other commands start faster
    from bot.store import Store

    watchlist = MatcherFactory.from_settings(settings).build(with_claim(claims, candidate))
    store = Store(settings.database_url)
    try:
        return replay_claim(store, candidate.id, watchlist.matcher.match_many, since=since)
    finally:
        store.close()


def print_replay(report: ReplayReport, *, shown: int = 10) -> None:
    """The replay as a person reads it: counts, the best examples, what would change."""
    out.print(
        f"{report.claim_id}: {report.items} stored items since"
        f" {report.since:%Y-%m-%d %H:%M} UTC -> {report.alerts} alerts,"
        f" {report.suggestions} suggestions (the stored version alerted on"
        f" {report.previously_alerted})"
    )
    if report.items == 0:
        out.print("no stored items in that window: poll some feeds first, or widen --since")
        return
    sections = (
        ("best matches", report.examples),
        (f"would add {len(report.added)} alerts", report.added[:shown]),
        (f"would drop {len(report.dropped)} alerts", report.dropped[:shown]),
    )
    for title, hits in sections:
        if not hits:
            continue
        table = Table(title=title)
        for column in ("item", "seen", "score", "before", "feed", "title", "why"):
            table.add_column(column)
        for hit in hits:
            table.add_row(
                str(hit.item_id), hit.seen_at.strftime("%Y-%m-%d"),
                "-" if hit.score is None else f"{hit.score:.2f}" + (" ALERT" if hit.alert else ""),
                hit.before, hit.feed, hit.title, ", ".join(hit.terms),
            )
        out.print(table)
