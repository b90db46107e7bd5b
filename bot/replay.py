"""Try a claim on the items already stored: what it would have matched, before it goes live.

A new or edited claim is matched exactly as the running bot would match it:
with the whole watch list around it (scores depend on the other claims), its
own thresholds, and the items the bot has really seen. The report compares
that with what the stored version of the claim did, so a user sees which
alerts an edit would add and which it would drop before anyone is paged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from bot.config import Claim
from bot.store import Store
from bot.store.records import StoredItem, StoredMatch

if TYPE_CHECKING:
    from bot.matching import Match  # the matcher (and numpy) load only when a replay runs

BATCH = 500


@dataclass(frozen=True)
class ReplayHit:
    """One stored item the claim would match now (or did match before and now would not)."""

    item_id: int
    title: str
    link: str | None
    feed: str
    seen_at: datetime
    score: float | None  # None: the claim would not match it now
    alert: bool
    terms: tuple[str, ...]
    sentence: str
    before: str  # what the stored claim did: alerted, suggested or none

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id, "title": self.title, "link": self.link,
            "feed": self.feed, "seen_at": self.seen_at.isoformat(), "score": self.score,
            "alert": self.alert, "terms": list(self.terms), "sentence": self.sentence,
            "before": self.before,
        }


@dataclass
class ReplayReport:
    """What a claim would have done over the stored items since ``since``."""

    claim_id: str
    since: datetime
    items: int = 0
    alerts: int = 0
    suggestions: int = 0
    examples: list[ReplayHit] = field(default_factory=list)  # best scores first
    added: list[ReplayHit] = field(default_factory=list)  # would alert, did not
    dropped: list[ReplayHit] = field(default_factory=list)  # alerted, would not
    previously_alerted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id, "since": self.since.isoformat(), "items": self.items,
            "alerts": self.alerts, "suggestions": self.suggestions,
            "previously_alerted": self.previously_alerted,
            "examples": [h.to_dict() for h in self.examples],
            "added": [h.to_dict() for h in self.added],
            "dropped": [h.to_dict() for h in self.dropped],
        }


MatchMany: TypeAlias = "Callable[[Sequence[Any]], list[list[Match]]]"


def with_claim(claims: Sequence[Claim], candidate: Claim) -> list[Claim]:
    """The watch list with ``candidate`` in force: replacing its stored version, or added.
    A disabled candidate is tried as if enabled: trying it is the point."""
    live = candidate.model_copy(update={"enabled": True})
    others = [c for c in claims if c.id != candidate.id and c.enabled]
    return [*others, live]


def replay_claim(
    store: Store,
    claim_id: str,
    match_many: MatchMany,
    *,
    since: datetime,
    examples: int = 10,
) -> ReplayReport:
    """Run ``match_many`` (a matcher built by :func:`with_claim`) over the stored items
    since ``since`` and compare with the claim's stored matches."""
    report = ReplayReport(claim_id, since)
    before = store.claim_matches_since(claim_id, since=since)
    report.previously_alerted = sum(1 for m in before.values() if m.alert)
    hits: list[ReplayHit] = []
    now_alerting: set[int] = set()
    after = 0
    while batch := store.stored_items(since=since, after_id=after, limit=BATCH):
        after = batch[-1].id
        report.items += len(batch)
        for stored, found in zip(batch, match_many([s.item for s in batch]), strict=True):
            match = next((m for m in found if m.claim_id == claim_id), None)
            if match is None:
                continue
            hit = _hit(stored, match, before.get(stored.id))
            hits.append(hit)
            if match.alert:
                report.alerts += 1
                now_alerting.add(stored.id)
                if hit.before != "alerted":
                    report.added.append(hit)
            else:
                report.suggestions += 1
    hits.sort(key=lambda h: (-(h.score or 0.0), h.item_id))
    report.examples = hits[:examples]
    report.dropped = [
        _dropped(item_id, match)
        for item_id, match in sorted(before.items())
        if match.alert and item_id not in now_alerting
    ]
    return report


def _before(stored: StoredMatch | None) -> str:
    if stored is None:
        return "none"
    return "alerted" if stored.alert else "suggested"


def _hit(stored: StoredItem, match: Match, previous: StoredMatch | None) -> ReplayHit:
    return ReplayHit(
        item_id=stored.id, title=stored.item.title, link=stored.item.link, feed=stored.feed,
        seen_at=stored.first_seen_at, score=match.score, alert=match.alert,
        terms=match.evidence.terms, sentence=match.evidence.sentence, before=_before(previous),
    )


def _dropped(item_id: int, previous: StoredMatch) -> ReplayHit:
    evidence = previous.evidence or {}
    return ReplayHit(
        item_id=item_id, title=previous.item_title, link=previous.item_link,
        feed=previous.feed_name or previous.feed_url, seen_at=previous.created_at, score=None,
        alert=False, terms=tuple(evidence.get("terms") or ()),
        sentence=str(evidence.get("sentence") or ""), before="alerted",
    )
