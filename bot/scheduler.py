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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TypeVar

from apscheduler.schedulers.background import BackgroundScheduler

from bot import heap
from bot.alerts.interactive import SlackInteractions
from bot.alerts.render import RenderedAlert, escape_mrkdwn
from bot.alerts.sinks import WEBHOOK_CHANNEL, AlertSink
from bot.config import ClaimSet, Feed, FeedSet, Settings, load_claims, load_feeds
from bot.drain_soon import DrainSoon
from bot.errors import BotError, ConfigError
from bot.health import HealthCheck, TickTracker
from bot.metrics import BotMetrics
from bot.ops_server import OpsServer
from bot.pipeline import MatcherFactory, Pipeline
from bot.store import Store
from bot.when import utc_now

# Seconds a stopping bot waits for a drain that is mid-post (a post takes at most its timeout).
SHUTDOWN_GRACE = 60.0
log = logging.getLogger("claimbot.scheduler")
T = TypeVar("T")


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
    """Claims and feeds that follow their files: each reloaded on its own when it changes.

    An invalid edit is reported and that file's previous config stays in force,
    so a typo in claims.yaml never stops a running bot (and never stops the
    feeds in a valid feeds.yaml from being picked up). Reports go to the log
    and, through ``report``, to the ops channel: once per change of the file,
    never once per tick.
    """

    def __init__(
        self, settings: Settings, report: Callable[[str], None] = lambda _: None
    ) -> None:
        self.settings = settings
        self.report = report
        # Stamped before reading: an edit landing during the first read is seen next tick.
        self._claims_stamp = _stamp(settings.claims_file)
        self._feeds_stamp = _stamp(settings.feeds_file)
        self.claims = load_claims(settings.claims_file)
        self.feeds = load_feeds(settings.feeds_file)
        self._broken: set[Path] = set()

    def reload_if_changed(self) -> tuple[ClaimSet | None, FeedSet | None]:
        """Newly loaded claims and feeds, each None when unchanged or invalid."""
        claims = feeds = None
        if _stamp(self.settings.claims_file) != self._claims_stamp:
            claims, self._claims_stamp = self._load(
                self.settings.claims_file, load_claims, self._claims_stamp
            )
        if _stamp(self.settings.feeds_file) != self._feeds_stamp:
            feeds, self._feeds_stamp = self._load(
                self.settings.feeds_file, load_feeds, self._feeds_stamp
            )
        return claims, feeds

    def _load(
        self, path: Path, loader: Callable[[Path], T], previous: _Stamp | None
    ) -> tuple[T | None, _Stamp | None]:
        """The file's new content and stamp; (None, ``previous``) while it is still being
        written, so the next tick reads it again.

        An editor that rewrites a file in place can be caught half way: a cut-off
        claims.yaml is often valid YAML with fewer claims, which would look like
        claims removed (and their queued alerts dropped). The file must not change
        while it is read.
        """
        before = _stamp(path)
        try:
            loaded: T | None = loader(path)
            problem = None
        except ConfigError as exc:
            loaded, problem = None, str(exc)
        except Exception as exc:  # a loader bug must not stop reloads for good
            log.exception("config_reload_crashed file=%s", path)
            loaded, problem = None, f"{path}: could not be read: {type(exc).__name__}: {exc}"
        if _stamp(path) != before:
            log.info("config_reload_deferred file=%s (changed while being read)", path)
            return None, previous
        if problem is not None:
            log.error("config_reload_failed file=%s keeping=previous error=%s", path, problem)
            self._broken.add(path)
            self.report(f"{path} has a problem, so the previous version stays in force:\n"
                        f"{problem}")
        elif path in self._broken:
            self._broken.discard(path)
            self.report(f"{path} is valid again and now in force.")
        return loaded, before

    def apply(self, claims: ClaimSet | None, feeds: FeedSet | None) -> None:
        """Put reloaded config in force (after its matcher is built)."""
        if claims is not None:
            self.claims = claims
        if feeds is not None:
            self.feeds = feeds
        log.info(
            "config_reloaded claims=%d feeds=%d",
            len(self.claims.enabled),
            len(self.feeds.enabled),
        )


