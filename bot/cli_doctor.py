"""``claimbot doctor``: one line per check (OK/WARN/FAIL) and what to do; exit 1 on a FAIL."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli import ClaimsOption, app, out
from bot.config import load_settings
from bot.doctor import DEFAULT_FEED_SAMPLE, Check, run_checks
from bot.errors import ConfigError
from bot.logs import configure_logging


@app.command()
def doctor(
    claims: ClaimsOption = None,
    feeds_file: Annotated[
        str | None,
        typer.Option("--feeds-file", help="Feeds file (default: CLAIMBOT_FEEDS_FILE)."),
    ] = None,
    feeds: Annotated[
        int, typer.Option("--feeds", min=0, help="How many feeds to fetch (0: none).")
    ] = DEFAULT_FEED_SAMPLE,
) -> None:
    """Check the claims and feeds files, the database, Slack (auth.test) and a few feeds.

    Prints OK, WARN or FAIL per check with what to do, and exits 1 when any check
    failed. Changes nothing: the database is only inspected and nothing is posted.
    Example: claimbot doctor --feeds 10
    """
    overrides = {"claims_file": claims, "feeds_file": feeds_file}
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        _print(Check("FAIL", "settings", str(exc), "fix that environment variable or .env"))
        raise typer.Exit(1) from exc
    configure_logging("WARNING", settings.log_format)
    failed = False
    for check in run_checks(settings, feed_sample=feeds):
        _print(check)
        failed = failed or check.level == "FAIL"
    if failed:
        raise typer.Exit(1)


def _print(check: Check) -> None:
    style = {"OK": "green", "WARN": "yellow", "FAIL": "red"}[check.level]
    out.print(check.line(), style=style)
