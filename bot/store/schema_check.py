"""Read-only look at a database's schema, for ``claimbot doctor``.

``Store()`` migrates what is behind; the doctor must not change anything, so it
only reads: the Alembic revision the database is at, this claimbot's newest,
and, for a database from before migrations, whether it can be adopted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import StoreError
from bot.store.dialects import sqlite_file
from bot.store.schema import (
    adoption_problem,
    current_revision,
    has_claimbot_tables,
    head_revision,
)
from bot.store.store import create_db_engine


@dataclass(frozen=True)
class SchemaReport:
    """Where a database stands. ``problem`` is set when claimbot would refuse it."""

    label: str
    revision: str | None  # None: empty, or made before migrations
    head: str
    has_tables: bool
    problem: str | None = None
    no_file: bool = False  # a SQLite file that does not exist yet

    @property
    def empty(self) -> bool:
        return not self.has_tables

    @property
    def up_to_date(self) -> bool:
        return self.revision == self.head


def inspect_schema(url: str) -> SchemaReport:
    """Connect to ``url`` and report its schema, creating nothing.

    A SQLite file that does not exist is reported as such, not opened: opening
    would create it (and its folder).
    """
    parsed = make_url(url)
    label = parsed.render_as_string(hide_password=True)
    head = head_revision()
    file = sqlite_file(parsed)
    if file is not None and not file.exists():
        return SchemaReport(label, None, head, has_tables=False, no_file=True)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            tables = has_claimbot_tables(connection)
            problem = adoption_problem(connection) if revision is None and tables else None
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"database {label}: {cause}") from exc
    finally:
        engine.dispose()
    return SchemaReport(label, revision, head, has_tables=tables, problem=problem)
