"""The one orchestrator: poll feeds into the store, drain the outbox into a sink.

::

    due feeds ──> fetch (conditional GET) ──> parse ──> drop known items ──> match (pure)
                                                                                │
    sink (Slack / terminal) <── drain outbox <── store items + matches + alerts ◀┘ render (pure)
                                                   (one transaction per feed)

The pipeline calls its dependencies in order and decides nothing itself: the
matcher decides what matches, the renderer what an alert says, the store what
is new and which story an item belongs to, ``bot.delivery`` how the outbox
reaches Slack. Failures are isolated to the feed or alert they concern: a
broken feed is recorded with its error and the rest of the pass goes on; a
Slack outage leaves alerts pending in the outbox, in order, for the next drain.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from bot.alert_drafts import Watchlist, draft_alert, draft_items
from bot.alerts.sinks import AlertSink
from bot.config import Claim, Feed, Settings
from bot.delivery import Deliverer, DeliverySummary, digest_boundary
from bot.errors import ConfigError, FeedError, StoreError
from bot.feeds.digest import body_hash
from bot.feeds.fetch import FetchCancelled, Fetcher, FetchLimits, FetchResult
from bot.feeds.fetch_errors import GONE_PROBLEM
from bot.feeds.parse import ParsedFeed, parse_feed
from bot.feeds.parse_process import DraftOrder, ParserPool
from bot.feeds.schedule import (
    Cadence,
    Hints,
    NextPoll,
    SchedulePolicy,
    decide_next_poll,
    measure_cadence,
)
from bot.items import Item
from bot.matching.matcher import claim_text
from bot.matching.semantic import Embedder, EmbeddingCache, SemanticIndex, load_embedder
from bot.poll_batch import PollBatch
from bot.store import (
    FeedPace,
    FeedState,
    ItemDraft,
    PollFailure,
    PollSuccess,
    RecordOutcome,
    Store,
)
from bot.when import utc_now
from bot.workers import is_gone, worker_id

log = logging.getLogger("claimbot.pipeline")

Clock = Callable[[], datetime]
T = TypeVar("T")
# Threads a pass parses, matches and stores on: CPU work under one GIL gains little from more.
WORK_THREADS = 2
# Seconds a parser process may take over one document before it is stopped (a feed error).
PARSE_TIMEOUT = 60.0
# A source of numbers in [0, 1) for scheduling jitter; tests pass a seeded one.
Draw = Callable[[], float]


class MatcherFactory:
    """Builds watchlists, with the semantic extra when settings ask for it and it is installed.

    Holds the embedding model and the claim-embedding cache across rebuilds, so
    a config reload re-encodes only statements that changed.
    """

    def __init__(self, embedder: Embedder | None = None, cache: EmbeddingCache | None = None):
        self.embedder = embedder
        self.cache = cache

    @classmethod
    def from_settings(cls, settings: Settings) -> MatcherFactory:
        if settings.semantic == "off":
            return cls()
        embedder = load_embedder(settings.semantic_model)
        if embedder is None:
            if settings.semantic == "on":
                raise ConfigError(
                    "semantic matching is on but the extra is not installed:"
                    " pip install 'claimbot[semantic]'",
                    field="CLAIMBOT_SEMANTIC",
                )
            return cls()
        return cls(embedder, EmbeddingCache(settings.embedding_cache))

    def build(self, claims: Sequence[Claim]) -> Watchlist:
        if self.embedder is None:
            return Watchlist.build(claims)
        enabled = [c for c in claims if c.enabled]
        index = SemanticIndex(
            [(c.id, claim_text(c.title, c.statement)) for c in enabled],
            self.embedder,
            cache=self.cache,
        )
        return Watchlist.build(enabled, semantic=index)


@dataclass(frozen=True)
class Workers:
    """A pass's threads: ``cpu`` parses and matches (without parser processes; with them,
    it matches what they could not), ``parse`` hands documents to the parser processes,
    waits (so that waiting never holds a matching thread) and keeps the drafts of the
    items not stored yet, ``writes`` (one thread) stores, and ``batch`` gathers item-less
    polls' state for the writes thread to store together."""

    cpu: Executor
    writes: Executor
    batch: PollBatch
    parse: Executor


@dataclass(frozen=True)
class FeedOutcome:
    """What polling one feed did, for summaries and logs."""

    url: str
    name: str
    status: str  # "ok", "not-modified", "error", "gone", "skipped"
    new_items: int = 0
    new_matches: int = 0
    new_alerts: int = 0
    error: str | None = None


