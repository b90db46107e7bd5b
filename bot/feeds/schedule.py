"""When to poll a feed next: one pure decision over what the last poll learned.

No clock, no I/O, no randomness of its own: the time, the feed's facts, the
server's hints and a jitter draw in [0, 1) are passed in, so every rule here is
a unit test away. ``bot.pipeline`` calls :func:`decide_next_poll` after every
poll, successful or not, and stores the answer as the feed's ``next_poll_at``.

The rules, in order:

1. **The regular interval.** A feed's own ``interval`` from feeds.yaml is the
   user's decision and is used as written. Otherwise the interval *adapts* to
   how often the feed publishes: half the average gap between its recent items
   (so a new item waits half a gap on average), kept between the policy's
   ``min_interval`` and ``max_interval``. With no dated items to go by, the
   default interval is used.
2. **Backoff.** After ``n`` failures in a row the interval doubles ``n`` times,
   up to ``max_backoff`` (never below the regular interval itself).
3. **Jitter.** The interval grows by up to ``jitter`` (a fraction) at random,
   so feeds started together drift apart instead of hitting a host in step.
   Jitter only ever adds: a feed is never polled sooner than its interval.
4. **The server's word is a floor.** ``Cache-Control: max-age`` and RSS
   ``<ttl>`` say how long the document stays fresh: never poll sooner, but wait
   at most ``max_interval`` for them (a feed saying "a week" is still watched).
   ``Retry-After`` on a 429/503 is honoured up to ``max_backoff``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "ADAPTIVE_SHARE",
    "CADENCE_SAMPLE",
    "Cadence",
    "Hints",
    "NextPoll",
    "SchedulePolicy",
    "decide_next_poll",
    "measure_cadence",
]

# Poll twice per expected item: a new item then waits half a gap on average.
ADAPTIVE_SHARE = 0.5
# How many of a feed's newest dated items measure its publishing rate.
CADENCE_SAMPLE = 20
# Enough doublings to reach any sane cap; keeps 2**n small.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class SchedulePolicy:
    """The bounds in force, in seconds (from settings)."""

    default_interval: float = 300.0
    min_interval: float = 60.0
    max_interval: float = 3600.0
    max_backoff: float = 6 * 3600.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= max_interval")
        if self.default_interval <= 0 or self.max_backoff <= 0 or self.jitter < 0:
            raise ValueError("intervals must be positive and jitter not negative")


@dataclass(frozen=True)
class Hints:
    """What the server and the document said about freshness, in seconds."""

    max_age: float | None = None  # Cache-Control: max-age (less Age), from this response
    retry_after: float | None = None  # Retry-After on a 429/503
    ttl: float | None = None  # RSS <ttl>, from the last document parsed


@dataclass(frozen=True)
class Cadence:
    """A feed's publishing rate: ``items`` dated items from ``since`` on.

    Measured against "now" when used, so a feed that stops publishing slows
    down by itself between fetches that bring nothing new (304s).
    """

    since: datetime
    items: int

    def gap(self, now: datetime) -> float:
        """Average seconds between items, counting the quiet time up to ``now``."""
        return max(0.0, (now - self.since).total_seconds()) / max(1, self.items)


@dataclass(frozen=True)
class NextPoll:
    """The decision: when, the interval it came from, and why (for logs and tests)."""

    at: datetime
    interval: float
    reason: str  # interval, default, adaptive, backoff, max-age, ttl, retry-after


def measure_cadence(
    dates: Iterable[datetime], now: datetime, *, sample: int = CADENCE_SAMPLE
) -> Cadence | None:
    """The rate of the newest ``sample`` dates; ``None`` when they cannot tell one.

    Dates in the future count as now (clocks and time zones are often wrong).
    Fewer than two items, or all with one timestamp (a feed that stamps every
    item with the time it was generated), say nothing about a rate.
    """
    newest = sorted((min(d, now) for d in dates), reverse=True)[: max(2, sample)]
    if len(newest) < 2 or newest[0] == newest[-1]:
        return None
    return Cadence(since=newest[-1], items=len(newest))


def decide_next_poll(
    *,
    now: datetime,
    policy: SchedulePolicy,
    feed_interval: float | None = None,
    failures: int = 0,
    hints: Hints = Hints(),  # noqa: B008 - frozen, so sharing it is safe
    cadence: Cadence | None = None,
    jitter_draw: float = 0.0,
) -> NextPoll:
    """When to poll next; see the module docstring for the rules.

    ``failures`` counts this poll if it failed (1 after the first failure).
    ``jitter_draw`` is a number in [0, 1): the caller's random source.
    """
    if not 0 <= jitter_draw < 1:
        raise ValueError("jitter_draw must be in [0, 1)")
    interval, reason, cap = _regular(now, policy, feed_interval, cadence)
    if failures > 0:
        cap = max(policy.max_backoff, interval)
        interval = min(interval * 2 ** min(failures, _MAX_DOUBLINGS), cap)
        reason = "backoff"
    interval = min(interval * (1 + policy.jitter * jitter_draw), cap)
    for name, floor in _floors(policy, hints):
        if floor > interval:
            interval, reason = floor, name
    return NextPoll(at=now + timedelta(seconds=interval), interval=interval, reason=reason)


def _regular(
    now: datetime, policy: SchedulePolicy, feed_interval: float | None, cadence: Cadence | None
) -> tuple[float, str, float]:
    """(interval, reason, the most jitter may stretch it to)."""
    if feed_interval:
        return feed_interval, "interval", float("inf")
    if cadence is None:
        return policy.default_interval, "default", float("inf")
    wanted = cadence.gap(now) * ADAPTIVE_SHARE
    interval = min(max(wanted, policy.min_interval), policy.max_interval)
    return interval, "adaptive", policy.max_interval


def _floors(policy: SchedulePolicy, hints: Hints) -> list[tuple[str, float]]:
    floors = []
    if hints.max_age is not None and hints.max_age > 0:
        floors.append(("max-age", min(hints.max_age, policy.max_interval)))
    if hints.ttl is not None and hints.ttl > 0:
        floors.append(("ttl", min(hints.ttl, policy.max_interval)))
    if hints.retry_after is not None and hints.retry_after > 0:
        floors.append(("retry-after", min(hints.retry_after, policy.max_backoff)))
    return floors
