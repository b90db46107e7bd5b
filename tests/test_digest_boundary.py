"""When a digest claim's period ends: on the hour, or daily at ``digest_at`` (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Claim
from bot.pipeline import digest_boundary

Period = Literal["hourly", "daily"]


def claim(digest: Period = "daily", digest_at: str = "09:00") -> Claim:
    return Claim.model_validate(
        {
            "id": "air-defence",
            "title": "Air defences failed",
            "statement": "Air defences failed.",
            "mode": "digest",
            "digest": digest,
            "digest_at": digest_at,
        }
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
    microsecond: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 25, 10, 0), utc(2026, 11, 25, 10, 0)),
        (utc(2026, 11, 25, 10, 0, 0, 1), utc(2026, 11, 25, 10, 0)),
        (utc(2026, 11, 25, 10, 59, 59, 999999), utc(2026, 11, 25, 10, 0)),
        (utc(2026, 11, 25, 0, 30), utc(2026, 11, 25, 0, 0)),
        (utc(2026, 12, 31, 23, 59, 59), utc(2026, 12, 31, 23, 0)),
    ],
)
def test_hourly_digests_go_out_on_the_hour(now: datetime, expected: datetime) -> None:
    assert digest_boundary(claim("hourly"), now) == expected


def test_hourly_ignores_digest_at() -> None:
    now = utc(2026, 11, 25, 10, 17)

    assert digest_boundary(claim("hourly", "09:45"), now) == utc(2026, 11, 25, 10, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 25, 8, 59, 59), utc(2026, 11, 24, 9, 0)),  # before: yesterday's
        (utc(2026, 11, 25, 9, 0), utc(2026, 11, 25, 9, 0)),  # at: today's
        (utc(2026, 11, 25, 9, 0, 0, 1), utc(2026, 11, 25, 9, 0)),
        (utc(2026, 11, 25, 23, 59), utc(2026, 11, 25, 9, 0)),  # after
        (utc(2026, 11, 26, 0, 0), utc(2026, 11, 25, 9, 0)),
    ],
)
def test_daily_digests_go_out_at_digest_at(now: datetime, expected: datetime) -> None:
    assert digest_boundary(claim(), now) == expected


@pytest.mark.parametrize(
    ("digest_at", "now", "expected"),
    [
        ("23:30", utc(2026, 11, 25, 0, 10), utc(2026, 11, 24, 23, 30)),  # wraps back a day
        ("23:30", utc(2026, 11, 25, 23, 30), utc(2026, 11, 25, 23, 30)),
        ("00:00", utc(2026, 11, 25, 23, 59), utc(2026, 11, 25, 0, 0)),
        ("00:00", utc(2026, 11, 25, 0, 0), utc(2026, 11, 25, 0, 0)),
        ("00:00", utc(2026, 11, 24, 23, 59, 59, 999999), utc(2026, 11, 24, 0, 0)),
        ("09:00", utc(2027, 1, 1, 8, 0), utc(2026, 12, 31, 9, 0)),  # across a new year
        ("09:00", utc(2028, 3, 1, 8, 0), utc(2028, 2, 29, 9, 0)),  # leap day
        ("18:45", utc(2026, 3, 1, 18, 44), utc(2026, 2, 28, 18, 45)),
    ],
)
def test_daily_around_midnight_and_month_ends(
    digest_at: str, now: datetime, expected: datetime
) -> None:
    assert digest_boundary(claim(digest_at=digest_at), now) == expected


@pytest.mark.parametrize(
    ("digest", "now", "expected"),
    [
        # 10:30 in UTC+05:00 is 05:30 UTC: before 09:00 UTC, so yesterday's digest.
        ("daily", datetime(2026, 11, 25, 10, 30, tzinfo=timezone(timedelta(hours=5))),
         utc(2026, 11, 24, 9, 0)),
        # 04:30 in UTC-05:00 is 09:30 UTC: today's digest.
        ("daily", datetime(2026, 11, 25, 4, 30, tzinfo=timezone(timedelta(hours=-5))),
         utc(2026, 11, 25, 9, 0)),
        # 23:30 on the 24th in UTC-10:00 is 09:30 UTC on the 25th.
        ("daily", datetime(2026, 11, 24, 23, 30, tzinfo=timezone(timedelta(hours=-10))),
         utc(2026, 11, 25, 9, 0)),
        # Half-hour zones: hours are UTC hours, not local ones.
        ("hourly", datetime(2026, 11, 25, 10, 15, tzinfo=timezone(timedelta(hours=5.5))),
         utc(2026, 11, 25, 4, 0)),
        ("hourly", datetime(2026, 11, 25, 10, 50, tzinfo=timezone(timedelta(hours=5.5))),
         utc(2026, 11, 25, 5, 0)),
    ],
)
def test_other_time_zones_are_read_as_the_instant_they_are(
    digest: Period, now: datetime, expected: datetime
) -> None:
    boundary = digest_boundary(claim(digest), now)

    assert boundary == expected
    assert boundary.utcoffset() == timedelta(0)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2000, 1, 2),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=13, minutes=45))]
        ),
    ),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    hourly=st.booleans(),
)
def test_boundary_is_the_latest_period_end_not_after_now(
    now: datetime, hour: int, minute: int, hourly: bool
) -> None:
    watched = claim("hourly" if hourly else "daily", f"{hour:02d}:{minute:02d}")

    boundary = digest_boundary(watched, now)

    assert boundary.utcoffset() == timedelta(0)
    assert boundary <= now
    assert now - boundary < (timedelta(hours=1) if hourly else timedelta(days=1))
    assert (boundary.second, boundary.microsecond) == (0, 0)
    if hourly:
        assert boundary.minute == 0
    else:
        assert (boundary.hour, boundary.minute) == (hour, minute)
    assert digest_boundary(watched, boundary) == boundary  # a boundary is its own period end
