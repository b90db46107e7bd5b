"""Alembic migrations of claimbot's schema (see ``bot.store.schema``)."""
