"""APScheduler wiring for ``claimbot run``: the poll tick, the delivery tick, config reload.

Two interval jobs, each with one instance at a time and coalesced runs, so a
slow pass never piles up behind itself:

* poll tick (``CLAIMBOT_TICK_INTERVAL``): reload claims/feeds if their files
  changed, then poll the feeds that are due;
* delivery tick (``CLAIMBOT_DELIVERY_INTERVAL``): drain the outbox.

They are separate on purpose: a Slack outage slows delivery, never ingestion.
SIGINT/SIGTERM set a stop flag that the pipeline checks between feeds and
between alerts; the scheduler then waits for the running jobs, so the process
exits after the current transaction, not in the middle of one.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from bot.alerts.interactive import SlackInteractions
from bot.alerts.sinks import AlertSink
from bot.config import Feed, Settings, load_claims, load_feeds
from bot.errors import ConfigError
from bot.pipeline import MatcherFactory, Pipeline, utc_now
from bot.store import Store

# Seconds a stopping bot waits for a drain that is mid-post (a post takes at most its timeout).
SHUTDOWN_GRACE = 60.0
log = logging.getLogger("claimbot.scheduler")


@dataclass(frozen=True)
class _Stamp:
    mtime_ns: int
    size: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return _Stamp(stat.st_mtime_ns, stat.st_size)


class LiveConfig:
    """Claims and feeds that follow their files: reloaded when they change.

    An invalid edit is reported and the previous config stays in force, so a
    typo in claims.yaml never stops a running bot.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.claims = load_claims(settings.claims_file)
        self.feeds = load_feeds(settings.feeds_file)
        self._stamps = (_stamp(settings.claims_file), _stamp(settings.feeds_file))

    def reload_if_changed(self) -> bool:
        """Reload changed files; True when the config in force changed."""
        stamps = (_stamp(self.settings.claims_file), _stamp(self.settings.feeds_file))
        if stamps == self._stamps:
            return False
        self._stamps = stamps
        try:
            claims = load_claims(self.settings.claims_file)
            feeds = load_feeds(self.settings.feeds_file)
        except ConfigError as exc:
            log.error("config_reload_failed keeping=previous error=%s", exc)
            return False
        self.claims, self.feeds = claims, feeds
        log.info(
            "config_reloaded claims=%d feeds=%d", len(claims.enabled), len(feeds.enabled)
        )
        return True


class Runner:
    """The long-running bot: a pipeline, a sink and the two ticks."""

    def __init__(self, settings: Settings, store: Store, sink: AlertSink) -> None:
        self.settings = settings
        self.config = LiveConfig(settings)
        self.sink = sink
        self.matchers = MatcherFactory.from_settings(settings)
        self.pipeline = Pipeline(
            settings, store, self.matchers.build(self.config.claims.claims), clock=utc_now
        )
        self.stop_requested = threading.Event()
        self._soon_lock = threading.Lock()
        self._soon_waiting = False
        self._soon_drain = threading.Lock()
        self._soon_threads: list[threading.Thread] = []
        self.interactions: SlackInteractions | None = None
        if settings.slack_app_token and settings.slack_bot_token:
            self.interactions = SlackInteractions(
                app_token=settings.slack_app_token,
                bot_token=settings.slack_bot_token,
                api_url=settings.slack_api_url,
                store=store,
                claims=lambda: self.pipeline.watchlist.claims,
                clock=utc_now,
                on_change=self.deliver_soon,
            )

    @property
    def feeds(self) -> tuple[Feed, ...]:
        return self.config.feeds.enabled

    def poll_tick(self) -> None:
        if self.config.reload_if_changed():
            self.pipeline.replace_watchlist(self.matchers.build(self.config.claims.claims))
        summary = self.pipeline.poll(self.feeds, only_due=True)
        if summary.feeds:
            log.info(
                "poll_pass feeds=%d failed=%d new_items=%d alerts=%d",
                len(summary.feeds),
                len(summary.failed),
                summary.total("new_items"),
                summary.total("new_alerts"),
            )
        if summary.total("new_alerts"):
            self.deliver_soon()  # new alerts go out now, not at the next delivery tick

    def delivery_tick(self) -> None:
        self.pipeline.deliver(self.sink)

    def deliver_soon(self) -> None:
        """Drain the outbox now, off the caller's thread, so new alerts and a Slack button's
        effect do not wait for the next delivery tick.

        Requests coalesce: while one drain waits to start, more requests add nothing (it
        will see their rows). One that comes after it started gets one more drain.
        """
        with self._soon_lock:
            if self._soon_waiting or self.stop_requested.is_set():
                return
            self._soon_waiting = True
        thread = threading.Thread(target=self._deliver_now, name="deliver-now", daemon=True)
        self._soon_threads = [t for t in self._soon_threads if t.is_alive()] + [thread]
        thread.start()

    def _deliver_now(self) -> None:
        with self._soon_drain:  # at most one drain-now runs, and at most one waits
            with self._soon_lock:
                self._soon_waiting = False
            self.delivery_tick()

    def stop(self, *_: object) -> None:
        self.stop_requested.set()
        self.pipeline.stopping.set()

    def run(self) -> None:
        """Run until SIGINT/SIGTERM or :meth:`stop`."""
        scheduler = BackgroundScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self.poll_tick,
            "interval",
            seconds=self.settings.tick_interval,
            next_run_time=utc_now(),
            id="poll",
            **common,
        )
        scheduler.add_job(
            self.delivery_tick,
            "interval",
            seconds=self.settings.delivery_interval,
            next_run_time=utc_now(),
            id="deliver",
            **common,
        )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        if self.interactions is not None:
            self.interactions.start()
        scheduler.start()
        log.info(
            "running feeds=%d claims=%d tick=%ss delivery=%ss",
            len(self.feeds),
            len(self.config.claims.enabled),
            self.settings.tick_interval,
            self.settings.delivery_interval,
        )
        self.stop_requested.wait()
        log.info("stopping: waiting for the current poll and delivery to finish")
        scheduler.shutdown(wait=True)
        if self.interactions is not None:
            self.interactions.stop()
        for thread in self._soon_threads:  # a drain mid-post finishes that post and stops
            thread.join(timeout=SHUTDOWN_GRACE)
        log.info("stopped")

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal=%s stop requested", signal.Signals(signum).name)
        self.stop()
