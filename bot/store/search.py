"""Full-text search over stored items: SQLite FTS5, or PostgreSQL's text search.

Users type a search the way they type one anywhere (``s-300 "air defence"
venezuel*``); :func:`parse_search` turns it into terms once, and each backend
gets its own query built from those terms. Nothing the user types reaches the
database as query syntax, so a stray quote or ``NEAR`` is a word, never an
error from deep inside SQLite.

The SQLite index is an external-content FTS5 table over ``items`` kept in step
by triggers, so it costs no second copy of the text; the PostgreSQL one is a
GIN expression index. Both are created idempotently at start, and an FTS5
table added to an existing database is filled once from the items already
there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Integer, column, func, text
from sqlalchemy.sql.selectable import TextualSelect

from bot.errors import BotError

log = logging.getLogger(__name__)

_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
# PostgreSQL's text search configuration: 'simple' lowercases and does not stem, so it
# works the same for the English, Spanish and Russian feeds alike. Punctuation becomes
# space first because PostgreSQL's own parser reads "S-300" as "s" and "-300".
PG_CONFIG = "simple"
PG_DOCUMENT = (
    "to_tsvector('simple', regexp_replace(coalesce(title, '') || ' ' || coalesce(summary, ''),"
    " '\\W+', ' ', 'g'))"
)


class SearchSyntaxError(BotError):
    """A search with nothing to search for (only punctuation, say)."""


@dataclass(frozen=True)
class SearchTerm:
    """One thing an item must contain: a word, a prefix (``venezuel*``) or a phrase."""

    words: tuple[str, ...]
    prefix: bool = False


def parse_search(query: str) -> tuple[SearchTerm, ...]:
    """Terms, all of which an item must contain (title or summary, any case).

    ``"two words"`` is a phrase; a trailing ``*`` makes a word a prefix;
    punctuation splits words, so ``S-300`` is the phrase ``s 300`` (as the
    index tokenises it).
    """
    terms: list[SearchTerm] = []
    for found in _TOKEN.finditer(query):
        phrase, bare = found.group(1), found.group(2)
        if phrase is not None:
            words = tuple(w.lower() for w in _WORD.findall(phrase))
            if words:
                terms.append(SearchTerm(words))
            continue
        assert bare is not None
        prefix = bare.endswith("*")
        words = tuple(w.lower() for w in _WORD.findall(bare))
        if words:
            terms.append(SearchTerm(words, prefix=prefix))
    if not terms:
        raise SearchSyntaxError(f"nothing to search for in {query!r}: give at least one word")
    return tuple(terms)


def fts5_query(terms: Sequence[SearchTerm]) -> str:
    """An FTS5 MATCH expression: each term a quoted phrase, ANDed; prefixes keep their ``*``."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words) + '"'
        parts.append(quoted + "*" if term.prefix else quoted)
    return " AND ".join(parts)


def pg_tsquery(terms: Sequence[SearchTerm]) -> str:
    """A ``to_tsquery`` string: words joined by ``<->`` in a phrase, terms by ``&``."""
    parts = []
    for term in terms:
        words = list(term.words)
        if term.prefix:
            words[-1] += ":*"
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


# -- index ------------------------------------------------------------------

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, content='items',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS items_fts_insert AFTER INSERT ON items BEGIN"
    " INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS items_fts_delete AFTER DELETE ON items BEGIN"
    " INSERT INTO items_fts(items_fts, rowid, title, summary)"
    " VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER IF NOT EXISTS items_fts_update AFTER UPDATE OF title, summary ON items BEGIN"
    " INSERT INTO items_fts(items_fts, rowid, title, summary)"
    " VALUES ('delete', old.id, old.title, old.summary);"
    " INSERT INTO items_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
    " END",
)


def install_search_index(engine: Engine) -> bool:
    """Create the backend's full-text index if missing; False when the backend has none
    (an SQLite built without FTS5), in which case searches fall back to substring match."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            return _install_fts5(connection)
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(f"CREATE INDEX IF NOT EXISTS ix_items_fulltext ON items USING gin"
                     f" ({PG_DOCUMENT})")
            )
            return True
    return False


def _install_fts5(connection: Connection) -> bool:
    exists = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items_fts'")
    ).first()
    if exists is None:
        try:
            connection.execute(text(_SQLITE_DDL[0]))
        except Exception as exc:  # sqlite3.OperationalError: no such module: fts5
            log.warning("full_text_search unavailable (%s): searches use substring match", exc)
            return False
        # A database from before the index: index what it already holds, once.
        connection.execute(text("INSERT INTO items_fts(items_fts) VALUES ('rebuild')"))
    for statement in _SQLITE_DDL[1:]:
        connection.execute(text(statement))
    return True


def item_ids_matching(dialect: str, terms: Sequence[SearchTerm]) -> TextualSelect:
    """A subquery of the ids of items whose title or summary contain every term."""
    if dialect == "sqlite":
        clause = text("SELECT rowid AS id FROM items_fts WHERE items_fts MATCH :fts").bindparams(
            fts=fts5_query(terms)
        )
    else:
        clause = text(
            f"SELECT id FROM items WHERE {PG_DOCUMENT} @@ to_tsquery('{PG_CONFIG}', :tsq)"
        ).bindparams(tsq=pg_tsquery(terms))
    return clause.columns(column("id", Integer))


def substring_condition(
    title: Any, summary: Any, terms: Sequence[SearchTerm]
) -> list[ColumnElement[bool]]:
    """The fallback without an index: every term's words appear, in title or summary."""
    conditions: list[ColumnElement[bool]] = []
    for term in terms:
        pattern = "%" + "%".join(_escape_like(w) for w in term.words) + "%"
        conditions.append(
            func.lower(title).like(pattern, escape="\\")
            | func.lower(summary).like(pattern, escape="\\")
        )
    return conditions


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__ = [
    "SearchSyntaxError",
    "SearchTerm",
    "fts5_query",
    "install_search_index",
    "item_ids_matching",
    "parse_search",
    "pg_tsquery",
    "substring_condition",
]
