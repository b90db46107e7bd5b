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
# Text past this many characters is not indexed: a tsvector holds at most 1 MB, and an item
# with a megabyte of summary must not make its feed's poll fail. ASCII punctuation only
# becomes space ([[:punct:]], not \W, which a database with the C locale applies to every
# non-ASCII letter as well).
PG_INDEXED_CHARS = 100_000
PG_DOCUMENT = (
    "to_tsvector('simple', regexp_replace(left(coalesce(title, '') || ' ' || coalesce(summary,"
    f" ''), {PG_INDEXED_CHARS}), '[[:punct:]]+', ' ', 'g'))"
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
    """A ``to_tsquery`` string: words joined by ``<->`` in a phrase, terms by ``&``.

    A word with non-ASCII letters also matches as Capitalised and UPPER: in a database
    with LC_CTYPE=C, PostgreSQL lowercases only ASCII, so "Россия" is indexed as written.
    """
    parts = []
    for term in terms:
        words = [_pg_word(w, prefix=term.prefix and i == len(term.words) - 1)
                 for i, w in enumerate(term.words)]
        parts.append("(" + " <-> ".join(words) + ")")
    return " & ".join(parts)


def _pg_word(word: str, *, prefix: bool) -> str:
    suffix = ":*" if prefix else ""
    if word.isascii():
        return word + suffix
    variants = dict.fromkeys((word, word.capitalize(), word.upper()))
    return "(" + " | ".join(v + suffix for v in variants) + ")"


# -- index ------------------------------------------------------------------
#
# Only items that matched a claim are indexed: search serves ``claimbot matches`` and
# ``/claimbot search``, never the other ~90% of items, and a word common in the feeds but
# rare among matches would otherwise make every search read thousands of unmatched items.
# Triggers on ``matches`` index an item when its first match is stored, whoever writes it.

_FTS_TABLE = "matched_text"
_SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {_FTS_TABLE} USING fts5(title, summary, content='items',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TABLE}_add AFTER INSERT ON matches"
    " WHEN NOT EXISTS (SELECT 1 FROM matches WHERE item_id = new.item_id AND id <> new.id)"
    f" BEGIN INSERT INTO {_FTS_TABLE}(rowid, title, summary)"
    " SELECT id, title, summary FROM items WHERE id = new.item_id; END",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TABLE}_update AFTER UPDATE OF title, summary ON items"
    " WHEN EXISTS (SELECT 1 FROM matches WHERE item_id = new.id)"
    f" BEGIN INSERT INTO {_FTS_TABLE}({_FTS_TABLE}, rowid, title, summary)"
    " VALUES ('delete', old.id, old.title, old.summary);"
    f" INSERT INTO {_FTS_TABLE}(rowid, title, summary) VALUES (new.id, new.title, new.summary);"
    " END",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TABLE}_delete BEFORE DELETE ON items"
    " WHEN EXISTS (SELECT 1 FROM matches WHERE item_id = old.id)"
    f" BEGIN INSERT INTO {_FTS_TABLE}({_FTS_TABLE}, rowid, title, summary)"
    " VALUES ('delete', old.id, old.title, old.summary); END",
)
_SQLITE_TRIGGERS = (f"{_FTS_TABLE}_add", f"{_FTS_TABLE}_update", f"{_FTS_TABLE}_delete")
# An index of this session's development builds, over every item: replaced.
_SQLITE_OLD = (
    "DROP TRIGGER IF EXISTS items_fts_insert",
    "DROP TRIGGER IF EXISTS items_fts_update",
    "DROP TRIGGER IF EXISTS items_fts_delete",
    "DROP TABLE IF EXISTS items_fts",
)

