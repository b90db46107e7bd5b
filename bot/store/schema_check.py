"""Read-only look at a database's schema, for ``claimbot doctor``.

``Store()`` creates what is missing; the doctor must not change anything, so it
inspects instead: which claimbot tables exist, whether they are from an older
claimbot (the same markers ``Store`` refuses), and the recorded schema version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from bot.errors import StoreError
from bot.store import tables  # noqa: F401 - registers the tables on SQLModel.metadata
from bot.store.store import _SCHEMA_DROPPED, _SCHEMA_MARKERS, SCHEMA_VERSION, create_db_engine


@dataclass(frozen=True)
class SchemaReport:
    """What a database holds. ``problem`` is set when claimbot would refuse it."""

    label: str
    present: tuple[str, ...]
    missing: tuple[str, ...]
    version: str | None
    expected_version: str = SCHEMA_VERSION
    problem: str | None = None
    no_file: bool = False  # a SQLite file that does not exist yet

    @property
    def empty(self) -> bool:
        return not self.present


def inspect_schema(url: str) -> SchemaReport:
    """Connect to ``url`` and report its claimbot schema, creating nothing.

    A SQLite file that does not exist is reported as such, not opened: opening
    would create it (and its folder).
    """
    parsed = make_url(url)
    label = parsed.render_as_string(hide_password=True)
    expected = sorted(SQLModel.metadata.tables)
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
        and not database.startswith("file:") and not Path(database).exists()
    ):
        return SchemaReport(label, (), tuple(expected), None, no_file=True)
    engine = create_db_engine(url)
    try:
        inspector = inspect(engine)
        names = set(inspector.get_table_names())
        present = tuple(t for t in expected if t in names)
        missing = tuple(t for t in expected if t not in names)
        problem = None
        for table, column in _SCHEMA_MARKERS:
            if table in names and column not in {c["name"] for c in inspector.get_columns(table)}:
                problem = f"made by an older claimbot (table {table} has no {column} column)"
        for table, column in _SCHEMA_DROPPED:
            if table in names and column in {c["name"] for c in inspector.get_columns(table)}:
                problem = f"made by a development build (table {table} still has {column})"
        version = None
        if "claimbot_meta" in names:
            with engine.connect() as connection:
                version = connection.execute(
                    text("SELECT value FROM claimbot_meta WHERE key = 'schema_version'")
                ).scalar()
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"database {label}: {cause}") from exc
    finally:
        engine.dispose()
    return SchemaReport(label, present, missing, version, problem=problem)
