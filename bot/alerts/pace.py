"""Keep each Slack channel at Slack's pace: about one message a second, small bursts.

Slack rate-limits ``chat.postMessage`` per channel and, worse, may quietly
drop messages above the pace instead of answering 429. A token bucket per
channel lets a quiet channel take a short burst, then spaces messages
``1/rate`` apart. The deliverer asks before every write (post, reply or edit)
and waits what it is told, so order is kept.

Slack counts messages when they arrive, we count them when they leave, and
network jitter sits between the two: pacing at exactly Slack's rate gets an
occasional 429. So the pace kept is ``PACE_MARGIN`` of the rate asked for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PACE_MARGIN = 0.9


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class ChannelPacer:
    """A token bucket per channel: under ``rate`` writes per second, ``burst`` at once."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate * PACE_MARGIN
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def ready_in(self, channel: str, *, keep: int = 0) -> float:
        """Seconds until ``channel`` may take a write, without taking it; with ``keep``,
        until it may take one and still have ``keep`` left of its burst (never more
        than the burst allows)."""
        need = 1.0 + min(keep, self.burst - 1.0)
        with self._lock:
            bucket = self._refilled(channel)
            return 0.0 if bucket.tokens >= need else (need - bucket.tokens) / self.rate

    def take(self, channel: str) -> None:
        """Count one write to ``channel`` (made after ``ready_in`` said 0)."""
        with self._lock:
            self._refilled(channel).tokens -= 1.0

    def _refilled(self, channel: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = self._buckets[channel] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        return bucket

    def reserve(self, channel: str) -> float:
        """Take one write for ``channel``; return the seconds to wait before making it."""
        with self._lock:
            bucket = self._refilled(channel)
            bucket.tokens -= 1.0
            return 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.rate

    def hold(self, channel: str, seconds: float) -> None:
        """Slack asked us to wait (429): spend the channel's budget for that long."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.setdefault(channel, _Bucket(self.burst, now))
            bucket.tokens = min(bucket.tokens, -seconds * self.rate)
            bucket.stamp = now
