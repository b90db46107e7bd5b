"""The outbox drain: due rows out to a sink, each channel in order and at Slack's pace.

::

    outbox (due rows, per channel) ──> compose (pure) ──> pace ──> sink (Slack / webhook / terminal)
                                            │                          │
              feedback, outlets, parent ◀───┘     sent / retry / failed ◀┘ (store)

Delivery is separate from polling: a Slack outage never stops ingestion, and
every decision about a row (send, wait, look up, fail, skip) is written back
to the store, so a crash at any point loses nothing and posts nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

from bot.alert_drafts import claim_muted
from bot.alerts.compose import (
    DigestLine,
    DigestView,
    FeedbackView,
    compose_alert,
    compose_plain,
    outlets_line,
    render_digest,
    render_digest_plain,
)
from bot.alerts.pace import ChannelPacer
from bot.alerts.render import RenderedAlert
from bot.alerts.sinks import DRY_RUN_CHANNEL, WEBHOOK_CHANNEL, AlertSink
from bot.alerts.slack import MESSAGE_GONE
from bot.config import Claim, Settings
from bot.errors import DeliveryError, StoreError
from bot.store import MessageDraft, OutboxAlert, Store
from bot.store.records import (
    ALERT,
    DIGEST_KIND,
    FAILED,
    MUTED,
    PENDING,
    REPLY,
    SKIPPED,
    UPDATE,
)

log = logging.getLogger("claimbot.delivery")

MAX_DELIVERY_BACKOFF = timedelta(minutes=10)
# A 429 asking for at most this long is waited out within the drain, this many times per row.
MAX_INLINE_RATE_WAIT = 30.0
MAX_INLINE_RATE_TRIES = 3
# How far around an unconfirmed post's attempt time its lookup searches the channel.
LOOKUP_MARGIN = timedelta(minutes=10)
# Slack errors that concern the token, not the alert: delivery pauses, alerts stay pending.
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)

Clock = Callable[[], datetime]


class _Step(Enum):
    """What the drain does after one row."""

    DONE = "done"  # settled (sent, failed, muted, skipped): next row of the channel
    AGAIN = "again"  # rate limited: the same row, once the channel's pace allows
    BLOCKED = "blocked"  # waits for a later drain; the channel's later rows wait behind it
    PAUSE = "pause"  # the token is refused: stop all delivery


@dataclass
class DeliverySummary:
    """What one drain did. ``sent`` counts alerts and digests; thread replies (copies of a
    story) and edits are counted apart."""

    sent: int = 0
    replies: int = 0
    updates: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    muted: int = 0
    skipped: int = 0
    found: int = 0  # unconfirmed posts found already in Slack, not posted again
    digests: int = 0
    paused: str | None = None


# Why a row is held back: its claim is no longer in force (see ``Deliverer._held``).
GONE_CLAIM = "claim-gone"


class Deliverer:
    """Drains the outbox into a sink. Safe to call from several threads: one drain at a time."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Clock,
        claims: Callable[[], Mapping[str, Claim]],
        stopping: threading.Event,
        worker: str,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.claims = claims
        self.stopping = stopping
        self.worker = worker
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._held_until: dict[str, datetime] = {}
        self.pacer = ChannelPacer(settings.slack_rate, settings.slack_burst)
        self._lock = threading.Lock()
        self._new_work = threading.Event()

    def wake(self) -> None:
        """New alerts (or a button's edit) are in the outbox: a drain pacing out replies
        and edits ends now, so the next drain can send them first (``_drain``)."""
        self._new_work.set()

    def deliver(self, sink: AlertSink, *, limit: int = 200) -> DeliverySummary:
        """Drain due outbox rows into ``sink``: in order within each channel (new alerts
        ahead of replies and edits, ``_alerts_first``), each channel at Slack's pace,
        channels independent of one another.

        The next write always goes to the channel whose pace allows it soonest,
        so a busy channel never holds back a quiet one (``limit`` applies per
        channel). A 429 holds that channel for Slack's ``Retry-After`` and the
        row is tried again in this drain; another transient failure (outage,
        lost answer) leaves the row for a later drain with backoff and stops
        that channel for this drain, keeping its order. A permanent failure
        fails the row with Slack's reason. A token problem pauses all delivery
        without touching any alert. Digests due by now are queued first.
        """
        summary = DeliverySummary()
        with self._lock:
            self._new_work.clear()  # this drain reads the outbox as it is from here on
            now = self.clock()
            summary.digests = self._queue_digests(now)
            mutes = self.store.mutes(now)
            waiting = self.store.backing_off(now)
            # Leased before the rows are read: what another worker sent before handing a
            # channel over is seen as sent.
            held = self._lease(sorted({sink.pace_key(c) for c in self.store.due_channels(now)}))
            queues: dict[str, deque[OutboxAlert]] = {}
            for alert in self.store.due_alerts(now, limit) if held else []:
                key = sink.pace_key(alert.channel)
                if key not in held:
                    continue  # another worker drains this channel now
                if alert.id > waiting.get(alert.channel, alert.id):
                    continue  # an older row of this channel is backing off: keep the order
                queues.setdefault(key, deque()).append(alert)
            for key, rows in queues.items():
                queues[key] = _alerts_first(rows)
            try:
                self._drain(queues, sink, mutes, summary)
            finally:
                if held:
                    self.store.release_channels(sorted(held), self.worker)
                self._held_until.clear()
        return summary

    def _lease(self, channels: list[str]) -> set[str]:
        """Lease (or renew) channels' outboxes for this worker; those now held."""
        now = self.clock()
        held = self.store.lease_channels(
            channels, owner=self.worker, now=now, until=now + self.lease
        )
        for channel in held:
            self._held_until[channel] = now + self.lease
        return held

    def _still_held(self, key: str) -> bool:
        """Whether this worker may still write to ``key``: a drain paced over minutes renews
        its lease at half-time, and stops on a channel another worker took over."""
        if self.clock() < self._held_until[key] - self.lease / 2:
            return True
        return key in self._lease([key])

    def _drain(
        self, queues: dict[str, deque[OutboxAlert]], sink: AlertSink,
        mutes: dict[str, datetime], summary: DeliverySummary,
    ) -> None:
        """Deliver the leased queues' rows, the channel whose pace allows soonest first.

        Replies and edits are paced out for one delivery interval at most: the drain holds
        its channels' leases, and a new alert another worker queued for one of them waits
        for them to be released (this worker's own new alerts ``wake`` it at once).
        """
        tries: Counter[int] = Counter()
        replies_until = time.monotonic() + self.settings.delivery_interval
        while queues and not self.stopping.is_set():
            key = self._next_channel(queues, sink)
            if not self._still_held(key):
                del queues[key]
                continue
            alert_next = queues[key][0].kind == ALERT
            wait = self._ready_in(key, queues[key][0]) if sink.paced else 0.0
            if wait > MAX_INLINE_RATE_WAIT:
                del queues[key]  # held by Slack for long: a later drain takes it
                continue
            if wait > 0 and alert_next:
                if self.stopping.wait(wait):
                    break
            elif wait > 0:  # a reply or an edit
                if time.monotonic() + wait > replies_until:
                    del queues[key]  # left for the next drain, which takes new alerts first
                    continue
                if self._interrupted_within(wait):
                    # New alerts were queued while this drain paced out replies and edits:
                    # it ends, and the next drain sends them first (``_alerts_first``).
                    break
            alert = self._current(queues[key][0])
            tries[alert.id] += 1
            try:
                step = self._deliver_one(sink, alert, key, mutes, summary, tries[alert.id])
            except StoreError:
                raise
            except Exception as exc:  # a bug: keep the row, keep the other channels going
                log.exception("delivery_crashed alert=%d", alert.id)
                error = DeliveryError(f"internal error (see log): {type(exc).__name__}: {exc}",
                                      code="internal", unsure=True)
                self._retry_later(alert, error, summary, unsure=True)
                step = _Step.BLOCKED
            if step is _Step.PAUSE:
                break
            if step is _Step.DONE:
                queues[key].popleft()
            if step is _Step.BLOCKED or not queues[key]:
                del queues[key]  # what is left waits for a later drain, in order

    def _current(self, alert: OutboxAlert) -> OutboxAlert:
        """The row as it is now: outlets, feedback and the parent change while a drain runs
        (a copy arrives, a button is pressed, the parent is posted)."""
        if alert.kind in (ALERT, UPDATE):
            return self.store.outbox_alert(alert.id) or alert
        if alert.parent is not None and alert.parent.status == PENDING:
            return replace(alert, parent=self.store.parent_alert(alert.parent.id))
        return alert

    def _ready_in(self, key: str, head: OutboxAlert) -> float:
        """Seconds until ``head`` may be written to its channel. A new alert may use the
        channel's whole burst; replies and edits (an earlier story's copies, its "+N
        outlets") go only when the burst is all there again, so a quiet channel always
        has it for the next new alert: on Slack's pace of about one write a second,
        three alerts found together go out together, not behind a copy's reply."""
        keep = 0 if head.kind == ALERT else self.settings.slack_burst - 1
        return self.pacer.ready_in(key, keep=keep)

    def _interrupted_within(self, seconds: float) -> bool:
        """Wait ``seconds`` unless new work (``wake``) or a stop comes first: then True."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._new_work.wait(min(left, 0.25)) or self.stopping.is_set():
                return True
        return self._new_work.is_set() or self.stopping.is_set()

    def _next_channel(self, queues: dict[str, deque[OutboxAlert]], sink: AlertSink) -> str:
        """The channel to write to next: ready soonest, then oldest row first."""
        if not sink.paced:
            return min(queues, key=lambda c: queues[c][0].id)
        return min(queues, key=lambda c: (self._ready_in(c, queues[c][0]), queues[c][0].id))

    def _deliver_one(
        self, sink: AlertSink, alert: OutboxAlert, pace_key: str, mutes: dict[str, datetime],
        summary: DeliverySummary, attempt: int,
    ) -> _Step:
        """Deliver one row and say what the drain does next."""
        now = self.clock()
        held = self._held(alert, mutes, now)
        if held is not None and not alert.in_flight:  # one that may be in Slack: look first
            self._settle_held(alert, held, summary)
            return _Step.DONE
        parent = alert.parent
        if sink.threads and parent is not None and parent.status == PENDING:
            return _Step.BLOCKED  # its alert is not in Slack yet (retrying): wait for it
        target = self._target(sink, alert, summary)
        if target is None:
            return _Step.DONE
        channel, thread_ts, message, plain = target
        if alert.in_flight and alert.kind != UPDATE:
            try:
                found = self._find_posted(sink, alert, channel, thread_ts)
            except DeliveryError as exc:
                if exc.code in AUTH_ERRORS:
                    return self._pause(exc, summary)
                self._retry_later(alert, exc, summary, unsure=True)  # ask again, never guess
                return _Step.BLOCKED
            if found is not None:
                found_in, found_ts = found
                # What Slack shows is what was composed then, not now: no ``shown``.
                self.store.mark_sent(alert.id, slack_channel=found_in, slack_ts=found_ts, now=now)
                summary.found += 1
                log.warning("alert_found_posted alert=%d ts=%s (not posted again)", alert.id,
                            found_ts)
                return _Step.DONE
            if held is not None:
                self._settle_held(alert, held, summary)
                return _Step.DONE
        if alert.kind == UPDATE and parent is not None and parent.shown == message.blocks:
            # Slack already shows exactly this (the alert was posted with these outlets).
            self.store.mark_sent(alert.id, slack_channel=channel, slack_ts=thread_ts, now=now)
            return _Step.DONE
        if sink.paced:
            self.pacer.take(pace_key)
        if alert.kind != UPDATE:
            self.store.mark_in_flight(alert.id, now=self.clock())
        try:
            if alert.kind == UPDATE:
                assert thread_ts is not None
                sink.update(channel, thread_ts, message, plain)
                where = (channel, thread_ts)
            else:
                where = sink.post(channel, message, plain, alert_id=alert.id, thread_ts=thread_ts)
        except DeliveryError as exc:
            return self._delivery_failed(alert, pace_key, exc, summary, attempt)
        self.store.mark_sent(alert.id, slack_channel=where[0], slack_ts=where[1],
                             now=self.clock(), shown=message.blocks)
        if alert.kind == REPLY:
            summary.replies += 1
        elif alert.kind == UPDATE:
            summary.updates += 1
        else:
            summary.sent += 1
        log.info("alert_sent alert=%d kind=%s claim=%s channel=%s ts=%s", alert.id, alert.kind,
                 alert.claim_id, where[0], where[1])
        return _Step.DONE

    def _target(
        self, sink: AlertSink, alert: OutboxAlert, summary: DeliverySummary
    ) -> tuple[str, str | None, RenderedAlert, str] | None:
        """Where and what to send: (channel, thread or message ts, message, terminal text).

        None when the row is settled without sending: its alert failed (fail
        along with it) or is gone, or the sink cannot thread (skip).
        """
        feedback = (
            FeedbackView(alert.feedback.verdict, alert.feedback.user_id, alert.feedback.user_name)
            if alert.feedback is not None
            else None
        )
        if alert.kind in (ALERT, DIGEST_KIND):
            message = RenderedAlert(alert.text, alert.blocks)
            plain = alert.plain
            if alert.kind == ALERT:
                message = compose_alert(
                    message, alert_id=alert.id, outlets=alert.outlets, feedback=feedback,
                    buttons=sink.interactive,
                )
                plain = compose_plain(alert.plain, alert.outlets)
            return alert.channel, None, message, plain
        parent = alert.parent
        if not sink.threads:
            self._skip(alert, "this sink cannot reply in threads or edit", summary)
            return None
        if parent is None or parent.slack_ts is None or parent.slack_channel is None:
            status = parent.status if parent is not None else "missing"
            if status == FAILED:
                assert parent is not None
                self.store.mark_failed(
                    alert.id,
                    error=f"its alert {parent.id} failed: `claimbot alerts retry {parent.id}`"
                    " retries both",
                )
                summary.failed += 1
            else:
                self._skip(alert, f"its alert is {status}", summary)
            return None
        if (
            parent.slack_channel in (DRY_RUN_CHANNEL, WEBHOOK_CHANNEL)
            and parent.slack_channel != sink.destination
        ):
            self._skip(alert, f"its alert went to {parent.slack_channel}, not a Slack channel",
                       summary)
            return None
        if alert.kind == REPLY:
            message = RenderedAlert(alert.text, alert.blocks)
            return parent.slack_channel, parent.slack_ts, message, alert.plain
        message = compose_alert(
            RenderedAlert(parent.text, parent.blocks), alert_id=parent.id, outlets=alert.outlets,
            feedback=feedback, buttons=sink.interactive,
        )
        lines = [outlets_line(alert.outlets, escape=False)] if alert.outlets else []
        if feedback is not None:
            lines.append(f"{feedback.verdict} by {feedback.user_name or feedback.user_id}")
        plain = f"  \u21bb alert {parent.id} updated: " + ("; ".join(lines) or "re-rendered")
        return parent.slack_channel, parent.slack_ts, message, plain

    def _skip(self, alert: OutboxAlert, note: str, summary: DeliverySummary) -> None:
        self.store.mark_status(alert.id, status=SKIPPED, note=note)
        summary.skipped += 1

    def _find_posted(
        self, sink: AlertSink, alert: OutboxAlert, channel: str, thread_ts: str | None
    ) -> tuple[str, str] | None:
        """Look up an unconfirmed post in Slack: (channel id, ts), or None when it is not there
        or Slack can never say (no history scope, channel unknown by that name). A passing
        failure of the lookup raises ``DeliveryError``: the row then waits, so an outage
        during the lookup cannot lead to a second post."""
        since = alert.attempted_at or self.clock()
        oldest = (since - LOOKUP_MARGIN).timestamp()
        latest = (since + LOOKUP_MARGIN).timestamp()
        where = channel if thread_ts is not None else (alert.slack_channel_hint or channel)
        try:
            ts = sink.find_posted(where, alert.id, oldest=oldest, latest=latest,
                                  thread_ts=thread_ts)
        except DeliveryError as exc:
            if not exc.permanent or exc.code in AUTH_ERRORS:
                raise  # a passing failure, or the token: ask again later
            log.warning(
                "alert_lookup_failed alert=%d error=%s: posting again, which may duplicate it"
                " (give the bot channels:history and configure the channel by id to rule that"
                " out)", alert.id, exc,
            )
            return None
        return (where, ts) if ts is not None else None

    def _pause(self, exc: DeliveryError, summary: DeliverySummary) -> _Step:
        summary.paused = str(exc)
        log.error("delivery_paused error=%s", exc)
        return _Step.PAUSE

    def _delivery_failed(
        self, alert: OutboxAlert, pace_key: str, exc: DeliveryError, summary: DeliverySummary,
        attempt: int,
    ) -> _Step:
        if exc.code in AUTH_ERRORS:
            if not alert.in_flight:  # one that may be in Slack from before must stay so
                self.store.clear_in_flight(alert.id)
            return self._pause(exc, summary)
        if exc.code in MESSAGE_GONE and alert.kind in (REPLY, UPDATE):
            self._skip(alert, f"its alert is gone from Slack: {exc}", summary)
            return _Step.DONE
        if exc.permanent:
            self.store.mark_failed(alert.id, error=str(exc))
            summary.failed += 1
            log.error("alert_failed alert=%d claim=%s error=%s", alert.id, alert.claim_id, exc)
            return _Step.DONE
        if exc.code == "ratelimited":
            wait = exc.retry_after if exc.retry_after is not None else 1.0
            self.pacer.hold(pace_key, min(wait, MAX_DELIVERY_BACKOFF.total_seconds()))
            if wait <= MAX_INLINE_RATE_WAIT and attempt < MAX_INLINE_RATE_TRIES:
                self.store.clear_in_flight(alert.id)  # a 429 means Slack did not take it
                summary.rate_limited += 1
                log.warning("alert_rate_limited alert=%d channel=%s wait=%.1fs", alert.id,
                            alert.channel, wait)
                return _Step.AGAIN
        self._retry_later(alert, exc, summary, unsure=exc.unsure)
        return _Step.BLOCKED

    def _held(
        self, alert: OutboxAlert, mutes: dict[str, datetime], now: datetime
    ) -> str | None:
        """Why this row must not go out now, if it must not: its claim is muted, or no
        longer in force (removed from claims.yaml or disabled while the row waited)."""
        if alert.kind not in (ALERT, REPLY, DIGEST_KIND):
            return None  # an edit of a message already in Slack
        if alert.claim_id not in self.claims():
            return GONE_CLAIM
        if alert.kind != DIGEST_KIND and self._is_muted(alert.claim_id, mutes, now):
            return MUTED
        return None

    def _settle_held(self, alert: OutboxAlert, held: str, summary: DeliverySummary) -> None:
        if held == MUTED:
            self.store.mark_status(alert.id, status=MUTED, note="claim muted when it was due")
            summary.muted += 1
        else:
            self._skip(alert, "its claim was removed or disabled before it was sent", summary)

    def _is_muted(self, claim_id: str, mutes: dict[str, datetime], now: datetime) -> bool:
        claim = self.claims().get(claim_id)
        if claim is not None and claim_muted(claim, now):
            return True
        until = mutes.get(claim_id)
        return until is not None and until > now

    def _queue_digests(self, now: datetime) -> int:
        """Turn each digest claim's stories from before its last period boundary into one
        digest message in the outbox."""
        queued = 0
        for claim_id in sorted(self.store.digest_claims()):
            claim = self.claims().get(claim_id)
            if claim is None:
                continue  # removed or disabled: its stories wait, in case it comes back
            boundary = digest_boundary(claim, now)
            entries = self.store.digest_entries(claim_id, before=boundary)
            if not entries:
                continue
            view = DigestView(
                claim_id=claim.id,
                claim_title=claim.title,
                period=f"{claim.digest} digest to {boundary:%Y-%m-%d %H:%M} UTC",
                lines=tuple(
                    DigestLine(e.title, e.link, e.source, e.published, e.copies) for e in entries
                ),
            )
            rendered = render_digest(view)
            digest_id = self.store.create_digest(
                claim.id,
                channel=claim.channel or self.settings.slack_channel,
                message=MessageDraft(rendered.text, rendered.blocks, render_digest_plain(view)),
                member_ids=[e.alert_id for e in entries],
                now=now,
                period=boundary,
            )
            if digest_id is not None:
                queued += 1
                log.info("digest_queued claim=%s stories=%d alert=%d", claim.id, len(entries),
                         digest_id)
        return queued

    def _retry_later(
        self, alert: OutboxAlert, exc: DeliveryError, summary: DeliverySummary, *, unsure: bool
    ) -> None:
        """Back off this row (5 s doubling, capped; Slack's Retry-After when longer), or give
        up on it after ``delivery_max_attempts``.

        ``unsure``: Slack may hold the message, so it stays in flight and is
        looked up before it is posted again. Never failed while unsure: giving
        up could hide a message that is in Slack, so it keeps being looked up.
        """
        attempts = alert.attempts
        # Rate limits are Slack pacing us, not the alert failing: they never use up the tries.
        gives_up = not unsure and exc.code != "ratelimited"
        if attempts + 1 >= self.settings.delivery_max_attempts and gives_up:
            self.store.mark_failed(
                alert.id, error=f"{exc} (gave up after {attempts + 1} attempts)"
            )
            summary.failed += 1
            log.error("alert_failed alert=%d error=%s attempts=%d", alert.id, exc, attempts + 1)
            return
        delay = timedelta(seconds=max(exc.retry_after or 0.0, 5.0 * 2 ** min(attempts, 10)))
        retry_at = self.clock() + min(delay, MAX_DELIVERY_BACKOFF)
        self.store.mark_retry(alert.id, error=str(exc), next_attempt_at=retry_at, unsure=unsure)
        summary.retried += 1
        log.warning("alert_retry alert=%d error=%s retry_at=%s unsure=%s", alert.id, exc,
                    retry_at.isoformat(), unsure)


def digest_boundary(claim: Claim, now: datetime) -> datetime:
    """The latest digest time of ``claim`` at or before ``now`` (UTC).

    Hourly digests go out on the hour; daily ones at ``digest_at``. Stories
    found before the boundary belong to the digest sent at it.
    """
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    if claim.digest == "hourly":
        return now.replace(minute=0, second=0, microsecond=0)
    hour, minute = (int(part) for part in claim.digest_at.split(":"))
    today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def _alerts_first(rows: deque[OutboxAlert]) -> deque[OutboxAlert]:
    """A channel's rows with its new alerts ahead of thread replies and "+N outlets" edits,
    each kind in the order it was found.

    Why: Slack allows about one write a second per channel, and a story copied by many
    outlets queues a reply and an edit per copy; an analyst waiting for a new claim must
    not wait behind them. A reply or edit never overtakes its own alert (it is older), and
    an edit reads the story as it is when sent, so later copies cost no extra write.
    """
    return deque(sorted(rows, key=lambda row: row.kind != ALERT))
