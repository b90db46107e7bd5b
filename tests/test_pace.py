"""The per-channel token bucket that keeps writes at Slack's pace (fake clock throughout)."""

from __future__ import annotations

import heapq
import random
from bisect import bisect_right

import pytest

from bot.alerts.pace import ChannelPacer

EPS = 1e-9


class Clock:
    """A fake monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def pacer(rate: float = 1.0, burst: int = 3) -> tuple[ChannelPacer, Clock]:
    clock = Clock()
    return ChannelPacer(rate, burst, clock=clock), clock


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (1, -2)])
def test_bad_settings_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        ChannelPacer(rate, burst)


def step_of(rate: float, burst: int = 1) -> float:
    """The spacing a pacer keeps once its burst is spent, measured on a fresh one.

    At most ``rate`` writes a second, so never under ``1 / rate``; the pacer may keep a
    safety margin under Slack's rate, but not a large one.
    """
    probe = ChannelPacer(rate, burst, clock=Clock())
    for _ in range(burst):
        assert probe.reserve("probe") == 0.0
    step = probe.reserve("probe")
    assert 1 / rate - EPS <= step <= 1.25 / rate
    return step


@pytest.mark.parametrize(("rate", "burst"), [(1.0, 3), (2.0, 1), (0.5, 4), (10.0, 10)])
def test_a_burst_then_one_write_per_interval(rate: float, burst: int) -> None:
    pace, _ = pacer(rate, burst)
    step = step_of(rate)

    waits = [pace.reserve("C1") for _ in range(burst + 4)]

    assert waits[:burst] == [0.0] * burst
    assert waits[burst:] == pytest.approx([k * step for k in range(1, 5)])
    assert all(w >= k / rate - EPS for k, w in enumerate(waits[burst:], start=1))


def test_a_caller_that_waits_as_told_is_spaced_one_interval_apart() -> None:
    pace, clock = pacer(rate=2.0, burst=2)
    step = step_of(2.0)
    writes: list[float] = []

    for _ in range(10):
        clock.advance(pace.reserve("C1"))
        writes.append(clock.now)

    assert writes[:2] == [1000.0, 1000.0]
    gaps = [b - a for a, b in zip(writes[1:], writes[2:], strict=False)]
    assert gaps == pytest.approx([step] * 8)
    assert min(gaps) >= 0.5 - EPS


def test_channels_are_independent() -> None:
    pace, _ = pacer(rate=1.0, burst=2)
    step = step_of(1.0)

    assert [pace.reserve("C1") for _ in range(4)] == pytest.approx([0, 0, step, 2 * step])
    assert [pace.reserve("C2") for _ in range(3)] == pytest.approx([0, 0, step])
    assert pace.reserve("C1") == pytest.approx(3 * step)


def test_tokens_refill_over_time() -> None:
    pace, clock = pacer(rate=1.0, burst=3)
    step = step_of(1.0)
    for _ in range(3):
        pace.reserve("C1")

    clock.advance(2 * step)

    assert [pace.reserve("C1") for _ in range(3)] == pytest.approx([0, 0, step])


def test_refill_is_capped_at_the_burst() -> None:
    pace, clock = pacer(rate=1.0, burst=3)
    step = step_of(1.0)
    pace.reserve("C1")

    clock.advance(3600.0)

    assert [pace.reserve("C1") for _ in range(5)] == pytest.approx([0, 0, 0, step, 2 * step])


def test_debt_is_paid_back_before_refilling() -> None:
    pace, clock = pacer(rate=1.0, burst=2)
    step = step_of(1.0)
    for _ in range(6):  # two free, then waits of 1..4 steps
        pace.reserve("C1")

    clock.advance(3 * step)

    assert pace.reserve("C1") == pytest.approx(2 * step)


@pytest.mark.parametrize("seconds", [0.5, 1.0, 30.0])
def test_hold_pushes_the_next_write_out(seconds: float) -> None:
    pace, clock = pacer(rate=1.0, burst=5)
    pace.reserve("C1")

    pace.hold("C1", seconds)

    assert pace.reserve("C1") >= seconds
    assert pace.reserve("C2") == 0.0


def test_hold_on_a_channel_never_written() -> None:
    pace, clock = pacer(rate=2.0, burst=5)

    pace.hold("C9", 10.0)
    clock.advance(4.0)

    assert pace.reserve("C9") >= 6.0 - EPS


def test_hold_never_shortens_a_longer_wait() -> None:
    pace, _ = pacer(rate=1.0, burst=1)
    waits = [pace.reserve("C1") for _ in range(10)]
    assert waits[-1] == pytest.approx(9 * step_of(1.0))

    pace.hold("C1", 2.0)

    assert pace.reserve("C1") >= waits[-1] + 1.0 - EPS


def test_after_a_hold_the_pace_resumes() -> None:
    pace, clock = pacer(rate=1.0, burst=3)
    pace.hold("C1", 5.0)

    clock.advance(pace.reserve("C1"))
    first = clock.now
    clock.advance(pace.reserve("C1"))

    assert first >= 1005.0
    assert clock.now - first == pytest.approx(step_of(1.0))


def max_in_window(times: list[float], window: float) -> int:
    """The most writes in any closed interval ``[t, t + window]``."""
    times = sorted(times)
    return max(bisect_right(times, t + window + EPS) - i for i, t in enumerate(times))


QUIET_EVERY = 600.0  # the simulated load alternates ten busy minutes and ten quiet ones


@pytest.mark.parametrize(("rate", "burst", "seed"), [(1.0, 3, 1), (2.0, 1, 2), (0.5, 5, 3)])
def test_long_run_never_exceeds_the_pace(rate: float, burst: int, seed: int) -> None:
    """Many callers on a few channels, each sleeping what it is told, for simulated hours."""
    rng = random.Random(seed)
    clock = Clock(0.0)
    pace = ChannelPacer(rate, burst, clock=clock)
    channels = ["C1", "C2", "C3"]
    writes: dict[str, list[float]] = {c: [] for c in channels}
    # (time of the next reserve, caller, channel): callers arrive in busy spells.
    queue = [(rng.uniform(0, 5), caller, rng.choice(channels)) for caller in range(100)]
    heapq.heapify(queue)
    end = 2 * 3600.0
    holds = 0
    free = dict.fromkeys(channels, 0)
    while queue:
        at, caller, channel = heapq.heappop(queue)
        if at > end:
            continue
        if int(at // QUIET_EVERY) % 2:  # a quiet spell: come back when it ends
            back = (at // QUIET_EVERY + 1) * QUIET_EVERY + rng.uniform(0, 5)
            heapq.heappush(queue, (back, caller, channel))
            continue
        clock.now = at
        if rng.random() < 0.002:  # Slack answered 429: the deliverer holds the channel
            pace.hold(channel, rng.choice([1.0, 5.0, 30.0]))
            holds += 1
        wait = pace.reserve(channel)
        assert wait >= 0.0
        free[channel] += wait == 0.0
        writes[channel].append(at + wait)
        idle = rng.choice([0.0] * 8 + [rng.expovariate(0.5), rng.uniform(60, 900)])
        heapq.heappush(queue, (at + wait + idle, caller, rng.choice(channels)))

    assert holds > 0
    for channel in channels:
        times = writes[channel]
        # Lulls refill the bucket; busy spells keep the pacer saturated for minutes.
        assert free[channel] > 2 * burst
        assert max_in_window(times, 60.0) >= 0.8 * rate * 60
        for window in (0.0, 0.5, 1.0, 3.0, 10.0, 60.0, 600.0):
            assert max_in_window(times, window) <= rate * window + burst + EPS, (channel, window)


def test_many_writes_at_once_are_spread_out() -> None:
    pace, clock = pacer(rate=1.0, burst=3)

    times = [clock.now + pace.reserve("C1") for _ in range(100)]

    assert times == sorted(times)
    assert max_in_window(times, 10.0) <= 10 + 3
    assert times[-1] - times[0] == pytest.approx(97 * step_of(1.0))


def test_keep_leaves_part_of_the_burst_for_a_more_urgent_write() -> None:
    pace, clock = pacer(rate=1.0, burst=3)
    step = step_of(1.0)
    pace.take("C1")
    assert pace.ready_in("C1", keep=1) == 0  # 2 left: one may go, one stays
    pace.take("C1")
    assert pace.ready_in("C1", keep=1) == pytest.approx(step)  # 1 left: it is kept
    assert pace.ready_in("C1") == 0  # and an urgent write takes it
    clock.advance(step)
    assert pace.ready_in("C1", keep=1) == pytest.approx(0, abs=EPS)


def test_keep_never_asks_for_more_than_the_burst() -> None:
    pace, _ = pacer(rate=1.0, burst=1)
    assert pace.ready_in("C1", keep=5) == 0  # a burst of one cannot keep anything back
    pace.take("C1")
    assert pace.ready_in("C1", keep=5) == pytest.approx(step_of(1.0))
