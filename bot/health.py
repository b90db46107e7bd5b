"""Is this bot ready? The database answers, and the scheduler's poll tick keeps running.

``/healthz`` asks :meth:`HealthCheck.check`. Two checks, both cheap:

* database: ``Store.ping`` (``SELECT 1``), given :data:`DB_TIMEOUT` seconds. It
  runs on a helper thread, so a database that hangs (a dropped network, not a
  refused one) makes the check fail in time instead of hanging the probe; at
  most one ping is in flight, so probes against a hung database never pile up.
* scheduler: the poll tick started within ``STALE_TICKS`` tick intervals, or one
  is running now and has run for less than :data:`MAX_TICK_SECONDS`. A bot whose
  scheduler died, or whose tick is stuck, stops being ready.

Time comes from an injected clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import BotError

DB_TIMEOUT = 2.0
STALE_TICKS = 3
# A poll pass is bounded by its fetch timeouts; one running this long is stuck.
MAX_TICK_SECONDS = 15 * 60.0

Clock = Callable[[], float]


class TickTracker:
    """When the poll tick last started and finished (thread-safe; seconds of ``clock``)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.created = clock()
        self.last_start: float | None = None
        self.last_end: float | None = None
        self._running = 0

    def started(self) -> None:
        with self._lock:
            self.last_start = self.clock()
            self._running += 1

    def finished(self) -> None:
        with self._lock:
            self.last_end = self.clock()
            self._running = max(0, self._running - 1)

    @property
    def running(self) -> bool:
        return self._running > 0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "unhealthy",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


class _Probe:
    """Runs ``ping`` on a helper thread and waits at most ``timeout`` for it."""

    def __init__(self, ping: Callable[[], None], timeout: float) -> None:
        self.ping = ping
        self.timeout = timeout
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._error: str | None = None

    def run(self) -> str | None:
        """None when the database answered; otherwise what went wrong."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._done.clear()
                self._thread = threading.Thread(target=self._ping, name="db-ping", daemon=True)
                self._thread.start()
            done = self._done
        if not done.wait(self.timeout):
            return f"no answer within {self.timeout:g}s"
        return self._error

    def _ping(self) -> None:
        try:
            self.ping()
            self._error = None
        except BotError as exc:
            self._error = str(exc)
        except Exception as exc:  # any failure of a probe means: not ready
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()


class HealthCheck:
    """The readiness checks of one running bot."""

    def __init__(
        self,
        ping: Callable[[], None],
        ticks: TickTracker,
        tick_interval: float,
        *,
        db_timeout: float = DB_TIMEOUT,
    ) -> None:
        self.ticks = ticks
        self.stale_after = STALE_TICKS * tick_interval
        self._probe = _Probe(ping, db_timeout)

    def check(self) -> HealthReport:
        return HealthReport((self._database(), self._scheduler()))

    def _database(self) -> CheckResult:
        problem = self._probe.run()
        return CheckResult("database", problem is None, problem or "answers")

    def _scheduler(self) -> CheckResult:
        ticks = self.ticks
        now = ticks.clock()
        if ticks.running and ticks.last_start is not None:
            running_for = now - ticks.last_start
            if running_for > max(MAX_TICK_SECONDS, self.stale_after):
                return CheckResult(
                    "scheduler", False, f"poll tick running for {running_for:.0f}s: stuck?"
                )
            return CheckResult("scheduler", True, f"poll tick running for {running_for:.0f}s")
        since = now - (ticks.last_start if ticks.last_start is not None else ticks.created)
        if since > self.stale_after:
            what = (
                f"last poll tick {since:.0f}s ago" if ticks.last_start is not None
                else f"no poll tick in the {since:.0f}s since start"
            )
            return CheckResult("scheduler", False, f"{what} (limit {self.stale_after:g}s)")
        if ticks.last_start is None:
            return CheckResult("scheduler", True, f"started {since:.0f}s ago, first tick due")
        return CheckResult("scheduler", True, f"last poll tick {since:.0f}s ago")
