"""The pure core (matching, rendering) loads no adapter library: no I/O can hide in it."""

from __future__ import annotations

import subprocess
import sys

ADAPTERS = ("sqlmodel", "sqlalchemy", "slack_sdk", "httpx", "feedparser", "apscheduler")


def test_matching_and_rendering_import_no_adapters() -> None:
    code = (
        "import sys, bot.matching, bot.alerts.render, bot.items;"
        f"print([m for m in {ADAPTERS!r} if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"
