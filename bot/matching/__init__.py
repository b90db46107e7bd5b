"""Pure claim matching: query language, normalisation, scoring, evidence.

Nothing here does I/O or reads a clock; a test checks that importing this
package loads none of the adapters' libraries.

The names below load on first use (PEP 562): the matcher pulls in numpy, and
commands that only read the config or the store should not pay for it at start.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.matching.evidence import Evidence
    from bot.matching.matcher import ClaimRule, Match, Matcher
    from bot.matching.query import QueryError, parse_query
    from bot.matching.thresholds import DEFAULT_ALERT_AT, DEFAULT_SUGGEST_AT

_HOME = {
    "DEFAULT_ALERT_AT": "bot.matching.thresholds",
    "DEFAULT_SUGGEST_AT": "bot.matching.thresholds",
    "ClaimRule": "bot.matching.matcher",
    "Evidence": "bot.matching.evidence",
    "Match": "bot.matching.matcher",
    "Matcher": "bot.matching.matcher",
    "QueryError": "bot.matching.query",
    "parse_query": "bot.matching.query",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)


__all__ = [
    "DEFAULT_ALERT_AT",
    "DEFAULT_SUGGEST_AT",
    "ClaimRule",
    "Evidence",
    "Match",
    "Matcher",
    "QueryError",
    "parse_query",
]
