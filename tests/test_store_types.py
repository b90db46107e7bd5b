"""The store's UTC datetime column type: the text SQLite stores, and what comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from bot.store.tables import UTCDateTime

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)
AWARE = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=ZONES
)


@given(AWARE)
def test_sqlite_stores_the_text_sqlalchemy_itself_would(value: datetime) -> None:
    """The one-step SQLite processor against TypeDecorator's own two steps (our
    ``process_bind_param``, then SQLite's ``DATETIME`` formatting)."""
    dialect = sqlite.dialect()
    column_type = UTCDateTime()
    ours = column_type._cached_bind_processor(dialect)  # what statements use
    theirs = TypeDecorator.bind_processor(column_type.dialect_impl(dialect), dialect)
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value)
    assert ours(None) is None


def test_sqlite_refuses_a_naive_datetime_as_before() -> None:
    ours = UTCDateTime().bind_processor(sqlite.dialect())
    assert ours is not None
    with pytest.raises(ValueError, match="naive datetime given to the store"):
        ours(datetime(2026, 1, 1))


def test_a_stored_datetime_comes_back_as_the_same_instant_in_utc(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'types.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()))
    table.create(engine)
    values = [datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
              datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    with engine.begin() as connection:
        connection.execute(insert(table), [{"at": v} for v in values])
        back = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        later = connection.execute(
            select(table.c.id).where(table.c.at > datetime(2026, 3, 1, 10, 30, 15, tzinfo=UTC))
        ).scalars().all()
    assert back == values and all(b.tzinfo is UTC for b in back)
    assert later == [1]  # compared as instants: 12:30:15+02:00 is 10:30:15.123456 UTC
    engine.dispose()
