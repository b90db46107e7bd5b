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
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from bot.alerts.compose import (
    ReplyView,
    render_reply,
    render_reply_plain,
)
from bot.alerts.render import AlertView, render_alert, render_alert_plain
from bot.alerts.sinks import AlertSink
from bot.config import Claim, Feed, Settings
from bot.delivery import Deliverer, DeliverySummary, claim_muted, digest_boundary
from bot.errors import ConfigError, FeedError, StoreError
from bot.feeds.digest import body_hash
from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.parse import parse_feed
from bot.items import Item
from bot.matching import Match, Matcher
from bot.matching.matcher import SemanticScorer, claim_text
from bot.matching.semantic import Embedder, EmbeddingCache, SemanticIndex, load_embedder
from bot.matching.stories import body_fingerprint, fingerprint
from bot.poll_batch import PollBatch
from bot.store import (
    AlertDraft,
    FeedState,
    ItemDraft,
    MatchDraft,
    MessageDraft,
    PollFailure,
    PollSuccess,
    RecordOutcome,
    Store,
)

log = logging.getLogger("claimbot.pipeline")

MAX_FAILURE_BACKOFF = timedelta(hours=6)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Watchlist:
    """The claims in force and the matcher built from them, swapped as one value."""

    claims: dict[str, Claim]
    matcher: Matcher

    @classmethod
    def build(cls, claims: Sequence[Claim], semantic: SemanticScorer | None = None) -> Watchlist:
        enabled = [c for c in claims if c.enabled]
        return cls({c.id: c for c in enabled}, Matcher(enabled, semantic=semantic))


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
class FeedOutcome:
    """What polling one feed did, for summaries and logs."""

    url: str
    name: str
    status: str  # "ok", "not-modified", "error", "skipped"
    new_items: int = 0
    new_matches: int = 0
    new_alerts: int = 0
    error: str | None = None


@dataclass
class PollSummary:
    feeds: list[FeedOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.status == "error"]

    def total(self, attribute: str) -> int:
        return sum(int(getattr(f, attribute)) for f in self.feeds)


def source_label(feed: Feed, link: str | None) -> str:
    """The outlet name an alert shows: the feed's name, else the item's host."""
    if feed.name:
        return feed.name
    host = urlsplit(link or feed.url).hostname
    return host or feed.url


def draft_alert(
    claim: Claim,
    match: Match,
    item: Item,
    feed: Feed,
    default_channel: str,
    *,
    story_window: timedelta = timedelta(hours=72),
    now: datetime | None = None,
    keys: tuple[int | None, int | None] | None = None,
) -> AlertDraft:
    """Render the outbox entry for an alerting match, as first alert and as a copy (pure).

    ``keys`` are the item's story fingerprints (``story_keys``), passed in when
    the caller drafts several alerts for one item.
    """
    evidence = match.evidence
    source = source_label(feed, item.link)
    view = AlertView(
        claim_id=claim.id,
        claim_title=claim.title,
        item_title=item.title,
        item_link=item.link,
        source=source,
        published=item.published,
        snippet=evidence.snippet,
        highlights=evidence.highlights,
        matched_terms=evidence.terms,
        score=match.score,
        severity=claim.severity,
    )
    rendered = render_alert(view)
    reply_view = ReplyView(item.title, item.link, source, item.published)
    fingerprint_key, body_key = keys if keys is not None else story_keys(item)
    reply = render_reply(reply_view)
    return AlertDraft(
        channel=claim.channel or default_channel,
        text=rendered.text,
        blocks=rendered.blocks,
        plain=render_alert_plain(view),
        reply=MessageDraft(reply.text, reply.blocks, render_reply_plain(reply_view)),
        fingerprint=fingerprint_key,
        body_fingerprint=body_key,
        story_title=item.title,
        mode=claim.mode,
        muted=claim_muted(claim, now),
        story_window=story_window,
    )


def story_keys(item: Item) -> tuple[int | None, int | None]:
    """The item's two story fingerprints (whole item, body alone)."""
    body = item.summary or item.content[:2000]
    # 0: no usable words; such items must not all become one story.
    return fingerprint(item.title, body) or None, body_fingerprint(body)