@dataclass
class PollSummary:
    feeds: list[FeedOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedOutcome]:
        """Feeds that need attention: failed this pass, or gone (HTTP 410)."""
        return [f for f in self.feeds if f.status in ("error", "gone")]

    def total(self, attribute: str) -> int:
        return sum(int(getattr(f, attribute)) for f in self.feeds)


def schedule_policy(settings: Settings) -> SchedulePolicy:
    """The scheduling bounds the settings put in force."""
    return SchedulePolicy(
        default_interval=settings.poll_interval,
        min_interval=settings.min_poll_interval,
        max_interval=settings.max_poll_interval,
        max_backoff=settings.max_backoff,
        jitter=settings.poll_jitter,
    )


def stored_cadence(state: FeedState | FeedPace | None) -> Cadence | None:
    """The publishing rate kept for a feed (or just measured), if any."""
    if state is None or state.cadence_since is None or not state.cadence_items:
        return None
    return Cadence(since=state.cadence_since, items=state.cadence_items)


def measure_pace(parsed: ParsedFeed, now: datetime) -> FeedPace:
    """What a parsed document says about when to come back: its ttl, its publishing rate."""
    cadence = measure_cadence(
        (i.published for i in parsed.items if i.published and not i.published_estimated), now
    )
    return FeedPace(
        ttl_seconds=round(parsed.ttl) if parsed.ttl else None,
        cadence_since=cadence.since if cadence else None,
        cadence_items=cadence.items if cadence else None,
    )


