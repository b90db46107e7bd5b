"""The pure "when next" decision: every rule, its bounds, and how the rules combine."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.schedule import (
    Cadence,
    Hints,
    SchedulePolicy,
    decide_next_poll,
    measure_cadence,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
POLICY = SchedulePolicy(
    default_interval=300, min_interval=60, max_interval=3600, max_backoff=21600, jitter=0.1
)
HOUR = 3600.0


def decide(**kwargs: object) -> tuple[float, str]:
    decision = decide_next_poll(now=NOW, policy=kwargs.pop("policy", POLICY), **kwargs)  # type: ignore[arg-type]
    assert decision.at == NOW + timedelta(seconds=decision.interval)
    return decision.interval, decision.reason


def every(minutes: float, count: int = 20) -> list[datetime]:
    """``count`` item dates, one per ``minutes``, the newest just now."""
    return [NOW - timedelta(minutes=minutes * n) for n in range(count)]


# -- the regular interval ------------------------------------------------------------


def test_a_feed_without_facts_uses_the_default_interval() -> None:
    assert decide() == (300, "default")


def test_a_feed_own_interval_is_used_as_written_even_outside_the_bounds() -> None:
    assert decide(feed_interval=7200.0) == (7200, "interval")
    busy = Cadence(since=NOW - timedelta(minutes=20), items=20)
    assert decide(feed_interval=90.0, cadence=busy) == (90, "interval")  # not adapted


def test_a_busy_feed_is_polled_more_often_a_quiet_one_less() -> None:
    # Every 4 minutes: polled every 2 (half a gap) — gap measured up to now, 20 items in 76 min.
    busy = measure_cadence(every(4), NOW)
    assert busy is not None
    interval, reason = decide(cadence=busy)
    assert reason == "adaptive" and interval == pytest.approx(76 * 60 / 20 / 2)
    # Every 40 minutes: polled every ~19 minutes, later than the 5-minute default.
    slow = measure_cadence(every(40), NOW)
    assert slow is not None
    assert decide(cadence=slow)[0] == pytest.approx(19 * 40 * 60 / 20 / 2)


def test_adaptive_interval_stays_within_the_bounds() -> None:
    flood = measure_cadence(every(0.1), NOW)  # ten items a minute
    assert flood is not None and decide(cadence=flood) == (60, "adaptive")
    weekly = measure_cadence(every(7 * 24 * 60, count=5), NOW)
    assert weekly is not None and decide(cadence=weekly) == (3600, "adaptive")


def test_a_feed_that_goes_quiet_slows_down_without_new_items() -> None:
    cadence = measure_cadence(every(2), NOW)  # busy until now
    assert cadence is not None
    soon = decide_next_poll(now=NOW, policy=POLICY, cadence=cadence).interval
    later = decide_next_poll(now=NOW + timedelta(hours=3), policy=POLICY, cadence=cadence)
    assert soon == 60 and later.interval > soon  # same facts, three quiet hours later
    assert later.interval == pytest.approx((3 * HOUR + 38 * 60) / 20 / 2)


def test_measure_cadence() -> None:
    assert measure_cadence([], NOW) is None
    assert measure_cadence([NOW - timedelta(hours=1)], NOW) is None
    assert measure_cadence([NOW - timedelta(hours=1)] * 5, NOW) is None  # one stamp on all
    # Only the newest 20 count; future dates count as now.
    dates = [*every(1, count=30), NOW + timedelta(days=400)]
    cadence = measure_cadence(dates, NOW)
    assert cadence == Cadence(since=NOW - timedelta(minutes=18), items=20)
    assert measure_cadence(every(1, count=30), NOW, sample=5) == Cadence(
        since=NOW - timedelta(minutes=4), items=5
    )
    assert Cadence(since=NOW + timedelta(hours=1), items=3).gap(NOW) == 0


# -- backoff -------------------------------------------------------------------------


def test_failures_double_the_interval_up_to_the_cap() -> None:
    assert [decide(failures=n)[0] for n in range(1, 8)] == [
        600, 1200, 2400, 4800, 9600, 19200, 21600,
    ]
    assert decide(failures=1)[1] == "backoff"
    assert decide(failures=10_000) == (21600, "backoff")  # no overflow


def test_backoff_never_shortens_a_long_interval() -> None:
    assert decide(feed_interval=86400.0, failures=3) == (86400, "backoff")


def test_backoff_starts_from_the_adaptive_interval() -> None:
    busy = measure_cadence(every(0.1), NOW)  # adaptive 60 s
    assert decide(cadence=busy, failures=2)[0] == 240


# -- jitter --------------------------------------------------------------------------


def test_jitter_only_ever_adds_up_to_its_fraction() -> None:
    assert decide(jitter_draw=0.0)[0] == 300
    assert decide(jitter_draw=0.5)[0] == pytest.approx(315)
    assert decide(jitter_draw=0.999999)[0] == pytest.approx(330, abs=1e-3)


def test_jitter_is_deterministic_under_a_seeded_source() -> None:
    def run(seed: int) -> list[float]:
        draw = random.Random(seed).random
        return [decide(jitter_draw=draw())[0] for _ in range(5)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert all(300 <= value < 330 for value in run(7))


def test_jitter_keeps_the_caps() -> None:
    flood = measure_cadence(every(60 * 24, count=3), NOW)  # adaptive at the max
    assert decide(cadence=flood, jitter_draw=0.9)[0] == 3600
    assert decide(failures=50, jitter_draw=0.9)[0] == 21600


def test_a_bad_draw_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(jitter_draw=1.0)


# -- the server's word ---------------------------------------------------------------


def test_max_age_is_a_floor_bounded_by_the_max_interval() -> None:
    assert decide(hints=Hints(max_age=1800)) == (1800, "max-age")
    assert decide(hints=Hints(max_age=60)) == (300, "default")  # already later
    assert decide(hints=Hints(max_age=7 * 86400)) == (3600, "max-age")
    assert decide(hints=Hints(max_age=0)) == (300, "default")
    # A max-age beyond the max never shortens a feed's own longer interval.
    assert decide(feed_interval=7200.0, hints=Hints(max_age=86400)) == (7200, "interval")


def test_max_age_is_never_undercut_by_an_adaptive_interval() -> None:
    flood = measure_cadence(every(0.1), NOW)
    assert decide(cadence=flood, hints=Hints(max_age=900)) == (900, "max-age")


def test_ttl_is_a_floor_like_max_age_and_the_larger_wins() -> None:
    assert decide(hints=Hints(ttl=1200)) == (1200, "ttl")
    assert decide(hints=Hints(ttl=1200, max_age=600)) == (1200, "ttl")
    assert decide(hints=Hints(ttl=600, max_age=1200)) == (1200, "max-age")
    assert decide(hints=Hints(ttl=1440 * 60)) == (3600, "ttl")


def test_retry_after_is_honoured_up_to_the_max_backoff() -> None:
    assert decide(failures=1, hints=Hints(retry_after=7200)) == (7200, "retry-after")
    assert decide(failures=1, hints=Hints(retry_after=30)) == (600, "backoff")
    assert decide(failures=1, hints=Hints(retry_after=10 * 86400)) == (21600, "retry-after")


def test_floors_are_not_jittered() -> None:
    assert decide(hints=Hints(max_age=1800), jitter_draw=0.9) == (1800, "max-age")


def test_the_policy_refuses_inverted_bounds() -> None:
    with pytest.raises(ValueError):
        SchedulePolicy(min_interval=600, max_interval=60)
    with pytest.raises(ValueError):
        SchedulePolicy(jitter=-0.1)


@given(
    feed_interval=st.one_of(st.none(), st.floats(60, 86400)),
    failures=st.integers(0, 100),
    gap_minutes=st.one_of(st.none(), st.floats(0.01, 60 * 24 * 30)),
    max_age=st.one_of(st.none(), st.floats(0, 10**7)),
    ttl=st.one_of(st.none(), st.floats(0, 10**7)),
    retry_after=st.one_of(st.none(), st.floats(0, 10**8)),
    draw=st.floats(0, 1, exclude_max=True),
)
def test_the_decision_always_respects_every_bound(
    feed_interval: float | None,
    failures: int,
    gap_minutes: float | None,
    max_age: float | None,
    ttl: float | None,
    retry_after: float | None,
    draw: float,
) -> None:
    cadence = None if gap_minutes is None else measure_cadence(every(gap_minutes), NOW)
    hints = Hints(max_age=max_age, ttl=ttl, retry_after=retry_after)
    decision = decide_next_poll(
        now=NOW, policy=POLICY, feed_interval=feed_interval, failures=failures, hints=hints,
        cadence=cadence, jitter_draw=draw,
    )
    interval = decision.interval
    assert interval > 0 and decision.at > NOW
    # Never sooner than the server asked (within the caps).
    for hint, cap in ((max_age, 3600), (ttl, 3600), (retry_after, 21600)):
        if hint:
            assert interval >= min(hint, cap) - 1e-6
    if feed_interval is None and failures == 0:
        if cadence is not None:
            assert 60 <= interval <= 3600 + 1e-6 or decision.reason in ("retry-after",)
    if failures:
        assert interval <= max(21600, (feed_interval or 3600) * 1.1) + 1e-6
    assert interval < sys.float_info.max