class Runner:
    """The long-running bot: a pipeline, a sink and the two ticks.

    It also feeds the operations endpoints (``bot.ops_server``, when
    ``CLAIMBOT_HTTP_PORT`` is set): each tick's summary goes to ``metrics`` and
    each poll tick's start and end to ``ticks``, which /healthz reads.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        sink: AlertSink,
        *,
        metrics: BotMetrics | None = None,
        ticks: TickTracker | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sink = sink
        self.metrics = metrics or BotMetrics(
            lambda: store.alert_counts().get("pending", 0),
            lambda: store.lease_counts(utc_now()),
        )
        self.ticks = ticks or TickTracker()
        self.config = LiveConfig(settings, report=self.notify_ops)
        self.matchers = MatcherFactory.from_settings(settings)
        self.pipeline = Pipeline(
            settings, store, self.matchers.build(self.config.claims.claims), clock=utc_now,
            make_fetcher=self.metrics.fetcher,
        )
        self.stop_requested = threading.Event()
        self.drain_soon = DrainSoon(self.delivery_tick, stopped=self.stop_requested)
        # A feed's alerts go out as soon as its poll is stored, not after the whole pass.
        self.pipeline.on_alerts = self.drain_soon.soon
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

    def reload_tick(self) -> None:
        """Follow edits to claims.yaml and feeds.yaml, on its own thread.

        The new matcher is built here, off the poll's path, and swapped in as
        one value: a poll uses the old watch list or the new one, never half of
        each. Claims removed or disabled stop alerting at once, queued alerts
        included (delivery checks the claims in force); their history stays.
        """
        claims, feeds = self.config.reload_if_changed()
        if claims is None and feeds is None:
            return
        if claims is not None:
            try:
                watchlist = self.matchers.build(claims.claims)
            except BotError as exc:
                log.error("config_reload_failed file=%s keeping=previous error=%s",
                          claims.path, exc)
                self.notify_ops(f"{claims.path} could not be put in force: {exc}")
                claims = None
            else:
                self.pipeline.replace_watchlist(watchlist)
                heap.settle()  # the old watch list's cycles go; the new one is frozen
        self.config.apply(claims, feeds)

    def notify_ops(self, text: str) -> None:
        """Tell the ops channel (``CLAIMBOT_OPS_CHANNEL``) about a problem with the bot itself.

        Best effort and immediate, not through the outbox: it is about the bot,
        not a claim, and the log has it either way.
        """
        channel = self.settings.ops_channel
        if not channel or self.sink.destination == WEBHOOK_CHANNEL:
            return  # a webhook posts where it was made for: the alerts' channel, not ops
        message = RenderedAlert(
            text=f"claimbot: {escape_mrkdwn(text)}",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)}}],
        )
        try:
            self.sink.post(channel, message, f"[ops] {text}", alert_id=0)
        except BotError as exc:
            log.warning("ops_notice_failed channel=%s error=%s", channel, exc)

    def poll_tick(self) -> None:
        self.ticks.started()
        try:
            summary = self.pipeline.poll(self.feeds, only_due=True)
        finally:
            self.ticks.finished()
        self.metrics.record_poll(summary)
        if summary.feeds:
            log.info(
                "poll_pass feeds=%d failed=%d new_items=%d alerts=%d",
                len(summary.feeds),
                len(summary.failed),
                summary.total("new_items"),
                summary.total("new_alerts"),
            )
        if summary.total("new_alerts"):
            # Drains started during the pass sent the new alerts; this one takes what they
            # left for later (replies and edits behind Slack's pace).
            self.drain_soon.soon()

    def delivery_tick(self) -> None:
        self.metrics.record_delivery(self.pipeline.deliver(self.sink))

    def deliver_soon(self) -> None:
        """Drain the outbox now, off the caller's thread (``bot.drain_soon``), so new
        alerts and a Slack button's effect do not wait for the next delivery tick."""
        self.pipeline.delivery.wake()
        self.drain_soon.soon()

    def stop(self, *_: object) -> None:
        self.stop_requested.set()
        self.pipeline.stopping.set()

    def run(self) -> None:
        """Run until SIGINT/SIGTERM or :meth:`stop`."""
        scheduler = BackgroundScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        scheduler.add_job(
            self.reload_tick,
            "interval",
            seconds=self.settings.tick_interval,
            id="reload",
            **common,
        )
        scheduler.add_job(
            self.poll_tick,
            "interval",
            seconds=self.settings.tick_interval,
            next_run_time=utc_now(),
            id="poll",
            **common,
        )
        scheduler.add_job(
            # Through DrainSoon, not a drain on the scheduler's thread: a drain pacing out a
            # story's replies can take a minute, and the tick must not pile up behind it
            # (APScheduler would warn of a skipped run every few seconds).
            self.drain_soon.soon,
            "interval",
            seconds=self.settings.delivery_interval,
            next_run_time=utc_now(),
            id="deliver",
            **common,
        )
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        server = self.ops_server()
        if server is not None:
            server.start()
        if self.interactions is not None:
            self.interactions.start()
        heap.settle()  # everything made so far lives until exit: out of the collector's way
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
        if server is not None:
            server.stop()
        if self.interactions is not None:
            self.interactions.stop()
        self.drain_soon.join(SHUTDOWN_GRACE)
        self.pipeline.close()
        log.info("stopped")

    def ops_server(self) -> OpsServer | None:
        """The /healthz and /metrics server (not started), or None when the port is unset."""
        if self.settings.http_port is None:
            return None
        health = HealthCheck(self.store.ping, self.ticks, self.settings.tick_interval)
        return OpsServer(self.settings.http_host, self.settings.http_port, health, self.metrics)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal=%s stop requested", signal.Signals(signum).name)
        self.stop()