class Pipeline:
    """Polls feeds and drains the outbox. Safe to call from the scheduler's threads."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        watchlist: Watchlist,
        *,
        clock: Clock = utc_now,
        fetch_limits: FetchLimits | None = None,
        make_fetcher: Callable[[FetchLimits], Fetcher] = Fetcher,
        draw: Draw | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.watchlist = watchlist
        self.clock = clock
        self.policy = schedule_policy(settings)
        self.draw: Draw = draw or random.Random().random
        self.fetch_limits = fetch_limits or FetchLimits(
            read_timeout=settings.fetch_timeout,
            total_timeout=max(60.0, settings.fetch_timeout * 3),
            max_bytes=settings.max_feed_bytes,
            max_concurrency=settings.fetch_concurrency,
            max_per_host=settings.fetch_per_host,
        )
        self.make_fetcher = make_fetcher  # the bot's metrics time fetches with their own
        # Parsing in child processes (bot.feeds.parse_process), or in the pass's threads.
        self.parsers = (
            ParserPool(settings.parse_processes, timeout=PARSE_TIMEOUT)
            if settings.parse_processes else None
        )
        # Told (from the event loop) when a feed's poll has queued alerts, so that they can
        # go out at once rather than after the rest of the pass; `claimbot run` drains then.
        self.on_alerts: Callable[[], None] | None = None
        self.stopping = threading.Event()
        # Who this process is to the other workers sharing the database (bot.store.leases).
        self.worker = worker_id()
        self.lease = timedelta(seconds=settings.lease_seconds)
        # Leases of a crashed earlier run on this machine: not worth waiting out.
        store.reclaim_leases(lambda owner: is_gone(owner, self.worker))
        self.delivery = Deliverer(
            settings, store, clock=clock, claims=lambda: self.watchlist.claims,
            stopping=self.stopping, worker=self.worker,
        )

    def close(self) -> None:
        """Stop the parser processes (they also end by themselves when the bot does)."""
        if self.parsers is not None:
            self.parsers.close()

    def replace_watchlist(self, watchlist: Watchlist) -> None:
        """Swap the claims in force; the next item matched uses the new ones."""
        self.watchlist = watchlist

    # -- polling -------------------------------------------------------------

    def poll(self, feeds: Sequence[Feed], *, only_due: bool = False) -> PollSummary:
        """One pass over ``feeds`` (all of them, or only those due)."""
        return asyncio.run(self.poll_async(feeds, only_due=only_due))

    async def poll_async(self, feeds: Sequence[Feed], *, only_due: bool = False) -> PollSummary:
        """Poll ``feeds`` (those due, with ``only_due``), leasing them a few at a time.

        Leases are taken in small batches, topped up as polls finish, so
        several workers spread a pass between them instead of the first one
        taking every due feed. A feed another worker is polling is left to it;
        with ``only_due`` it is not mentioned, otherwise it is reported as
        skipped. A feed gone for good (HTTP 410) is never leased. Outcomes come
        back in the order of ``feeds``.
        """
        self.store.sync_feeds([(f.url, f.name) for f in feeds])
        by_url = {f.url: f for f in feeds}
        tried: set[str] = set()
        outcomes: list[FeedOutcome] = []
        # Parsing, matching and storing run on this pass's own threads, never on the event
        # loop (other feeds' bodies stream there against their deadline) nor on its default
        # executor (it resolves host names for connects, and a connect queued behind minutes
        # of parsing would time out a healthy feed). Writes go one at a time, on a thread of
        # their own, as they did on the loop: a story seen by two feeds in one pass must find
        # the first one's row, not race it.
        with (
            ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="claimbot-cpu") as cpu,
            ThreadPoolExecutor(1, thread_name_prefix="claimbot-store") as writes,
            ThreadPoolExecutor(
                max(1, self.settings.parse_processes), thread_name_prefix="claimbot-parse"
            ) as parse,
        ):
            refused: dict[str, FeedOutcome] = {}
            batch = PollBatch(self.store, partial(self._batch_refused, refused, by_url))
            work = Workers(cpu, writes, batch, parse if self.parsers is not None else cpu)
            async with self.make_fetcher(self.fetch_limits) as fetcher:
                outcomes.extend(
                    await self._poll_in_batches(fetcher, work, by_url, tried, only_due=only_due)
                )
            await self._in_worker(writes, work.batch.flush)
        outcomes = [refused.get(outcome.url, outcome) for outcome in outcomes]
        if not only_due:
            outcomes.extend(self._untried(feeds, tried))
        order = {url: n for n, url in enumerate(by_url)}
        return PollSummary(sorted(outcomes, key=lambda outcome: order[outcome.url]))

    async def _poll_in_batches(
        self, fetcher: Fetcher, work: Workers, by_url: dict[str, Feed], tried: set[str],
        *, only_due: bool,
    ) -> list[FeedOutcome]:
        """Lease feeds a batch at a time, topping the batch up as polls finish; poll them.

        Polls queued behind their host's politeness bound (``CLAIMBOT_FETCH_PER_HOST``)
        do not count against the batch: a slow host holding its slots for seconds must
        not starve the feeds of every other host. The fetcher bounds fetches in all and
        per host; the batch bounds the polls under way (bodies waiting to be parsed).
        """
        batch = max(2 * self.fetch_limits.max_concurrency, 10)
        running: set[asyncio.Task[FeedOutcome]] = set()
        outcomes: list[FeedOutcome] = []
        more = True
        while True:
            active = len(running) - fetcher.waiting_for_host
            if more and active <= batch // 2 and not self.stopping.is_set():
                now = self.clock()
                # On the writes thread like every other write: on SQLite a lease waiting for
                # a big poll's commit must not stall the event loop's fetches.
                leased, states = await self._in_worker(work.writes, partial(
                    self._lease_batch, [url for url in by_url if url not in tried], now,
                    only_due=only_due, limit=batch - active,
                ))
                more = bool(leased)
                for url in leased:
                    tried.add(url)
                    running.add(asyncio.create_task(self._poll_leased(
                        fetcher, by_url[url], states.get(url), work, now + self.lease
                    )))
            if not running:
                return outcomes
            # Woken now and then too: polls moving into their host's queue free room.
            done, running = await asyncio.wait(
                running, timeout=0.1, return_when=asyncio.FIRST_COMPLETED
            )
            outcomes.extend(task.result() for task in done)

    def _lease_batch(
        self, urls: list[str], now: datetime, *, only_due: bool, limit: int
    ) -> tuple[list[str], dict[str, FeedState]]:
        """Lease up to ``limit`` of ``urls``; the leased ones and their states."""
        leased = self.store.lease_feeds(
            urls, owner=self.worker, now=now, until=now + self.lease, due_only=only_due,
            limit=limit,
        )
        return leased, self.store.feed_states(leased)

    def _untried(self, feeds: Sequence[Feed], tried: set[str]) -> list[FeedOutcome]:
        """Why each feed of a poll-everything pass was not polled."""
        untried = [f for f in feeds if f.url not in tried]
        states = self.store.feed_states([f.url for f in untried])
        why = "the bot is stopping" if self.stopping.is_set() else "another worker is polling it"
        outcomes = []
        for feed in untried:
            state = states.get(feed.url)
            if state is not None and state.gone:
                outcomes.append(FeedOutcome(feed.url, feed.label, "gone", error=state.last_error))
            else:
                outcomes.append(FeedOutcome(feed.url, feed.label, "skipped", error=why))
        return outcomes

    async def _poll_leased(
        self, fetcher: Fetcher, feed: Feed, state: FeedState | None, work: Workers,
        leased_until: datetime,
    ) -> FeedOutcome:
        """Poll a leased feed, if the lease still holds once its fetch has a slot.

        A long pass (or a slow host's queue) can outlast a lease: when less than
        one poll's worth of it is left as the fetch gets its slot, it is renewed,
        and the feed is left alone if another worker took it over meanwhile.
        """

        async def still_ours() -> bool:
            now = self.clock()
            one_poll = timedelta(seconds=self.fetch_limits.total_timeout + 30)
            if now + one_poll <= leased_until:
                return True
            return await self._in_worker(work.writes, partial(
                self.store.renew_feed_lease, feed.url, owner=self.worker, now=now,
                until=now + self.lease,
            ))

        try:
            return await self._poll_one(fetcher, feed, state, work, ready=still_ours)
        except FetchCancelled:
            log.info("poll_skipped feed=%s reason=leased-by-another-worker", feed.url)
            return FeedOutcome(feed.url, feed.label, "skipped",
                               error="another worker took it over")

    @staticmethod
    async def _in_worker(work: Executor, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(work, call)

    async def _poll_one(
        self, fetcher: Fetcher, feed: Feed, state: FeedState | None, work: Workers,
        *, ready: Callable[[], Awaitable[bool]] | None = None,
    ) -> FeedOutcome:
        if self.stopping.is_set():
            return FeedOutcome(feed.url, feed.label, "skipped")
        if state is not None and state.gone:  # gone while its lease was being taken
            await self._in_worker(
                work.writes, partial(self.store.release_feed_lease, feed.url, self.worker)
            )
            return FeedOutcome(feed.url, feed.label, "gone", error=state.last_error)
        failures = state.consecutive_failures if state else 0
        # feeds.yaml's URL is the feed's identity; after a 301/308 it is fetched where it went.
        fetch_url = (state.fetch_url if state else None) or feed.url
        try:
            result = await fetcher.fetch(
                fetch_url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
                ready=ready,
            )
            now = self.clock()
            poll = PollSuccess(
                url=feed.url,
                polled_at=now,
                next_poll_at=now,  # decided below, once the document has had its say
                http_status=result.status,
                status="not-modified" if result.not_modified else "ok",
                etag=result.etag,
                last_modified=result.last_modified,
                leased_by=self.worker,
                moved_to=result.final_url if result.permanent_redirect else None,
            )
            if result.body is not None:
                digest = body_hash(result.body, result.content_type)
                if state is not None and state.body_hash == digest:
                    poll = _unchanged(poll, state)
                else:
                    poll = await self._with_new_items(
                        poll, feed, result.body, result.content_type, work,
                        stored_any=state is not None and state.items_seen > 0,
                    )
                    poll = replace(poll, body_hash=digest)
            when = self._next_poll(feed, state, now, poll=poll, result=result)
            poll = replace(poll, next_poll_at=when.at)
            # In the writes thread, like parsing in its own: a write of hundreds of items must
            # not stall the event loop, where other feeds' bodies stream against their deadline.
            if poll.items:
                outcome = await self._in_worker(work.writes, partial(self.store.record_poll, poll))
                if outcome.new_alerts:
                    self.delivery.wake()
                    if self.on_alerts is not None:
                        self.on_alerts()
            else:  # only the feed's state changes: written with others (bot.poll_batch)
                full = work.batch.gather(poll)  # here on the loop: appending costs nothing
                if full:
                    await self._in_worker(work.writes, partial(work.batch.write, full))
                outcome = RecordOutcome(0, 0, 0)
        except FeedError as exc:
            if exc.status == 410:
                return await self._record_gone(feed, work)
            return await self._record_failure(feed, str(exc), exc.status, failures, state, work,
                                              retry_after=exc.retry_after)
        except FetchCancelled:
            raise  # not this feed's failure: the caller says why it let go
        except StoreError as exc:
            # A write the database refused for this feed's items (one it will not take) fails
            # this feed only. If the failure cannot be recorded either, the database itself
            # is down: that StoreError stops the pass.
            log.error("poll_store_failed feed=%s error=%s", feed.url, exc)
            return await self._record_failure(feed, f"could not store its items: {exc}", None,
                                              failures, state, work)
        except Exception as exc:  # a bug: say so loudly, keep the other feeds going
            log.exception("poll_crashed feed=%s", feed.url)
            return await self._record_failure(
                feed, f"internal error (see log): {type(exc).__name__}: {exc}", None, failures,
                state, work,
            )
        if poll.moved_to is not None and poll.moved_to != fetch_url:
            log.info("feed_moved feed=%s to=%s", feed.url, poll.moved_to)
        log.info(
            "poll feed=%s status=%s new=%d matches=%d alerts=%d next_in=%ds why=%s",
            feed.url,
            result.status,
            outcome.new_items,
            outcome.new_matches,
            outcome.new_alerts,
            when.interval,
            when.reason,
        )
        return FeedOutcome(
            feed.url,
            feed.label,
            poll.status,
            outcome.new_items,
            outcome.new_matches,
            outcome.new_alerts,
        )

    def _next_poll(
        self,
        feed: Feed,
        state: FeedState | None,
        now: datetime,
        *,
        poll: PollSuccess | None = None,
        result: FetchResult | None = None,
        failures: int = 0,
        retry_after: float | None = None,
    ) -> NextPoll:
        """Ask ``bot.feeds.schedule``, with what this poll learned or else what is stored."""
        pace = poll.pace if poll is not None else None
        if pace is not None:
            ttl = pace.ttl_seconds
            cadence = stored_cadence(pace)
        else:
            ttl = state.ttl_seconds if state else None
            cadence = stored_cadence(state)
        hints = Hints(
            max_age=result.max_age if result is not None else None,
            retry_after=retry_after,
            ttl=ttl,
        )
        return decide_next_poll(
            now=now,
            policy=self.policy,
            feed_interval=feed.interval,
            failures=failures,
            hints=hints,
            cadence=cadence,
            jitter_draw=self.draw(),
        )

    async def _with_new_items(
        self,
        poll: PollSuccess,
        feed: Feed,
        body: bytes,
        content_type: str | None,
        work: Workers,
        *,
        stored_any: bool = True,
    ) -> PollSuccess:
        """Parse ``body``, keep the items not stored yet, match and render them.

        Parsing and matching are CPU work (feedparser, BM25, embeddings): they run
        in a worker thread so the event loop keeps other feeds' fetches on time.
        A feed that has never stored an item (``stored_any`` false: its first poll)
        is not asked which are stored; ``record_poll`` checks again in its transaction
        anyway, so an item another worker stored meanwhile is still stored once.
        """
        watchlist, now = self.watchlist, poll.polled_at
        read = partial(self._read, feed=feed, watchlist=watchlist, now=now,
                       stored_any=stored_any)
        # One trip to a worker thread per document where possible (each trip costs ~50 us
        # of CPU): parse, ask which items are stored, draft the others.
        if self.parsers is None:
            parse = partial(parse_feed, body, url=feed.url, now=now, content_type=content_type)
            parsed, drafts = await self._in_worker(work.cpu, partial(read, lambda: (parse(), None)))
        elif watchlist.rebuildable:
            # Matched and rendered in the parser process too, on the other core: all of
            # the document's items (those stored already are dropped after).
            order = DraftOrder(feed, self.settings.slack_channel,
                               timedelta(hours=self.settings.story_window), watchlist)
            parsed, drafts = await self._in_worker(work.parse, partial(read, partial(
                self.parsers.parse_and_draft, body, url=feed.url, now=now,
                content_type=content_type, order=order,
            )))
        else:  # drafted here, on a matching thread: the parser process goes on meanwhile
            first = await self._in_worker(work.parse, partial(
                self.parsers.parse, body, url=feed.url, now=now, content_type=content_type
            ))
            parsed, drafts = await self._in_worker(work.cpu, partial(read, lambda: (first, None)))
        for warning in parsed.warnings:
            log.warning("feed_warning feed=%s warning=%s", feed.url, warning)
        return replace(
            poll,
            title=parsed.title,
            warning="; ".join(parsed.warnings)[:1000] or None,
            items=drafts,
            pace=measure_pace(parsed, poll.polled_at),
        )

    def _read(
        self, parse: Callable[[], tuple[ParsedFeed, tuple[ItemDraft, ...] | None]], *,
        feed: Feed, watchlist: Watchlist, now: datetime, stored_any: bool,
    ) -> tuple[ParsedFeed, tuple[ItemDraft, ...]]:
        """(On a worker thread.) ``parse``, which may draft every item too (a parser
        process); then the drafts of the items not stored yet, drafted here if need be."""
        parsed, drafted = parse()
        known = self.store.known_identities(
            feed.url, [item.identity for item in parsed.items]
        ) if stored_any else set()
        if drafted is not None:
            return parsed, tuple(_unique_new(drafted, known, _draft_identity))
        return parsed, draft_items(
            _unique_new(parsed.items, known, _item_identity),
            feed,
            watchlist,
            self.settings.slack_channel,
            story_window=timedelta(hours=self.settings.story_window),
            now=now,
        )

    async def _record_failure(
        self,
        feed: Feed,
        error: str,
        status: int | None,
        failures: int,
        state: FeedState | None,
        work: Workers,
        *,
        retry_after: float | None = None,
    ) -> FeedOutcome:
        failure = self._failure(feed, error, status, failures, state, retry_after=retry_after)
        await self._in_worker(work.writes, partial(self.store.record_failure, failure))
        return FeedOutcome(feed.url, feed.label, "error", error=error)

    def _failure(
        self,
        feed: Feed,
        error: str,
        status: int | None,
        failures: int,
        state: FeedState | None,
        *,
        retry_after: float | None = None,
    ) -> PollFailure:
        """A failed poll as the store records it, with when to try again."""
        now = self.clock()
        when = self._next_poll(
            feed, state, now, failures=failures + 1, retry_after=retry_after
        )
        log.warning(
            "poll_failed feed=%s status=%s next_in=%ds why=%s error=%s",
            feed.url, status, when.interval, when.reason, error,
        )
        return PollFailure(
            url=feed.url, polled_at=now, next_poll_at=when.at, error=error, http_status=status,
            leased_by=self.worker,
        )

    def _batch_refused(
        self, refused: dict[str, FeedOutcome], feeds: Mapping[str, Feed], poll: PollSuccess,
        exc: StoreError,
    ) -> None:
        """A batched feed state the database would not take fails that feed only. Runs on
        the writes thread, where the batch is written."""
        log.error("poll_store_failed feed=%s error=%s", poll.url, exc)
        state = self.store.feed_states([poll.url]).get(poll.url)
        feed = feeds[poll.url]
        error = f"could not store its state: {exc}"
        failures = state.consecutive_failures if state else 0
        self.store.record_failure(self._failure(feed, error, None, failures, state))
        refused[poll.url] = FeedOutcome(feed.url, feed.label, "error", error=error)

    async def _record_gone(self, feed: Feed, work: Workers) -> FeedOutcome:
        """HTTP 410: the publisher says the feed is gone for good; stop polling it."""
        error = str(FeedError(feed.url, GONE_PROBLEM))
        log.warning("feed_gone feed=%s", feed.url)
        failure = PollFailure(
            url=feed.url, polled_at=self.clock(), next_poll_at=None, error=error,
            http_status=410, gone=True, leased_by=self.worker,
        )
        await self._in_worker(work.writes, partial(self.store.record_failure, failure))
        return FeedOutcome(feed.url, feed.label, "gone", error=error)

    # -- delivery ------------------------------------------------------------

    def deliver(self, sink: AlertSink, *, limit: int = 200) -> DeliverySummary:
        """Drain due outbox rows into ``sink`` (see ``bot.delivery``)."""
        return self.delivery.deliver(sink, limit=limit)


def _unchanged(poll: PollSuccess, state: FeedState) -> PollSuccess:
    """A 200 whose body is the one parsed last time: all its items are stored already.

    Recorded as not modified, keeping the warning that body's parse gave.
    """
    warning = state.last_error if state.last_status in ("ok", "not-modified") else None
    return replace(poll, status="not-modified", warning=warning)


def _unique_new(values: Sequence[T], known: set[str], identity: Callable[[T], str]) -> list[T]:
    """Items (or their drafts) not stored yet, each identity once (feeds do repeat entries)."""
    seen = set(known)
    fresh: list[T] = []
    for value in values:
        key = identity(value)
        if key in seen:
            continue
        seen.add(key)
        fresh.append(value)
    return fresh


def _item_identity(item: Item) -> str:
    return item.identity


def _draft_identity(draft: ItemDraft) -> str:
    return draft.item.identity


__all__ = [
    "DeliverySummary",
    "FeedOutcome",
    "Pipeline",
    "PollSummary",
    "MatcherFactory",
    "Watchlist",
    "draft_alert",
    "digest_boundary",
    "draft_items",
    "schedule_policy",
]