def draft_items(
    items: Sequence[Item],
    feed: Feed,
    watchlist: Watchlist,
    default_channel: str,
    *,
    story_window: timedelta = timedelta(hours=72),
    now: datetime | None = None,
) -> tuple[ItemDraft, ...]:
    """Match new items and render their alerts: the pure middle of a poll."""
    drafts: list[ItemDraft] = []
    for item, found in zip(items, watchlist.matcher.match_many(items), strict=True):
        matches: list[MatchDraft] = []
        keys = story_keys(item) if any(m.alert for m in found) else None
        for match in found:
            claim = watchlist.claims[match.claim_id]
            outbox = (
                draft_alert(
                    claim, match, item, feed, default_channel, story_window=story_window,
                    now=now, keys=keys,
                )
                if match.alert
                else None
            )
            matches.append(
                MatchDraft(
                    claim_id=match.claim_id,
                    score=match.score,
                    alert=match.alert,
                    evidence=match.evidence.to_dict(),
                    outbox=outbox,
                )
            )
        drafts.append(ItemDraft(item, tuple(matches)))
    return tuple(drafts)


def next_poll(feed: Feed, settings: Settings, now: datetime, failures: int = 0) -> datetime:
    """When to poll ``feed`` again: its interval, doubled per consecutive failure (capped)."""
    interval = timedelta(seconds=feed.interval or settings.poll_interval)
    if failures:
        interval = min(interval * (2 ** min(failures, 10)), max(MAX_FAILURE_BACKOFF, interval))
    return now + interval


