"""Read a server's freshness hints from response headers, in seconds (pure).

``Cache-Control: max-age`` (less ``Age``) says how long a document stays
fresh; ``Retry-After`` on a 429 or 503 how long to stay away. The scheduler
(``bot.feeds.schedule``) treats both as floors. Anything unreadable is ``None``:
a malformed header never fails a fetch, it just gives no hint.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

__all__ = ["cache_max_age", "retry_after_seconds"]


def cache_max_age(cache_control: str | None, age: str | None = None) -> float | None:
    """Seconds the response stays fresh, from ``Cache-Control`` and ``Age``.

    ``no-cache`` and ``no-store`` give no floor (the server wants revalidation,
    which a conditional GET is); ``s-maxage`` is for shared caches and ignored.
    """
    if not cache_control:
        return None
    max_age: int | None = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return None
        if name == "max-age":
            value = value.strip().strip('"')
            if not value.isdigit():
                return None
            max_age = int(value)
    if max_age is None:
        return None
    spent = int(age.strip()) if age and age.strip().isdigit() else 0
    remaining = max_age - spent
    return float(remaining) if remaining > 0 else None


def retry_after_seconds(
    value: str | None, *, date: str | None = None, now: datetime | None = None
) -> float | None:
    """``Retry-After`` as seconds: delay-seconds, or an HTTP-date.

    A date is measured from the response's own ``Date`` header when it has one
    (so our clock and the server's need not agree), else from ``now``.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    when = _http_date(value)
    if when is None:
        return None
    reference = _http_date(date) if date else None
    if reference is None:
        if now is None:
            return None
        reference = now
    return max(0.0, round((when - reference).total_seconds()))


def _http_date(value: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when
