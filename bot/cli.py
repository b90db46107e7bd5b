"""The ``claimbot`` command: a thin layer over the library.

Every command loads settings, calls library functions that scripts could call
too, and prints. A :class:`BotError` becomes one line on stderr and exit code
1; only a bug shows a traceback. Feed text is printed with Rich markup off,
so a headline can never restyle the terminal.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot import __version__
from bot.alerts.sinks import AlertSink, SlackSink, TerminalSink, WebhookSink
from bot.alerts.slack import SlackSender
from bot.config import Settings, load_claims, load_feeds, load_settings
from bot.errors import BotError, ConfigError
from bot.items import Item
from bot.logs import configure_logging
from bot.matching.thresholds import DEFAULT_ALERT_AT, DEFAULT_SUGGEST_AT

if TYPE_CHECKING:
    from bot.matching import Match

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="claimbot",
    help="Watch news feeds for specific claims and alert Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
claims_app = typer.Typer(help="Inspect, validate and try the watched claims.", no_args_is_help=True)
app.add_typer(claims_app, name="claims")
feeds_app = typer.Typer(
    help="List, add, remove and check the polled feeds.\n\nExample: claimbot feeds status",
    no_args_is_help=True,
)
app.add_typer(feeds_app, name="feeds")

# emoji off too: rich would turn ":smile:" in a headline into an emoji, changing the data.
out = Console(markup=False, highlight=False, emoji=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, emoji=False, soft_wrap=True)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn our own errors into one readable line and exit code 1."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BotError as exc:
            for line in str(exc).splitlines():
                err.print(Text(f"error: {line}", style="red"))
            raise typer.Exit(1) from exc

    return wrapper


def _settings(**overrides: Any) -> Settings:
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _sink(settings: Settings) -> AlertSink:
    if settings.slack_bot_token:
        sender = SlackSender(settings.slack_bot_token, base_url=settings.slack_api_url)
        return SlackSink(sender, interactive=bool(settings.slack_app_token))
    if settings.slack_webhook_url:
        _notice(
            settings,
            "posting through an incoming webhook: no threads, edits or feedback buttons"
            " (set SLACK_BOT_TOKEN for those)",
        )
        return WebhookSink(settings.slack_webhook_url)
    _notice(
        settings,
        "dry run: SLACK_BOT_TOKEN is not set, so alerts are printed here instead of posted",
    )
    return TerminalSink(sys.stdout)


def _notice(settings: Settings, text: str) -> None:
    """A start-up notice: yellow on stderr, or a log record when logs are JSON (so that
    every line a log pipeline reads is JSON)."""
    if settings.log_format == "json":
        logging.getLogger("claimbot.cli").warning("notice text=%s", text)
    else:
        err.print(Text(text, style="yellow"))


def _version(value: bool) -> None:
    if value:
        out.print(f"claimbot {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """claimbot: claim-monitoring alerts from news feeds to Slack."""


ClaimsOption = Annotated[
    Path | None, typer.Option("--claims", help="Claims file (default: CLAIMBOT_CLAIMS_FILE).")
]
FeedsOption = Annotated[
    Path | None, typer.Option("--feeds", help="Feeds file (default: CLAIMBOT_FEEDS_FILE).")
]


@app.command()
@handle_errors
def run(claims: ClaimsOption = None, feeds: FeedsOption = None) -> None:
    """Run the bot: poll due feeds and deliver alerts until SIGINT/SIGTERM.

    Example: SLACK_BOT_TOKEN=xoxb-... claimbot run
    """
    from bot.scheduler import Runner
    from bot.store import Store

    settings = _settings(claims_file=claims, feeds_file=feeds)
    store = Store(settings.database_url)
    try:
        Runner(settings, store, _sink(settings)).run()
    finally:
        store.close()


@app.command()
@handle_errors
def poll(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (the default).")] = True,
    claims: ClaimsOption = None,
    feeds: FeedsOption = None,
) -> None:
    """Poll every enabled feed once, deliver pending alerts, print a summary, exit.

    Exits 0 even when some feeds failed (they are listed); 1 when it could not run.
    Example: claimbot poll --once
    """
    from bot.pipeline import MatcherFactory, Pipeline
    from bot.store import Store

    settings = _settings(claims_file=claims, feeds_file=feeds)
    claim_set = load_claims(settings.claims_file)
    feed_set = load_feeds(settings.feeds_file)
    sink = _sink(settings)
    store = Store(settings.database_url)
    pipeline: Pipeline | None = None
    try:
        watchlist = MatcherFactory.from_settings(settings).build(claim_set.claims)
        pipeline = Pipeline(settings, store, watchlist)
        summary = pipeline.poll(feed_set.enabled)
        delivered = pipeline.deliver(sink, limit=10_000)
        pending = store.alert_counts().get("pending", 0)
    finally:
        if pipeline is not None:
            pipeline.close()
        store.close()
    _print_poll_table(summary.feeds)
    out.print(
        f"{len(summary.feeds)} feeds polled, {len(summary.failed)} failed; "
        f"{summary.total('new_items')} new items, {summary.total('new_matches')} matches; "
        f"alerts: {delivered.sent} delivered{_copies_note(delivered.replies)},"
        f" {delivered.failed} failed, {pending} pending"
    )
    if delivered.paused:
        err.print(Text(f"delivery paused: {delivered.paused}", style="red"))


def _copies_note(replies: int) -> str:
    if not replies:
        return ""
    return f" (+{replies} cop{'y' if replies == 1 else 'ies'} of a story, in its thread)"


def _print_poll_table(outcomes: Any) -> None:
    table = Table(title="feeds", show_lines=False)
    for column in ("feed", "status", "new items", "matches", "alerts", "error"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            o.name, o.status, str(o.new_items), str(o.new_matches), str(o.new_alerts),
            o.error or "",
        )
    out.print(table)


@app.command()
@handle_errors
def demo(
    claims: ClaimsOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the pipeline's log.")] = False,
) -> None:
    """Run the real pipeline on the bundled sample feeds, served on 127.0.0.1, and show alerts.

    Uses a temporary SQLite database and prints alerts (or posts them when
    SLACK_BOT_TOKEN is set). Stops by itself. Example: claimbot demo
    """
    from bot.demo import run_demo

    settings = _settings(claims_file=claims, log_level=None if verbose else "WARNING")
    out.print(Text("claimbot demo: sample feeds served on 127.0.0.1, temporary database",
                   style="bold"))
    report = run_demo(settings, _sink(settings))
    out.print()
    _print_poll_table(report.first.feeds)
    first, second = report.first, report.second
    not_modified = sum(1 for f in second.feeds if f.status == "not-modified")
    out.print(
        f"first pass: {len(first.feeds)} feeds, {first.total('new_items')} items, "
        f"{first.total('new_matches')} matches, {report.delivered.sent} alerts delivered"
        f"{_copies_note(report.delivered.replies)}, "
        f"{report.items - report.matched_items} items matched no claim"
    )
    out.print(
        f"second pass: {not_modified} of {len(second.feeds)} feeds unchanged (304), "
        f"{second.total('new_items')} new items, {report.second_delivered.sent} new alerts"
    )


@claims_app.command("list")
@handle_errors
def claims_list(claims: ClaimsOption = None) -> None:
    """List the watched claims. Example: claimbot claims list"""
    settings = _settings(claims_file=claims)
    claim_set = load_claims(settings.claims_file)
    table = Table(title=f"{len(claim_set.claims)} claims in {claim_set.path}")
    table.add_column("id", min_width=max((len(c.id) for c in claim_set.claims), default=2))
    for column in ("enabled", "title", "channel", "tags"):
        table.add_column(column)
    for c in claim_set.claims:
        table.add_row(
            c.id, "yes" if c.enabled else "no", c.title, c.channel or settings.slack_channel,
            ", ".join(c.tags),
        )
    out.print(table)


@claims_app.command("validate")
@handle_errors
def claims_validate(
    path: Annotated[Path | None, typer.Argument(help="Claims file (default: the configured one).")]
    = None,
) -> None:
    """Check a claims file: YAML, fields, ids, queries. Exits 1 with file:line on a problem.

    Example: claimbot claims validate config/claims.yaml
    """
    settings = _settings()
    claim_set = load_claims(path or settings.claims_file)
    out.print(f"{claim_set.path}: {len(claim_set.claims)} claims OK")


@claims_app.command("draft")
@handle_errors
def claims_draft(
    article: Annotated[Path, typer.Argument(help="The article: plain text or markdown.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the drafts here, not stdout.")
    ] = None,
    max_drafts: Annotated[int, typer.Option("--max", min=1, help="Most drafts to propose.")]
    = 30,
) -> None:
    """Propose draft claims from an article: one per attributed statement, with its sentence,
    source, entities and a suggested query, as YAML to edit and paste into claims.yaml.

    Drafts are disabled and never activated by this command; try one with
    `claimbot backtest --claim ID` once it is in the claims file.
    Example: claimbot claims draft article.txt -o drafts.yaml
    """
    from bot.drafting import draft_claims, render_drafts

    try:
        text = article.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(article)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(article)) from exc
    drafts = draft_claims(text, max_drafts=max_drafts)
    if not drafts:
        err.print(f"{article}: no attributed statements found (nothing to draft)")
        raise typer.Exit(1)
    rendered = render_drafts(drafts, article=str(article))
    if output is None:
        out.print(rendered, end="", soft_wrap=True)
    else:
        output.write_text(rendered, encoding="utf-8")
        out.print(f"{len(drafts)} draft claims written to {output} (all enabled: false)")


@claims_app.command("test")
@handle_errors
def claims_test(
    text: Annotated[str, typer.Argument(help="Text to try, e.g. a headline and summary.")],
    claim: Annotated[str | None, typer.Option("--claim", help="Only this claim id.")] = None,
    claims: ClaimsOption = None,
) -> None:
    """Show, for every claim, how TEXT scores against it and why.

    Example: claimbot claims test "Venezuela says Russian S-300 systems failed"
    """
    settings = _settings(claims_file=claims)
    claim_set = load_claims(settings.claims_file)
    if claim is None:
        chosen = list(claim_set.enabled)
    else:  # one claim, even a disabled draft: trying it before enabling it is the point
        chosen = [c.model_copy(update={"enabled": True}) for c in claim_set.claims
                  if c.id == claim]
        if not chosen:
            raise ConfigError(f"no claim with id {claim!r}", path=str(claim_set.path))
    from bot.pipeline import MatcherFactory  # here: every other command starts faster

    matcher = MatcherFactory.from_settings(settings).build(chosen).matcher
    ranked = {m.claim_id: m for m in matcher.rank(Item(identity="cli", title=text))}
    table = Table(title="claims test")
    table.add_column("claim", min_width=max((len(c.id) for c in chosen), default=5))
    for column in ("score", "alert at", "verdict", "why"):
        table.add_column(column)
    for c in chosen:
        m = ranked.get(c.id)
        threshold = c.alert_at if c.alert_at is not None else DEFAULT_ALERT_AT
        if m is None:
            reason = "query did not match" if c.query else "no statement words found"
            table.add_row(c.id, "-", f"{threshold:.2f}", "no match", reason)
            continue
        suggest = c.suggest_at if c.suggest_at is not None else DEFAULT_SUGGEST_AT
        verdict = "ALERT" if m.alert else "suggest" if m.score >= suggest else "below threshold"
        why = _explain(m)
        table.add_row(c.id, f"{m.score:.2f}", f"{threshold:.2f}", verdict, why)
    out.print(table)


def _explain(match: Match) -> str:
    """One line on why a claim scored what it did: gate, score parts, matched words."""
    evidence = match.evidence
    parts = ["query matched" if evidence.query_matched else "no query"]
    parts.append(f"lexical {evidence.lexical:.2f} (BM25 {evidence.bm25:.1f})")
    if evidence.semantic is not None:
        parts.append(f"semantic {evidence.semantic:.2f}")
    if evidence.terms:
        parts.append("words: " + ", ".join(evidence.terms))
    return "; ".join(parts)


def _read_items(path: Path) -> Iterator[tuple[str, Item]]:
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(path)) from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                item_id = str(data["id"])
                title = str(data["title"])
            except json.JSONDecodeError as exc:
                raise ConfigError(f"invalid JSON: {exc.msg}", path=str(path), line=number) from exc
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    "each line needs 'id' and 'title'", path=str(path), line=number
                ) from exc
            yield item_id, Item(
                identity=item_id,
                title=title,
                summary=str(data.get("summary") or ""),
                content=str(data.get("text") or data.get("content") or ""),
                link=data.get("link"),
                published=_parse_published(data.get("published"), path, number),
            )


def _parse_published(value: object, path: Path, line: int) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(
            f"published {value!r} is not an ISO date", path=str(path), line=line
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
@handle_errors
def backtest(
    claims: Annotated[
        Path | None, typer.Option("--claims", help="Claims: YAML or JSONL (default: configured).")
    ] = None,
    items: Annotated[
        Path | None, typer.Option("--items", help="Items JSONL: id, title[, summary...].")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Matches kept per item.")] = 5,
    claim: Annotated[
        str | None,
        typer.Option("--claim", help="Replay this claim over the stored items instead."),
    ] = None,
    since: Annotated[
        str, typer.Option("--since", help="With --claim: items first seen since (30d, a date).")
    ] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="With --claim: the report as JSON.")]
    = False,
) -> None:
    """Match items against claims offline; print one JSON line per item, best match first.

    With --claim (and no --items), replay that claim, as it is in the claims file now,
    over the items already stored: how many it would alert on, its best matches with
    their evidence, and which alerts the stored version sent that it would drop or add.

    Example: claimbot backtest --claims config/claims.yaml --items items.jsonl --top-k 5
    Example: claimbot backtest --claim air-defence-failure --since 30d
    """
    if items is None:
        if claim is None:
            raise typer.BadParameter("give --items FILE, or --claim ID to replay stored items")
        _replay_stored(claims, claim, since, as_json)
        return
    settings = _settings(log_level="WARNING")
    claim_set = load_claims(claims or settings.claims_file)
    chosen = [c for c in claim_set.claims if c.enabled or c.id == claim]
    if claim is not None:
        chosen = [c for c in chosen if c.id == claim]
        if not chosen:
            raise ConfigError(f"no claim with id {claim!r}", path=str(claim_set.path))
    from bot.pipeline import MatcherFactory  # here: every other command starts faster

    matcher = MatcherFactory.from_settings(settings).build(
        [c.model_copy(update={"enabled": True}) for c in chosen]
    ).matcher
    write = sys.stdout.write
    for batch in _batches(_read_items(items), 64):
        ranked_batch = matcher.rank_many([item for _, item in batch], top_k)
        for (item_id, _), ranked in zip(batch, ranked_batch, strict=True):
            write(json.dumps(_backtest_record(item_id, ranked), ensure_ascii=False) + "\n")


def _replay_stored(claims: Path | None, claim_id: str, since: str, as_json: bool) -> None:
    from bot.cli_history import print_replay, replay_from_store
    from bot.when import TimeSpecError, parse_since, utc_now

    settings = _settings(log_level="WARNING")
    claim_set = load_claims(claims or settings.claims_file)
    candidate = claim_set.get(claim_id)
    if candidate is None:
        raise ConfigError(f"no claim with id {claim_id!r}", path=str(claim_set.path))
    try:
        start = parse_since(since, utc_now())
    except TimeSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    report = replay_from_store(settings, claim_set.claims, candidate, start)
    if as_json:
        out.print(json.dumps(report.to_dict(), ensure_ascii=False), soft_wrap=True)
    else:
        print_replay(report)


def _batches(pairs: Iterator[tuple[str, Item]], size: int) -> Iterator[list[tuple[str, Item]]]:
    batch: list[tuple[str, Item]] = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _backtest_record(item_id: str, ranked: list[Match]) -> dict[str, Any]:
    """One line of the backtest contract: the item and its matches, best first."""
    return {
        "item_id": item_id,
        "matches": [
            {
                "claim_id": m.claim_id,
                "score": m.score,
                "alert": m.alert,
                "evidence": {
                    "terms": list(m.evidence.terms),
                    "sentence": m.evidence.sentence,
                    "query_matched": m.evidence.query_matched,
                    "lexical": m.evidence.lexical,
                    "semantic": m.evidence.semantic,
                },
            }
            for m in ranked
        ],
    }


def main() -> None:
    app()


# Register more commands on ``app``; they need the helpers above.
# cli_alerts: alerts, stats, stories. cli_history: matches, feeds status.
# cli_db: db. cli_doctor: doctor.
from bot import cli_alerts, cli_config, cli_db, cli_doctor, cli_history  # noqa: E402, F401
