"""The database schema's version: upgrade it with Alembic, adopt pre-migration databases.

Every claimbot process upgrades the schema when it opens the store, so a new
release needs no separate step; ``claimbot db upgrade`` does the same on its
own, for operators who migrate before they roll workers. Several workers
starting together must not migrate one database twice: PostgreSQL serialises
them with an advisory lock, SQLite files with a lock file beside the database.
A database already at the newest revision is only read, never locked.

Databases created before migrations existed have tables but no
``alembic_version``. Those from the last release before migrations (its
"schema version 2") are stamped with the baseline revision and upgraded from
there; older ones are refused with advice, as before.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from bot.errors import StoreError
from bot.store.dialects import sqlite_file, switch_to_wal

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

BASELINE = "0001"
_PG_MIGRATION_LOCK = 7243002
# A column each pre-migration schema version added, to recognise a database from before it.
_PRE_BASELINE_MARKERS = (
    ("alerts", "kind"),
    ("alerts", "shown"),
    ("matches", "story_id"),
    ("stories", "body_fingerprint"),
)
# A column a development build had and the baseline does not.
_DEVELOPMENT_LEFTOVERS = (("stories", "copies"),)


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None: empty or pre-migration) and the newest."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r'^revision\s*=\s*"(\w+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision\s*=\s*(?:"(\w+)"|None)', re.MULTILINE)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "bot.store:migrations")
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration, read from the files without loading alembic (once: every
    ``Store`` asks, and the files do not change under a running process).

    Every ``claimbot`` process checks its database at start, and alembic with its
    templating costs more to import than the check itself; a test compares this with
    alembic's own answer. Our migrations form one line, so the head is the revision
    that no other names as its ``down_revision``.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None and down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    assert len(heads) == 1, f"bot/store/migrations should have one head, has {sorted(heads)}"
    return heads.pop()


def current_revision(connection: Connection) -> str | None:
    """The revision alembic recorded in the database (None: empty or pre-migration)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    found = list(versions)
    if len(found) > 1:
        raise StoreError(f"the database records several schema revisions: {sorted(found)}")
    return found[0] if found else None


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        current = current_revision(connection)
    return SchemaState(current, head_revision())


def upgrade_schema(engine: Engine, label: str) -> SchemaState:
    """Bring the database to the newest revision; returns where it was before.

    Raises ``StoreError`` for a database from a claimbot too old to adopt.
    """
    before = schema_state(engine)
    if before.up_to_date:
        return before
    with _migration_lock(engine), _migration_engine(engine) as migrator:
        with migrator.connect() as connection:
            # Looked at again under the lock: another worker may have just done it.
            current = current_revision(connection)
            if current == before.head:
                return SchemaState(current, before.head)
            if current is None and has_claimbot_tables(connection):
                _check_adoptable(connection, label)
                _run(connection, "stamp", BASELINE)
                log.info("schema_adopted database=%s revision=%s", label, BASELINE)
                current = BASELINE
            _run(connection, "upgrade", "head")
            connection.commit()
        log.info("schema_upgraded database=%s from=%s to=%s", label, current, before.head)
    return SchemaState(current, before.head)


def _run(connection: Connection, action: str, revision: str) -> None:
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    if action == "stamp":
        command.stamp(config, revision)
    else:
        command.upgrade(config, revision)


def has_claimbot_tables(connection: Connection) -> bool:
    """Whether any of claimbot's tables is there: then the database is not new."""
    import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

    existing = set(inspect(connection).get_table_names())
    return bool(existing & set(SQLModel.metadata.tables))


def _check_adoptable(connection: Connection, label: str) -> None:
    problem = adoption_problem(connection)
    if problem is not None:
        raise StoreError(f"database {label} was {problem}")


def adoption_problem(connection: Connection) -> str | None:
    """Why a database made before migrations cannot be adopted (None: it can), with advice."""
    inspector = inspect(connection)
    for table, column in _PRE_BASELINE_MARKERS:
        if inspector.has_table(table):
            columns = {c["name"] for c in inspector.get_columns(table)}
            if column not in columns:
                return (
                    f"created by an older claimbot (table {table} has no {column} column):"
                    " move it aside and start afresh, or keep using the older claimbot with it"
                )
    for table, column in _DEVELOPMENT_LEFTOVERS:
        if inspector.has_table(table) and column in {
            c["name"] for c in inspector.get_columns(table)
        }:
            return (
                f"created by a development build of claimbot (table {table} still has a"
                f" {column} column): move it aside and start afresh"
            )
    return None


def drop_schema(engine: Engine) -> None:
    """Drop claimbot's tables and its migration record: a test's or benchmark's clean slate."""
    import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@contextmanager
def _migration_engine(engine: Engine) -> Iterator[Engine]:
    """The engine migrations run on. SQLite gets a connection of its own with foreign keys
    off (SQLite's default; the store turns them on): batch mode copies a table and drops the
    original, which a table others refer to would refuse. It is closed afterwards.

    Its transactions are SQLite's own (``BEGIN IMMEDIATE`` ... ``COMMIT``), so an upgrade
    is all or nothing: Python's sqlite3 driver would otherwise run each ``CREATE TABLE``
    outside any transaction, and a bot killed while creating a new database's tables left
    some of them behind, which the next start took for a database from before migrations,
    stamped and ran without the missing tables."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    migrator = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": 30})
    event.listen(migrator, "connect", _sqlite_for_migrations)
    event.listen(migrator, "begin", _sqlite_begin)
    try:
        yield migrator
    finally:
        migrator.dispose()


def _sqlite_for_migrations(dbapi_connection: Any, _record: Any) -> None:
    """A busy timeout, WAL as the store uses it (switching modes needs the file to itself,
    and the store's connections may be reading), foreign keys off, and no transactions of
    the driver's own: ``_sqlite_begin`` opens them."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    switch_to_wal(cursor)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # DDL included; the writer from the start


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
                connection.commit()
        return
    file = sqlite_file(engine.url)
    if file is None:
        yield
        return
    lock_path = Path(f"{file}.migrate-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = [
    "BASELINE",
    "SchemaState",
    "adoption_problem",
    "current_revision",
    "drop_schema",
    "has_claimbot_tables",
    "head_revision",
    "schema_state",
    "upgrade_schema",
]
