"""Alembic's entry point, run by ``bot.store.schema`` with an open connection.

claimbot never runs Alembic from an ``alembic.ini``: the store hands it the
connection it already holds (``config.attributes["connection"]``), inside the
lock that keeps several workers from migrating one database at once.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import bot.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