# PostgreSQL keeps the document in a column of ``items`` itself (added here, not in the
# model, so the ORM never reads it), set for matched items only; GIN skips the NULLs. The
# functions and triggers carry a version: a changed document expression gets new ones, and
# the documents are computed again.
_PG_VERSION = "v2"
_PG_TRIGGER = f"claimbot_index_matched_item_{_PG_VERSION}"
_PG_REINDEX = f"claimbot_reindex_item_{_PG_VERSION}"
_PG_OLD = (
    "DROP INDEX IF EXISTS ix_items_fulltext",
    "DROP TRIGGER IF EXISTS claimbot_index_matched_item ON matches",
    "DROP FUNCTION IF EXISTS claimbot_index_matched_item()",
    "DROP TRIGGER IF EXISTS claimbot_reindex_item ON items",
    "DROP FUNCTION IF EXISTS claimbot_reindex_item()",
)
_PG_DDL = (
    "ALTER TABLE items ADD COLUMN IF NOT EXISTS search_document tsvector",
    "CREATE INDEX IF NOT EXISTS ix_items_search_document ON items USING gin (search_document)",
    f"""CREATE OR REPLACE FUNCTION {_PG_TRIGGER}() RETURNS trigger AS $$
    BEGIN
        UPDATE items SET search_document = {PG_DOCUMENT}
        WHERE id = NEW.item_id AND search_document IS NULL;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {_PG_TRIGGER} ON matches",
    f"CREATE TRIGGER {_PG_TRIGGER} AFTER INSERT ON matches"
    f" FOR EACH ROW EXECUTE FUNCTION {_PG_TRIGGER}()",
    f"""CREATE OR REPLACE FUNCTION {_PG_REINDEX}() RETURNS trigger AS $$
    BEGIN
        IF OLD.search_document IS NOT NULL THEN
            NEW.search_document := {PG_DOCUMENT.replace("title", "NEW.title")
                                   .replace("summary", "NEW.summary")};
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {_PG_REINDEX} ON items",
    f"CREATE TRIGGER {_PG_REINDEX} BEFORE UPDATE OF title, summary ON items"
    f" FOR EACH ROW EXECUTE FUNCTION {_PG_REINDEX}()",
    # Every matched item, with this version's expression (older ones may differ).
    f"UPDATE items SET search_document = {PG_DOCUMENT} WHERE id IN (SELECT item_id FROM matches)",
)
# What must exist for the index to be complete; checked in the catalog first, so a store
# opened next to a running poll takes no lock on ``items`` (DDL would wait for the poll).
_PG_READY = (
    "SELECT to_regclass('ix_items_search_document') IS NOT NULL"
    " AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = :matches_trigger)"
    " AND EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = :items_trigger)"
)


def install_search_index(engine: Engine) -> bool:
    """Create the backend's full-text index if missing; False when the backend has none
    (an SQLite built without FTS5), in which case searches fall back to substring match."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            return _install_fts5(connection)
    if engine.dialect.name != "postgresql":
        return False
    with engine.begin() as connection:
        ready = {"matches_trigger": _PG_TRIGGER, "items_trigger": _PG_REINDEX}
        if connection.execute(text(_PG_READY), ready).scalar():
            return True
        # One store at a time: several workers starting together would race on the DDL.
        connection.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
        if connection.execute(text(_PG_READY), ready).scalar():
            return True
        for statement in (*_PG_OLD, *_PG_DDL):
            connection.execute(text(statement))
        log.info("full_text_index_built backend=postgresql version=%s", _PG_VERSION)
    return True


def _install_fts5(connection: Connection) -> bool:
    present = set(connection.execute(
        text("SELECT name FROM sqlite_master WHERE name LIKE :prefix"),
        {"prefix": f"{_FTS_TABLE}%"},
    ).scalars())
    if {_FTS_TABLE, *_SQLITE_TRIGGERS} <= present:
        return True  # nothing to do, and no write lock taken
    if _FTS_TABLE not in present:
        for statement in _SQLITE_OLD:
            connection.execute(text(statement))
        try:
            connection.execute(text(_SQLITE_DDL[0]))
        except Exception as exc:  # sqlite3.OperationalError: no such module: fts5
            log.warning("full_text_search unavailable (%s): searches use substring match", exc)
            return False
        # Matched items stored before the index existed: index them, once.
        connection.execute(text(
            f"INSERT INTO {_FTS_TABLE}(rowid, title, summary) SELECT id, title, summary"
            " FROM items WHERE id IN (SELECT item_id FROM matches)"
        ))
    for statement in _SQLITE_DDL[1:]:
        connection.execute(text(statement))
    return True


def matched_item_hits(dialect: str, terms: Sequence[SearchTerm]) -> TextualSelect:
    """A subquery of the ids of matched items whose title or summary contain every term."""
    if dialect == "sqlite":
        clause = text(
            f"SELECT rowid AS id FROM {_FTS_TABLE} WHERE {_FTS_TABLE} MATCH :fts"
        ).bindparams(fts=fts5_query(terms))
    else:
        clause = text(
            f"SELECT id FROM items WHERE search_document @@ to_tsquery('{PG_CONFIG}', :tsq)"
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
    "matched_item_hits",
    "parse_search",
    "pg_tsquery",
    "substring_condition",
]
