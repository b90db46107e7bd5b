"""Prometheus metrics of a running bot, recorded from what the pipeline already reports.

Nothing here decides or changes anything: the scheduler hands each poll's
``PollSummary`` and each drain's ``DeliverySummary`` to :class:`BotMetrics`, the
fetcher is timed by :class:`TimedFetcher`, and the pending-alert gauge is read
from the store when Prometheus scrapes (one indexed ``GROUP BY``), so it is never
stale and costs nothing between scrapes.

Each bot owns its own ``CollectorRegistry`` (not prometheus_client's global one),
so two bots in one process, or two tests, never share counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.delivery import DeliverySummary
from bot.errors import BotError
from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult
from bot.pipeline import PollSummary
from bot.store.leases import LeaseCounts

log = logging.getLogger("claimbot.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Feed fetches take from milliseconds (304 from a nearby server) to the total timeout.
FETCH_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
POLL_STATUSES = ("ok", "not-modified", "error", "skipped")


class _StoreGauge(Collector):
    """A gauge the store counts at scrape time, one sample per label value.

    When the database does not answer, the gauge is left out of that scrape
    (and the failure logged) rather than failing the whole scrape: /healthz is
    where the database's state is reported.
    """

    def __init__(
        self, name: str, documentation: str, label: str | None,
        read: Callable[[], dict[str, float]],
    ) -> None:
        self._name, self._documentation, self._label, self._read = name, documentation, label, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            samples = self._read()
        except BotError as exc:
            log.warning("metrics_unavailable metric=%s error=%s", self._name, exc)
            return
        if self._label is None:
            yield GaugeMetricFamily(self._name, self._documentation, value=samples[""])
            return
        family = GaugeMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, sample in samples.items():
            family.add_metric([value], sample)
        yield family


class BotMetrics:
    """The bot's counters and histograms, in a registry of its own."""

    def __init__(
        self,
        pending_alerts: Callable[[], int] | None = None,
        leases: Callable[[], LeaseCounts] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.polls = Counter(
            "claimbot_polls", "Feed polls, by outcome.", ["status"], registry=registry
        )
        for status in POLL_STATUSES:  # every series exists from the start, at 0
            self.polls.labels(status)
        self.fetch_seconds = Histogram(
            "claimbot_fetch_duration_seconds",
            "Time to fetch one feed, waiting for a free fetch slot included.",
            buckets=FETCH_BUCKETS,
            registry=registry,
        )
        self.new_items = Counter(
            "claimbot_items_new", "Items stored that were not seen before.", registry=registry
        )
        self.matches = Counter(
            "claimbot_matches", "Matches of an item against a claim, stored.", registry=registry
        )
        self.alerts_queued = Counter(
            "claimbot_alerts_queued", "Alerts put in the outbox.", registry=registry
        )
        self.alerts_sent = Counter(
            "claimbot_alerts_sent", "Alerts and digests posted.", registry=registry
        )
        self.alerts_failed = Counter(
            "claimbot_alerts_failed", "Alerts given up on (failed for good).", registry=registry
        )
        if pending_alerts is not None:
            count_pending = pending_alerts
            registry.register(_StoreGauge(
                "claimbot_alerts_pending", "Alerts in the outbox waiting to be sent.", None,
                lambda: {"": count_pending()},
            ))
        if leases is not None:
            count_leases = leases

            def lease_samples() -> dict[str, float]:
                counts = count_leases()
                return {"feed": counts.feeds, "channel": counts.channels}

            registry.register(_StoreGauge(
                "claimbot_leases", "Leases held now by any worker, by kind.", "kind",
                lease_samples,
            ))

    def record_poll(self, summary: PollSummary) -> None:
        for outcome in summary.feeds:
            self.polls.labels(outcome.status).inc()
        self.new_items.inc(summary.total("new_items"))
        self.matches.inc(summary.total("new_matches"))
        self.alerts_queued.inc(summary.total("new_alerts"))

    def record_delivery(self, summary: DeliverySummary) -> None:
        self.alerts_sent.inc(summary.sent)
        self.alerts_failed.inc(summary.failed)

    def fetcher(self, limits: FetchLimits) -> Fetcher:
        """A fetcher whose fetches this bot times (the pipeline's ``make_fetcher``)."""
        return TimedFetcher(limits, observe=self.fetch_seconds.observe)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class TimedFetcher(Fetcher):
    """A :class:`Fetcher` that reports how long each fetch took, failed ones included."""

    def __init__(self, limits: FetchLimits, *, observe: Callable[[float], None]) -> None:
        super().__init__(limits)
        self._observe = observe

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        ready: Callable[[], Awaitable[bool]] | None = None,
    ) -> FetchResult:
        started = time.perf_counter()
        try:
            return await super().fetch(url, etag=etag, last_modified=last_modified, ready=ready)
        finally:
            self._observe(time.perf_counter() - started)
