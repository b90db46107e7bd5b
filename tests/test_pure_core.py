"""The pure core (matching, rendering) loads no adapter library: no I/O can hide in it.
And the CLI starts without the heavy libraries only some commands need."""

from __future__ import annotations

import subprocess
import sys

ADAPTERS = ("sqlmodel", "sqlalchemy", "slack_sdk", "httpx", "feedparser", "apscheduler")
# What every `claimbot` process would pay for at start if a top-level import pulled it in:
# alembic only migrates, numpy and the parsers only serve polls, matching and replays.
NOT_AT_START = ("alembic", "numpy", "feedparser", "aiohttp", "apscheduler", "bot.matching.matcher")


def _loaded(imports: str, names: tuple[str, ...]) -> str:
    code = f"import sys, {imports}; print([m for m in {names!r} if m in sys.modules])"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_matching_and_rendering_import_no_adapters() -> None:
    assert _loaded("bot.matching.matcher, bot.alerts.render, bot.items", ADAPTERS) == "[]"


def test_drafting_alerts_imports_no_adapters() -> None:
    """What a parser process loads to draft alerts (bot.feeds.parse_process): the parser's
    own libraries aside, no store, fetcher, Slack or scheduler code."""
    loaded = _loaded("bot.alert_drafts, bot.store.records", ADAPTERS)
    assert loaded == "[]"


def test_the_cli_starts_without_what_only_some_commands_need() -> None:
    assert _loaded("bot.cli", NOT_AT_START) == "[]"
