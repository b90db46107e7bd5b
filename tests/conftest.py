"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

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


POSTGRES_URL = os.environ.get(
    "CLAIMBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    except ImportError:
        return "psycopg is not installed (pip install 'claimbot[postgres]')"
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure means: no server to test against here
        return f"no PostgreSQL at {POSTGRES_URL}: {type(exc).__name__}"
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
