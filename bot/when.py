"""Times as people type them on a command line: ``7d``, ``24h``, ``2026-11-01``.

Pure: the caller passes ``now``. A date alone means that whole day in UTC, so
``--since 2026-11-01 --until 2026-11-01`` is the first of November, all of it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class TimeSpecError(ValueError):
    """A time that is neither a duration ago nor an ISO date or datetime."""


def parse_ago(value: str) -> timedelta | None:
    """``30m``, ``24h``, ``7d``, ``2w`` as a duration; None when it is not one."""
    found = _AGO.match(value)
    if not found:
        return None
    return timedelta(seconds=float(found.group(1)) * _UNIT_SECONDS[found.group(2).lower()])


def parse_since(value: str, now: datetime) -> datetime:
    """The start of a time range: a duration ago, a date's midnight, or a datetime."""
    return _parse(value, now, end=False)


def parse_until(value: str, now: datetime) -> datetime:
    """The (exclusive) end of a range: a date means the end of that day."""
    return _parse(value, now, end=True)


def _parse(value: str, now: datetime, *, end: bool) -> datetime:
    try:
        ago = parse_ago(value)
        if ago is not None:
            return max(now - ago, _EARLIEST)
    except OverflowError:  # 99999999w: before the calendar starts, so: everything
        return _EARLIEST
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            day = datetime.combine(datetime.fromisoformat(text).date(), time(), tzinfo=UTC)
            return day + timedelta(days=1) if end and day.year < 9999 else day
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TimeSpecError(
            f"{value!r} is not a time: use a duration ago (30m, 24h, 7d, 2w), a date"
            " (2026-11-01) or an ISO datetime (2026-11-01T09:30, UTC unless it says)"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def utc_now() -> datetime:
    """Now, timezone-aware (UTC): the clock every adapter reads."""
    return datetime.now(UTC)