def is_due(state: FeedState | None, now: datetime) -> bool:
    return state is None or state.next_poll_at is None or state.next_poll_at <= now


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
    ) -> None:
        self.settings = settings
        self.store = store
        self.watchlist = watchlist
        self.clock = clock
        self.fetch_limits = fetch_limits or FetchLimits(
            read_timeout=settings.fetch_timeout,
            total_timeout=max(60.0, settings.fetch_timeout * 3),
            max_bytes=settings.max_feed_bytes,
            max_concurrency=settings.fetch_concurrency,
            max_per_host=settings.fetch_per_host,
        )
        self.stopping = threading.Event()
        self.delivery = Deliverer(
            settings, store, clock=clock, claims=lambda: self.watchlist.claims,
            stopping=self.stopping,
        )

    def replace_watchlist(self, watchlist: Watchlist) -> None:
        """Swap the claims in force; the next item matched uses the new ones."""
        self.watchlist = watchlist

    # -- polling -------------------------------------------------------------

    def poll(self, feeds: Sequence[Feed], *, only_due: bool = False) -> PollSummary:
        """One pass over ``feeds`` (all of them, or only those due)."""
        return asyncio.run(self.poll_async(feeds, only_due=only_due))

    async def poll_async(self, feeds: Sequence[Feed], *, only_due: bool = False) -> PollSummary:
        self.store.sync_feeds([(f.url, f.name) for f in feeds])
        states = self.store.feed_states()
        now = self.clock()
        chosen = [f for f in feeds if not only_due or is_due(states.get(f.url), now)]
        summary = PollSummary()
        if not chosen:
            return summary
        by_url = {feed.url: feed for feed in chosen}
        refused: dict[str, FeedOutcome] = {}

        def batch_refused(poll: PollSuccess, exc: StoreError) -> None:
            feed, state = by_url[poll.url], states.get(poll.url)
            log.error("poll_store_failed feed=%s error=%s", feed.url, exc)
            refused[feed.url] = self._record_failure(
                feed, f"could not store its state: {exc}", None,
                state.consecutive_failures if state else 0,
            )

        batch = PollBatch(self.store, batch_refused)
        async with Fetcher(self.fetch_limits) as fetcher:
            tasks = [
                self._poll_one(fetcher, feed, states.get(feed.url), batch) for feed in chosen
            ]
            summary.feeds.extend(await asyncio.gather(*tasks))
        batch.flush()
        summary.feeds = [refused.get(outcome.url, outcome) for outcome in summary.feeds]
        return summary

    async def _poll_one(
        self, fetcher: Fetcher, feed: Feed, state: FeedState | None, batch: PollBatch
    ) -> FeedOutcome:
        if self.stopping.is_set():
            return FeedOutcome(feed.url, feed.label, "skipped")
        failures = state.consecutive_failures if state else 0
        try:
            result = await fetcher.fetch(
                feed.url,
                etag=state.etag if state else None,
                last_modified=state.last_modified if state else None,
            )
            now = self.clock()
            poll = PollSuccess(
                url=feed.url,
                polled_at=now,
                next_poll_at=next_poll(feed, self.settings, now),
                http_status=result.status,
                status="not-modified" if result.not_modified else "ok",
                etag=result.etag,
                last_modified=result.last_modified,
            )
            if result.body is not None:
                digest = body_hash(result.body, result.content_type)
                if state is not None and state.body_hash == digest:
                    poll = _unchanged(poll, state)
                else:
                    poll = await self._with_new_items(
                        poll, feed, result.body, result.content_type
                    )
                    poll = replace(poll, body_hash=digest)
            if poll.items:
                outcome = self.store.record_poll(poll)
            else:  # only the feed's state changes: written with others (bot.poll_batch)
                batch.add(poll)
                outcome = RecordOutcome(0, 0, 0)
        except FeedError as exc:
            return self._record_failure(feed, str(exc), exc.status, failures)
        except StoreError as exc:
            # A write the database refused for this feed's items (one it will not take) fails
            # this feed only. If the failure cannot be recorded either, the database itself
            # is down: that StoreError stops the pass.
            log.error("poll_store_failed feed=%s error=%s", feed.url, exc)
            return self._record_failure(feed, f"could not store its items: {exc}", None,
                                        failures)
        except Exception as exc:  # a bug: say so loudly, keep the other feeds going
            log.exception("poll_crashed feed=%s", feed.url)
            return self._record_failure(
                feed, f"internal error (see log): {type(exc).__name__}: {exc}", None, failures
            )
        log.info(
            "poll feed=%s status=%s new=%d matches=%d alerts=%d",
            feed.url,
            result.status,
            outcome.new_items,
            outcome.new_matches,
            outcome.new_alerts,
        )
        return FeedOutcome(
            feed.url,
            feed.label,
            poll.status,
            outcome.new_items,
            outcome.new_matches,
            outcome.new_alerts,
        )

    async def _with_new_items(
        self, poll: PollSuccess, feed: Feed, body: bytes, content_type: str | None
    ) -> PollSuccess:
        """Parse ``body``, keep the items not stored yet, match and render them.

        Parsing and matching are CPU work (feedparser, BM25, embeddings): they run
        in a worker thread so the event loop keeps other feeds' fetches on time.
        """
        parsed = await asyncio.to_thread(
            parse_feed, body, url=feed.url, now=poll.polled_at, content_type=content_type
        )
        for warning in parsed.warnings:
            log.warning("feed_warning feed=%s warning=%s", feed.url, warning)
        known = self.store.known_identities(feed.url, [i.identity for i in parsed.items])
        fresh = _unique_new(parsed.items, known)
        drafts = await asyncio.to_thread(
            partial(
                draft_items,
                story_window=timedelta(hours=self.settings.story_window),
                now=poll.polled_at,
            ),
            fresh,
            feed,
            self.watchlist,
            self.settings.slack_channel,
        )
        return replace(
            poll,
            title=parsed.title,
            warning="; ".join(parsed.warnings)[:1000] or None,
            items=drafts,
        )

    def _record_failure(
        self, feed: Feed, error: str, status: int | None, failures: int
    ) -> FeedOutcome:
        now = self.clock()
        log.warning("poll_failed feed=%s status=%s error=%s", feed.url, status, error)
        self.store.record_failure(
            PollFailure(
                url=feed.url,
                polled_at=now,
                next_poll_at=next_poll(feed, self.settings, now, failures + 1),
                error=error,
                http_status=status,
            )
        )
        return FeedOutcome(feed.url, feed.label, "error", error=error)

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


def _unique_new(items: Sequence[Item], known: set[str]) -> list[Item]:
    """Items not stored yet, each identity once (feeds do repeat entries)."""
    seen = set(known)
    fresh: list[Item] = []
    for item in items:
        if item.identity in seen:
            continue
        seen.add(item.identity)
        fresh.append(item)
    return fresh


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
    "next_poll",
]
