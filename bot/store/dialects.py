"""What differs between SQLite and PostgreSQL, in one place: where an SQLite database's
file is, the INSERT that knows ON CONFLICT, and switching an SQLite file to WAL mode."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL


def sqlite_file(url: URL) -> Path | None:
    """The file of an SQLite database URL; None for other backends and in-memory ones."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else Path(database)


def upsert_insert(dialect: str, table: Any) -> Any:
    """``INSERT`` for ``table`` with ``on_conflict_do_*`` and ``RETURNING``, on either backend."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


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
