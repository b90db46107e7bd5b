"""Pure claim matching: query language, normalisation, scoring, evidence.

Nothing here does I/O or reads a clock; a test checks that importing this
package loads none of the adapters' libraries.
"""

from bot.matching.evidence import Evidence
from bot.matching.matcher import DEFAULT_ALERT_AT, DEFAULT_SUGGEST_AT, ClaimRule, Match, Matcher
from bot.matching.query import QueryError, parse_query

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
