"""Switching an SQLite file to WAL mode, shared by the store's and the migrations' connections."""

from __future__ import annotations

import sqlite3
import time
from typing import Any


def switch_to_wal(cursor: Any) -> None:
    """Put an SQLite file in WAL mode (it stays so: later connections only check).

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without waiting out its busy timeout, while another connection writes: workers opening
    a new file together would fail. So the switch is retried for a while.
    """
    deadline = time.monotonic() + 30
    while True:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
