"""``claimbot db``: the database schema's revision, and upgrading it.

Every claimbot command upgrades the schema when it opens the database, so this
is for operators who want to migrate before they roll out workers, or see
where a database stands. Registered on the main app by ``bot.cli``.
"""

from __future__ import annotations

import typer

from bot.cli import _settings, app, handle_errors, out
from bot.store.schema import schema_state
from bot.store.schema_check import inspect_schema

db_app = typer.Typer(
    help="The database schema: its revision, and upgrading it.\n\nExample: claimbot db upgrade",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Upgrade the database (CLAIMBOT_DATABASE_URL) to this claimbot's schema.

    Safe to run while workers run, and from several places at once: one migrates, the
    others wait and find nothing left to do. A database from before migrations is adopted.
    Example: CLAIMBOT_DATABASE_URL=postgresql+psycopg://bot@db/claimbot claimbot db upgrade
    """
    from bot.store import Store

    settings = _settings()
    before = inspect_schema(settings.database_url)
    store = Store(settings.database_url)
    try:
        after = schema_state(store.engine)
    finally:
        store.close()
    if before.revision == after.current:
        out.print(f"{before.label}: already at revision {after.current} (the newest)")
    else:
        out.print(
            f"{before.label}: upgraded from {before.revision or 'nothing'} to {after.current}"
        )


@db_app.command("status")
@handle_errors
def db_status() -> None:
    """Show the database's schema revision and this claimbot's newest; exit 1 if behind.

    Example: claimbot db status
    """
    state = inspect_schema(_settings().database_url)  # read only: creates nothing
    if state.up_to_date:
        out.print(f"{state.label}: revision {state.revision} (up to date)")
        return
    out.print(
        f"{state.label}: revision {state.revision or 'none'}, this claimbot's is {state.head};"
        " run `claimbot db upgrade` (or start claimbot, which upgrades it)"
    )
    raise typer.Exit(1)
