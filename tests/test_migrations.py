"""Schema migrations (Alembic) on both backends: a new database, a database from before
migrations, several workers starting at once, and ``claimbot db`` through the CLI."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot.cli import app
from bot.store import Store
from bot.store.schema import (
    BASELINE,
    current_revision,
    head_revision,
    schema_state,
    upgrade_schema,
)
from bot.store.store import create_db_engine
from tests.support.alembic_run import migrate

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)



def _not_full_text(obj: object, name: str | None, kind: str, reflected: bool, _to: object) -> bool:
    """The full-text index's own objects (``bot.store.search`` versions them, not Alembic):
    SQLite's FTS5 tables, PostgreSQL's tsvector column and its GIN index."""
    if kind == "table":
        return name in SQLModel.metadata.tables
    return name not in {"search_document", "ix_items_search_document"}


def test_a_new_database_gets_exactly_the_schema_the_code_declares(database_url: str) -> None:
    """The migrations and the SQLModel tables must agree: a column added to a table without
    a migration (or the reverse) shows up here as a difference."""
    store = Store(database_url)
    try:
        assert schema_state(store.engine).current == head_revision()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _not_full_text}
            )
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == []
    finally:
        store.close()


def test_the_revisions_read_without_alembic_are_alembics(database_url: str) -> None:
    """Start-up reads the head from the migration files and the database's revision with
    one query; both must say what alembic itself says, at every step of the way up."""
    config = Config()
    config.set_main_option("script_location", "bot.store:migrations")
    script = ScriptDirectory.from_config(config)
    assert head_revision() == script.get_current_head()
    engine = create_db_engine(database_url)
    try:
        steps = [r.revision for r in reversed(list(script.walk_revisions()))]
        for revision in [None, *steps]:
            if revision is not None:
                migrate(engine, "upgrade", revision)
            with engine.connect() as connection:
                alembic_says = MigrationContext.configure(connection).get_current_revision()
                assert current_revision(connection) == alembic_says == revision
    finally:
        engine.dispose()


def test_a_database_from_before_migrations_is_adopted_and_upgraded(database_url: str) -> None:
    """The last release before migrations made the baseline's tables and no
    ``alembic_version``; its matches have no feed. Opening it stamps and upgrades it,
    keeping every row, and fills the new column from what is there."""
    engine = create_db_engine(database_url)
    migrate(engine, "upgrade", BASELINE)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("INSERT INTO feeds (id, url, consecutive_failures, items_seen)"
                                " VALUES (7, 'https://a.example/rss', 0, 1)"))
        connection.execute(
            text("INSERT INTO items (id, feed_id, identity, title, summary, content,"
                 " published_estimated, first_seen_at) VALUES (3, 7, 'i', 'Old item', '', '',"
                 " false, :now)"),
            {"now": NOW.replace(tzinfo=None)},
        )
        connection.execute(
            text("INSERT INTO matches (id, claim_id, item_id, score, alert, evidence,"
                 " created_at) VALUES (5, 'c', 3, 0.9, true, '{}', :now)"),
            {"now": NOW.replace(tzinfo=None)},
        )
    engine.dispose()

    store = Store(database_url)
    try:
        assert schema_state(store.engine).up_to_date
        with store.engine.connect() as connection:
            feed_id = connection.execute(text("SELECT feed_id FROM matches WHERE id = 5"))
            assert feed_id.scalar() == 7
        indexes = {i["name"] for i in inspect(store.engine).get_indexes("matches")}
        assert {"ix_matches_feed_created", "ix_matches_score_created"} <= indexes
        assert [m.item_title for m in store.search_matches("old")] == ["Old item"]
    finally:
        store.close()


def test_workers_starting_together_migrate_once(database_url: str) -> None:
    """Four workers open a new database at the same moment: one migrates, the others wait
    for it and find nothing to do; none fails."""
    engines = [create_db_engine(database_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def open_store(engine: Engine) -> None:
        start.wait()
        try:
            upgrade_schema(engine, "test")
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert all(schema_state(e).up_to_date for e in engines)
    for engine in engines:
        engine.dispose()


def test_db_status_and_upgrade_through_the_cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", database_url)
    runner = CliRunner()

    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 1
    assert f"revision none, this claimbot's is {head_revision()}" in status.stdout
    assert "claimbot db upgrade" in status.stdout

    upgrade = runner.invoke(app, ["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    assert f"upgraded from nothing to {head_revision()}" in upgrade.stdout

    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "already at revision" in again.stdout
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0 and "up to date" in status.stdout


def test_db_status_names_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CLAIMBOT_DATABASE_URL", "postgresql+psycopg://claimbot:secret@127.0.0.1:1/claimbot"
    )
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code == 1
    assert "error: database postgresql+psycopg://claimbot:***@127.0.0.1:1/claimbot" in (
        result.stderr
    )
    assert "secret" not in result.output


def test_an_upgrade_cut_short_on_sqlite_leaves_no_half_made_schema(tmp_path: Path) -> None:
    """A bot killed while creating a new SQLite database's tables (the crash test's seed
    20260105 with its anytime kills at 0.5-2 s did it) must not leave some of them behind:
    the next start took those for a database from before migrations, stamped it and ran on
    without the rest ("no such table: feedback" on every delivery, for good). Here the
    baseline fails at its last table, as a kill there would stop it."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:  # not a table: the database still counts as new
            connection.execute(text("CREATE VIEW feedback AS SELECT 1 AS id"))
        with pytest.raises(OperationalError, match="feedback"):
            upgrade_schema(engine, url)
        assert set(inspect(engine).get_table_names()) == set()  # rolled back, all of it
        with engine.begin() as connection:
            connection.execute(text("DROP VIEW feedback"))
        upgrade_schema(engine, url)
        assert schema_state(engine).up_to_date
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
