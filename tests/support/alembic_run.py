"""Run Alembic directly on a database, the way an older claimbot's database came to be."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool


def migrate(engine: Engine, action: str, revision: str) -> None:
    """``action`` is ``upgrade`` or ``downgrade``, to ``revision``."""
    config = Config()
    config.set_main_option("script_location", "bot.store:migrations")
    # As bot.store.schema does: SQLite migrates on a connection with foreign keys off.
    migrator = create_engine(engine.url, poolclass=NullPool)
    try:
        with migrator.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        migrator.dispose()
