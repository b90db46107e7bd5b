"""Shared pytest fixtures."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.store import Store
from bot.store.schema import drop_schema

if TYPE_CHECKING:
    from tests.support.slack_server import SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A running local Slack Web API stand-in; stopped (socket closed) after the test."""
    # Imported here so that collecting tests never depends on this helper.
    from tests.support.slack_server import SlackStandIn

    with SlackStandIn() as stand_in:
        yield stand_in


# pytest-xdist's workers start with COLUMNS=80 and LINES=24 set. rich fixes a console's
# width when it is made with COLUMNS set, so `claimbot`'s consoles, made at import, would
# ignore the width the CLI tests ask for; without it they read it on every print.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

SHARED_POSTGRES_URL = os.environ.get(
    "CLAIMBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# The suite runs in parallel (pytest-xdist); each worker gets a schema of its own in the
# one test database, so one worker's clean slate never drops another's tables. The
# schema is the only one on the search path, so everything claimbot makes lands in it.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
POSTGRES_SCHEMA = f"claimbot_{_WORKER}" if _WORKER else ""
POSTGRES_URL = (
    str(
        make_url(SHARED_POSTGRES_URL).update_query_dict(
            {"options": f"-csearch_path={POSTGRES_SCHEMA}"}
        ).render_as_string(hide_password=False)
    )
    if POSTGRES_SCHEMA
    else SHARED_POSTGRES_URL
)


@functools.cache
def postgres_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here (None: they can; the worker's schema exists)."""
    try:
        engine = create_engine(SHARED_POSTGRES_URL, connect_args={"connect_timeout": 3})
    except ImportError:
        return "psycopg is not installed (pip install 'claimbot[postgres]')"
    try:
        with engine.begin() as connection:
            connection.execute(text("select 1"))
            if POSTGRES_SCHEMA:
                connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {POSTGRES_SCHEMA}"))
    except Exception as exc:  # any failure means: no server to test against here
        return f"no PostgreSQL at {SHARED_POSTGRES_URL}: {type(exc).__name__}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        reason = postgres_reason()
        if reason:
            pytest.skip(reason)
        url = POSTGRES_URL
        engine = create_engine(url)
        drop_schema(engine)
        engine.dispose()
    store = Store(url)
    yield store
    if request.param == "postgres":
        drop_schema(store.engine)
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: an SQLite file, and PostgreSQL where it runs."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'claimbot.db'}"
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    engine = create_engine(POSTGRES_URL)
    drop_schema(engine)
    yield POSTGRES_URL
    drop_schema(engine)
    engine.dispose()
