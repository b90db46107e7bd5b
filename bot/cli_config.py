"""``claimbot claims show|add|edit|enable|disable|remove`` and ``claimbot feeds
list|add|remove|import-opml|export-opml``: editing the config files from the CLI.

Registered on the ``claims`` and ``feeds`` groups by ``bot.cli``. The edits
themselves (comments kept, validated before writing, atomic, refused over a
concurrent hand edit) are :mod:`bot.config_edit`; this module parses options,
asks, and prints.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from bot.cli import (
    ClaimsOption,
    FeedsOption,
    _settings,
    claims_app,
    err,
    feeds_app,
    handle_errors,
    out,
)
from bot.config import Feed, load_feeds
from bot.config_edit import (
    Change,
    ClaimChange,
    add_claim,
    add_feed,
    import_feeds,
    remove_claim,
    remove_feed,
    replace_claim,
    set_claim_enabled,
    show_claim,
    update_claim,
    write_change,
)
from bot.errors import ConfigError
from bot.opml import OpmlFeed, SkippedOutline, parse_opml, render_opml

HISTORY_KEPT = "stored matches and alerts are kept"
# How many outlines import-opml names when it sets some aside; the rest are counted.
SKIPPED_SHOWN = 5

TitleOption = Annotated[str | None, typer.Option("--title", help="Short label: the alert header.")]
StatementOption = Annotated[
    str | None, typer.Option("--statement", help="The claim in one sentence.")
]
QueryOption = Annotated[
    str | None, typer.Option("--query", help="Boolean query an item must satisfy.")
]
ChannelOption = Annotated[
    str | None, typer.Option("--channel", help="Slack channel for its alerts.")
]
TagsOption = Annotated[
    list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")
]
AlertAtOption = Annotated[
    float | None, typer.Option("--alert-at", min=0, max=1, help="Alert threshold, 0-1.")
]
SuggestAtOption = Annotated[
    float | None, typer.Option("--suggest-at", min=0, max=1, help="Suggestion threshold, 0-1.")
]
SeverityOption = Annotated[
    Literal["low", "normal", "high", "critical"] | None,
    typer.Option("--severity", help="How loudly to alert."),
]
ModeOption = Annotated[
    Literal["realtime", "digest"] | None,
    typer.Option("--mode", help="Alert at once, or in a digest."),
]
StemOption = Annotated[
    str | None, typer.Option("--stem", help="Snowball language for plain query words (en, es).")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
SinceOption = Annotated[
    str, typer.Option("--since", help="With --dry-run: stored items since (30d, a date).")
]


# --- claims -----------------------------------------------------------------------------------


@claims_app.command("show")
@handle_errors
def claims_show(
    claim_id: Annotated[str, typer.Argument(metavar="ID", help="The claim's id.")],
    claims: ClaimsOption = None,
) -> None:
    """Print a claim's YAML exactly as written in the file, comments included.

    Example: claimbot claims show air-defence-failure
    """
    source = show_claim(_claims_path(claims), claim_id)
    out.print(f"# {source.path}:{source.line}")
    sys.stdout.write(source.text)


@claims_app.command("add")
@handle_errors
def claims_add(
    claim_id: Annotated[str, typer.Option("--id", help="Stable lowercase-hyphenated id.")],
    title: Annotated[str, typer.Option("--title", help="Short label: the alert header.")],
    statement: Annotated[str, typer.Option("--statement", help="The claim in one sentence.")],
    query: QueryOption = None,
    channel: ChannelOption = None,
    tag: TagsOption = None,
    alert_at: AlertAtOption = None,
    suggest_at: SuggestAtOption = None,
    severity: SeverityOption = None,
    mode: ModeOption = None,
    stem: StemOption = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check it, print it, replay it on stored items; write nothing."
        ),
    ] = False,
    since: SinceOption = "30d",
    claims: ClaimsOption = None,
) -> None:
    """Add a claim at the end of the claims file, checked before anything is written.

    --dry-run also matches the new claim against the items already stored (since
    --since) and shows what it would have alerted on.

    Example: claimbot claims add --id s300-resold --title "S-300s resold" --statement "..."
    --query "S-300 AND resold" --tag venezuela --dry-run
    """
    fields = {
        "id": claim_id, "title": title, "statement": statement, "query": query,
        "tags": tag or None, "channel": channel, "alert_at": alert_at, "suggest_at": suggest_at,
        "severity": severity, "mode": mode, "stem": stem, "enabled": False if disabled else None,
    }
    # Validated, not written: change.claim (the new Claim) and change.claims (the whole new
    # set) are what a dry run, or a backtest against stored items, looks at first.
    change = add_claim(_claims_path(claims), fields)
    if dry_run:
        out.print(f"dry run: would add at {change.path}:{change.line} (nothing written):")
        sys.stdout.write(change.snippet)
        _replay(change, since)
        return
    write_change(change)
    out.print(f"added claim {claim_id} at {change.path}:{change.line}")


@claims_app.command("edit")
@handle_errors
def claims_edit(
    claim_id: Annotated[str, typer.Argument(metavar="ID", help="The claim's id.")],
    title: TitleOption = None,
    statement: StatementOption = None,
    query: QueryOption = None,
    channel: ChannelOption = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Replace the tags; repeat for several.")
    ] = None,
    alert_at: AlertAtOption = None,
    suggest_at: SuggestAtOption = None,
    severity: SeverityOption = None,
    mode: ModeOption = None,
    stem: StemOption = None,
    no_query: Annotated[bool, typer.Option("--no-query", help="Remove the query.")] = False,
    no_channel: Annotated[bool, typer.Option("--no-channel", help="Remove the channel.")] = False,
    no_tags: Annotated[bool, typer.Option("--no-tags", help="Remove the tags.")] = False,
    no_alert_at: Annotated[
        bool, typer.Option("--no-alert-at", help="Back to the default alert threshold.")
    ] = False,
    no_suggest_at: Annotated[
        bool, typer.Option("--no-suggest-at", help="Back to the default suggestion threshold.")
    ] = False,
    no_stem: Annotated[bool, typer.Option("--no-stem", help="Match words exactly.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the change and replay it on stored items; write nothing."
        ),
    ] = False,
    since: SinceOption = "30d",
    claims: ClaimsOption = None,
) -> None:
    """Change a claim's fields in place; with no field options, open it in $EDITOR.

    --dry-run shows the alerts the change would add and drop among the stored items.

    Comments and key order stay. The result is checked before it is written; on a
    problem nothing changes. The id cannot change: stored matches refer to it.
    Example: claimbot claims edit air-defence-failure --alert-at 0.6 --no-channel
    """
    values: dict[str, object | None] = {
        "title": title, "statement": statement, "query": query, "channel": channel,
        "tags": tag, "alert_at": alert_at, "suggest_at": suggest_at, "severity": severity,
        "mode": mode, "stem": stem,
    }
    removals = {
        "query": no_query, "channel": no_channel, "tags": no_tags, "alert_at": no_alert_at,
        "suggest_at": no_suggest_at, "stem": no_stem,
    }
    changes = _field_changes(values, removals)
    path = _claims_path(claims)
    if not changes:
        if dry_run:
            raise typer.BadParameter("--dry-run needs field options (it does not open $EDITOR)")
        _edit_in_editor(path, claim_id)
        return
    change = update_claim(path, claim_id, changes)
    if dry_run:
        out.print(f"dry run: {change.path}:{change.line} would read (nothing written):")
        sys.stdout.write(change.snippet)
        _replay(change, since)
        return
    _write_claim_change(change, f"updated claim {claim_id}")


def _replay(change: ClaimChange, since: str) -> None:
    """Show what the changed claim would have done over the stored items."""
    from bot.cli_history import print_replay, replay_from_store
    from bot.when import TimeSpecError, parse_since, utc_now

    assert change.claim is not None
    try:
        start = parse_since(since, utc_now())
    except TimeSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    out.print()
    report = replay_from_store(_settings(log_level="WARNING"), change.claims.claims, change.claim,
                               start)
    print_replay(report)


def _field_changes(
    values: dict[str, object | None], removals: dict[str, bool]
) -> dict[str, object | None]:
    """Fields to set (a value) or remove (None); setting and removing one field is an error."""
    both = [key for key, remove in removals.items() if remove and values.get(key) is not None]
    if both:
        flag = both[0].replace("_", "-")
        raise ConfigError(f"--{flag} and --no-{flag} contradict each other: give one")
    changes: dict[str, object | None] = {k: v for k, v in values.items() if v is not None}
    changes.update({key: None for key, remove in removals.items() if remove})
    return changes


def _edit_in_editor(path: Path, claim_id: str) -> None:
    """Open the claim in $EDITOR and apply the result, or change nothing.

    A rejected edit is kept (its path is printed), so the work is not lost.
    """
    source = show_claim(path, claim_id)
    folder = Path(tempfile.mkdtemp(prefix="claimbot-edit-"))
    draft = folder / "claim.yaml"
    keep = False
    try:
        draft.write_text(source.text, encoding="utf-8")
        _run_editor(draft)
        edited = draft.read_text(encoding="utf-8")
        if edited == source.text:
            out.print(f"{path}: nothing to change")
            return
        keep = True
        change = replace_claim(path, claim_id, edited, source=str(draft), shown=source)
        _write_claim_change(change, f"updated claim {claim_id}")
        keep = False
    finally:
        if keep:
            err.print(f"your edit is kept in {draft}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _run_editor(draft: Path) -> None:
    editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    try:
        status = subprocess.run([*shlex.split(editor), str(draft)], check=False).returncode
    except OSError as exc:
        raise ConfigError(f"cannot start the editor {editor!r}: {exc}; set $EDITOR") from exc
    if status != 0:
        raise ConfigError(f"the editor {editor!r} exited with status {status}; nothing changed")


def _write_claim_change(change: ClaimChange, done: str) -> None:
    if change.unchanged:
        out.print(f"{change.path}: nothing to change")
        return
    write_change(change)
    out.print(f"{done} ({change.path}:{change.line})")


@claims_app.command("enable")
@handle_errors
def claims_enable(
    claim_id: Annotated[str, typer.Argument(metavar="ID", help="The claim's id.")],
    claims: ClaimsOption = None,
) -> None:
    """Switch a claim back on (removes its `enabled: false`).

    Example: claimbot claims enable air-defence-failure
    """
    change = set_claim_enabled(_claims_path(claims), claim_id, True)
    _write_claim_change(change, f"enabled claim {claim_id}")


@claims_app.command("disable")
@handle_errors
def claims_disable(
    claim_id: Annotated[str, typer.Argument(metavar="ID", help="The claim's id.")],
    claims: ClaimsOption = None,
) -> None:
    """Switch a claim off (`enabled: false`): it stops matching, and keeps its history.

    Example: claimbot claims disable air-defence-failure
    """
    change = set_claim_enabled(_claims_path(claims), claim_id, False)
    _write_claim_change(change, f"disabled claim {claim_id}")


@claims_app.command("remove")
@handle_errors
def claims_remove(
    claim_id: Annotated[str, typer.Argument(metavar="ID", help="The claim's id.")],
    yes: YesOption = False,
    claims: ClaimsOption = None,
) -> None:
    """Remove a claim from the claims file; its stored matches and alerts stay.

    Comment lines directly above it go too, unless the next claim has none of its
    own (then they may be a heading for it, and stay). Shows what goes and asks first.
    Example: claimbot claims remove air-defence-failure --yes
    """
    change = remove_claim(_claims_path(claims), claim_id)
    _confirm_removal(change, f"claim {claim_id}", yes)
    write_change(change)
    out.print(f"removed claim {claim_id} from {change.path}; {HISTORY_KEPT}")


def _confirm_removal(change: Change, what: str, yes: bool) -> None:
    if yes:
        return
    out.print(f"{change.path}:{change.line}:")
    sys.stdout.write(change.snippet)
    typer.confirm(f"remove {what}?", abort=True)


def _claims_path(claims: Path | None) -> Path:
    return _settings(claims_file=claims).claims_file


# --- feeds ------------------------------------------------------------------------------------


@feeds_app.command("list")
@handle_errors
def feeds_list(feeds: FeedsOption = None) -> None:
    """List the polled feeds. Example: claimbot feeds list"""
    settings = _settings(feeds_file=feeds)
    feed_set = load_feeds(settings.feeds_file)
    default = f"{format_duration(settings.poll_interval)} (default)"
    table = Table(title=f"{len(feed_set.feeds)} feeds in {feed_set.path}")
    for column in ("name", "url", "interval", "tags", "enabled"):
        table.add_column(column)
    for feed in feed_set.feeds:
        interval = format_duration(feed.interval) if feed.interval else default
        table.add_row(feed.name or "", feed.url, interval, ", ".join(feed.tags),
                      "yes" if feed.enabled else "no")
    out.print(table)


@feeds_app.command("add")
@handle_errors
def feeds_add(
    url: Annotated[str, typer.Argument(help="Feed URL, or a file path relative to the file.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Polling interval: 90s, 10m, 1h.")
    ] = None,
    tag: TagsOption = None,
    feeds: FeedsOption = None,
) -> None:
    """Add a feed at the end of the feeds file; a URL already listed is refused.

    Example: claimbot feeds add https://www.france24.com/es/rss --name "France 24" --tag es
    """
    fields = {"url": url, "name": name, "interval": interval, "tags": tag or None}
    change = add_feed(_feeds_path(feeds), fields)
    write_change(change)
    out.print(f"added feed {url} at {change.path}:{change.line}")


@feeds_app.command("remove")
@handle_errors
def feeds_remove(
    url_or_name: Annotated[str, typer.Argument(metavar="URL_OR_NAME", help="Feed URL or name.")],
    yes: YesOption = False,
    feeds: FeedsOption = None,
) -> None:
    """Remove a feed, by URL or name, from the feeds file; items fetched from it stay.

    Comment lines directly above it go too, unless the next feed has none of its own
    (a group heading like "# --- Spanish ---" then stays, above that feed).
    Example: claimbot feeds remove "The Moscow Times" --yes
    """
    change = remove_feed(_feeds_path(feeds), url_or_name)
    _confirm_removal(change, f"feed {url_or_name!r}", yes)
    write_change(change)
    out.print(f"removed feed {url_or_name} from {change.path}; stored items are kept")


@feeds_app.command("import-opml")
@handle_errors
def feeds_import_opml(
    file: Annotated[Path, typer.Argument(metavar="FILE.opml", help="OPML 1.0 or 2.0 file.")],
    tag: TagsOption = None,
    feeds: FeedsOption = None,
) -> None:
    """Add every feed of an OPML file (folders become tags), skipping those already listed.

    Only http:// and https:// feeds are imported: an outline whose URL is a local
    file path (or file://, ftp://...) is skipped and named, and the rest imported.
    Example: claimbot feeds import-opml subscriptions.opml --tag imported
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(file)) from exc
    found = parse_opml(data, source=str(file))
    change = import_feeds(_feeds_path(feeds), [_feed_fields(f, tag or []) for f in found.feeds])
    write_change(change)
    out.print(
        f"{change.path}: added {len(change.added)} feeds, skipped {len(change.skipped)}"
        " already listed"
    )
    _report_skipped(file, found.skipped)


