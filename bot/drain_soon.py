"""Run a drain now, on a thread of its own, coalescing requests.

Why: alerts should reach Slack as soon as their feed's poll is stored, not at the
next delivery tick nor after the rest of a pass over thousands of feeds; and a
Slack button's effect should show at once. Requests come from the poll's writes,
button handlers and the end of a pass, often many at a time: while one drain waits
to start, more requests add nothing (it will see their rows); one that comes after
it started gets one more drain. At most one drain runs and at most one waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class DrainSoon:
    """``soon()`` asks for one more run of ``drain``; ``join`` waits for runs in flight."""

    def __init__(self, drain: Callable[[], object], *, stopped: threading.Event) -> None:
        self._drain = drain
        self._stopped = stopped
        self._lock = threading.Lock()
        self._waiting = False
        self._running = threading.Lock()
        self.threads: list[threading.Thread] = []

    def soon(self) -> None:
        with self._lock:
            if self._waiting or self._stopped.is_set():
                return
            self._waiting = True
            thread = threading.Thread(target=self._run, name="deliver-now", daemon=True)
            self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self) -> None:
        with self._running:  # at most one drain runs, and at most one waits
            with self._lock:
                self._waiting = False
            self._drain()

    def join(self, timeout: float) -> None:
        """Wait for the drains in flight (a drain mid-post finishes that post and stops)."""
        for thread in list(self.threads):
            thread.join(timeout=timeout)
