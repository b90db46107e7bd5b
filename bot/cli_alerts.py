"""``claimbot alerts``, ``claimbot stats`` and ``claimbot stories``: the outbox and what
users made of it.

Registered on the main ``claimbot`` app by ``bot.cli``; kept apart so the
command module stays readable.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer
from rich.table import Table

from bot.cli import _settings, app, handle_errors, out
from bot.config import load_claims
from bot.feedback import suggest_threshold
from bot.matching.thresholds import DEFAULT_ALERT_AT
from bot.store.records import FAILED, PENDING
from bot.when import utc_now

alerts_app = typer.Typer(
    help=(
        "The outbox: what was sent, what waits, what failed and why.\n\n"
        "Example: claimbot alerts --failed"
    ),
    invoke_without_command=True,
)
app.add_typer(alerts_app, name="alerts")

SPARK = "▁▂▃▄▅▆▇█"


@alerts_app.callback()
@handle_errors
def alerts(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed alerts.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only alerts waiting.")] = False,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Only these statuses (sent, muted, digest, ...)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List outbox rows, newest first, with Slack's reason for each failure.

    Example: claimbot alerts --failed
    """
    if ctx.invoked_subcommand is not None:
        return
    from bot.store import Store

    statuses = list(status or []) + ([FAILED] if failed else []) + ([PENDING] if pending else [])
    settings = _settings()
    store = Store(settings.database_url)
    try:
        rows = store.alerts(statuses=statuses, limit=limit)
        counts = store.alert_counts()
    finally:
        store.close()
    if as_json:
        for row in rows:
            out.print(json.dumps(row.to_dict(), ensure_ascii=False), soft_wrap=True)
        return
    table = Table(title=f"{len(rows)} alerts" + (f" ({', '.join(statuses)})" if statuses else ""))
    for column in ("id", "kind", "claim", "channel", "status", "tries", "created", "title",
                   "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id), row.kind, row.claim_id, row.channel, row.status, str(row.attempts),
            row.created_at.strftime("%Y-%m-%d %H:%M"), row.title, row.last_error or "",
        )
    out.print(table)
    out.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "the outbox is empty")
    if counts.get(FAILED):
        out.print("fix the reason, then: claimbot alerts retry ID... (or --all)")


@alerts_app.command("retry")
@handle_errors
def alerts_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids to send again.")] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Every failed alert.")] = False,
) -> None:
    """Put failed alerts back in the outbox; the running bot (or the next poll) sends them.

    Example: claimbot alerts retry 12 13
    """
    from bot.store import Store

    if not ids and not all_failed:
        raise typer.BadParameter("give alert ids, or --all for every failed alert")
    settings = _settings()
    # Re-route to where each claim points now: changing the channel is the usual fix.
    channels = {
        c.id: c.channel or settings.slack_channel for c in load_claims(settings.claims_file).claims
    }
    store = Store(settings.database_url)
    try:
        queued = store.retry_alerts(None if all_failed else ids, now=utc_now(), channels=channels)
    finally:
        store.close()
    if not queued:
        out.print("nothing to retry: no failed alert has those ids")
        raise typer.Exit(1)
    out.print(f"queued again: {', '.join(map(str, queued))}")


@app.command()
@handle_errors
def stats(
    days: Annotated[int, typer.Option("--days", min=1, help="How far back to look.")] = 30,
) -> None:
    """Per claim: matches per day (sparkline), alerts, stories, first and last seen, top
    outlets, and precision from Slack feedback, with a threshold suggestion where feedback
    supports one.

    Example: claimbot stats --days 7
    """
    from bot.store import Store

    settings = _settings()
    claim_set = load_claims(settings.claims_file)
    thresholds = {
        c.id: c.alert_at if c.alert_at is not None else DEFAULT_ALERT_AT for c in claim_set.claims
    }
    now = utc_now()
    today = now.date()
    since = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)
    store = Store(settings.database_url)
    try:
        rows = store.claim_stats(since=since)
        daily = store.matches_per_day(since=since)
        outlets = store.top_outlets(since=since)
    finally:
        store.close()
    table = Table(title=f"claims, last {days} days")
    for column in ("claim", "per day", "matches", "alerts", "stories", "relevant", "false +",
                   "precision", "first seen", "last seen", "top outlets"):
        table.add_column(column)
    advice: list[str] = []
    for row in rows:
        per_day = daily.get(row.claim_id, {})
        counts = [per_day.get(today - timedelta(days=back), 0) for back in range(days - 1, -1, -1)]
        table.add_row(
            row.claim_id, sparkline(counts), str(row.matches), str(row.alerts), str(row.stories),
            str(row.relevant), str(row.false_positive),
            "n/a" if row.precision is None else f"{row.precision:.0%}",
            row.first_seen.strftime("%Y-%m-%d %H:%M") if row.first_seen else "",
            row.last_seen.strftime("%Y-%m-%d %H:%M") if row.last_seen else "",
            ", ".join(f"{name} ({count})" for name, count in outlets.get(row.claim_id, [])),
        )
        suggestion = suggest_threshold(row.judged_scores, thresholds.get(row.claim_id, 0.5))
        if suggestion is not None:
            advice.append(suggestion.describe(row.claim_id))
    out.print(table)
    for line in advice:
        out.print(f"suggestion: {line}")


def sparkline(counts: list[int]) -> str:
    """One character per day, scaled to the busiest day; blank days are the lowest bar."""
    top = max(counts, default=0)
    if top == 0:
        return SPARK[0] * len(counts)
    return "".join(SPARK[round(c / top * (len(SPARK) - 1))] for c in counts)


@app.command()
@handle_errors
def stories(
    claim: Annotated[str | None, typer.Option("--claim", help="Only this claim id.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List grouped stories: one per news story and claim, with every outlet that carried it.

    Example: claimbot stories --claim air-defence-failure
    """
    from bot.store import Store

    settings = _settings()
    store = Store(settings.database_url)
    try:
        found = store.stories(claim_id=claim, limit=limit)
    finally:
        store.close()
    if as_json:
        for story in found:
            record = {
                "id": story.id, "claim_id": story.claim_id, "title": story.title,
                "copies": story.copies, "outlets": list(story.outlets),
                "first_seen": story.created_at.isoformat(),
                "last_seen": story.last_seen_at.isoformat(),
            }
            out.print(json.dumps(record, ensure_ascii=False), soft_wrap=True)
        return
    table = Table(title=f"{len(found)} most recent stories")
    for column in ("id", "claim", "copies", "first seen", "title", "outlets"):
        table.add_column(column)
    for story in found:
        table.add_row(
            str(story.id), story.claim_id, str(story.copies),
            story.created_at.strftime("%Y-%m-%d %H:%M"), story.title,
            ", ".join(dict.fromkeys(story.outlets)),
        )
    out.print(table)
