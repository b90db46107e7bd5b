"""``claimbot db``: the database schema's revision, and upgrading it.

Every claimbot command upgrades the schema when it opens the database, so this
is for operators who want to migrate before they roll out workers, or see
where a database stands. Registered on the main app by ``bot.cli``.
"""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.cli import _settings, app, handle_errors, out
from bot.errors import StoreError
from bot.store.schema import SchemaState, schema_state
from bot.store.store import create_db_engine

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
    before = _state(settings.database_url)
    store = Store(settings.database_url)
    try:
        after = schema_state(store.engine)
    finally:
        store.close()
    label = _label(settings.database_url)
    if before.current == after.current:
        out.print(f"{label}: already at revision {after.current} (the newest)")
    else:
        out.print(f"{label}: upgraded from {before.current or 'nothing'} to {after.current}")


@db_app.command("status")
@handle_errors
def db_status() -> None:
    """Show the database's schema revision and this claimbot's newest; exit 1 if behind.

    Example: claimbot db status
    """
    settings = _settings()
    state = _state(settings.database_url)
    label = _label(settings.database_url)
    if state.up_to_date:
        out.print(f"{label}: revision {state.current} (up to date)")
        return
    out.print(
        f"{label}: revision {state.current or 'none'}, this claimbot's is {state.head};"
        " run `claimbot db upgrade` (or start claimbot, which upgrades it)"
    )
    raise typer.Exit(1)


def _label(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _state(url: str) -> SchemaState:
    """The schema state, without upgrading anything (``Store`` would)."""
    engine = create_db_engine(url)
    try:
        return schema_state(engine)
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"database {_label(url)}: {cause}") from exc
    finally:
        engine.dispose()