def _report_skipped(file: Path, skipped: tuple[SkippedOutline, ...]) -> None:
    """Name the first few outlines not imported (not web feeds), with why; count the rest."""
    if not skipped:
        return
    err.print(
        f"{file}: not imported: {len(skipped)} outline{'s' if len(skipped) != 1 else ''}"
        " whose feed URL is not http:// or https://"
    )
    for outline in skipped[:SKIPPED_SHOWN]:
        err.print(f"  {file}:{outline.line}: {outline.url!r}: {outline.reason}")
    if len(skipped) > SKIPPED_SHOWN:
        err.print(f"  and {len(skipped) - SKIPPED_SHOWN} more")


def _feed_fields(feed: OpmlFeed, tags: list[str]) -> dict[str, object]:
    every_tag = list(dict.fromkeys([*tags, *feed.tags]))
    return {
        "url": feed.url, "name": feed.name, "interval": feed.interval,
        "tags": every_tag or None, "enabled": None if feed.enabled else False,
    }


@feeds_app.command("export-opml")
@handle_errors
def feeds_export_opml(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of to stdout.")
    ] = None,
    feeds: FeedsOption = None,
) -> None:
    """Write the feeds as OPML 2.0, for feed readers (import-opml reads it back).

    Example: claimbot feeds export-opml -o feeds.opml
    """
    feed_set = load_feeds(_feeds_path(feeds))
    document = render_opml([_opml_feed(feed) for feed in feed_set.feeds])
    if output is None:
        sys.stdout.write(document)
        return
    try:
        output.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(output)) from exc
    out.print(f"wrote {len(feed_set.feeds)} feeds to {output}")


def _opml_feed(feed: Feed) -> OpmlFeed:
    interval = format_duration(feed.interval) if feed.interval else None
    return OpmlFeed(feed.url, feed.name, feed.tags, interval, feed.enabled)


def format_duration(seconds: float) -> str:
    """``600`` as ``10m``, ``90`` as ``90s``: the largest unit that divides it evenly."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _feeds_path(feeds: Path | None) -> Path:
    return _settings(feeds_file=feeds).feeds_file
