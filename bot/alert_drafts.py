"""Match new items and render their alerts: the pure middle of a poll.

Why a module of its own: a parser process (``bot.feeds.parse_process``) drafts the items
it has just parsed, on another core, and must not import the store, the fetcher or
Slack to do so. Everything here is pure: claims and items in, drafts out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.alerts.compose import ReplyView, render_reply, render_reply_plain
from bot.alerts.render import AlertView, render_alert, render_alert_plain
from bot.config import Claim, Feed
from bot.items import Item
from bot.matching import Match, Matcher
from bot.matching.matcher import SemanticScorer
from bot.matching.stories import body_fingerprint, fingerprint
from bot.store.records import AlertDraft, ItemDraft, MatchDraft, MessageDraft

__all__ = [
    "Watchlist",
    "claim_muted",
    "draft_alert",
    "draft_items",
    "source_label",
    "story_keys",
]

# Each watchlist built gets its own serial: a parser process that drafts keeps the
# matcher of the serial it was last sent, and is sent the claims again when it changes.
_SERIALS = itertools.count(1)


@dataclass(frozen=True)
class Watchlist:
    """The claims in force and the matcher built from them, swapped as one value."""

    claims: dict[str, Claim]
    matcher: Matcher
    serial: int = field(default_factory=lambda: next(_SERIALS), init=False, compare=False)

    @classmethod
    def build(cls, claims: Sequence[Claim], semantic: SemanticScorer | None = None) -> Watchlist:
        enabled = [c for c in claims if c.enabled]
        return cls({c.id: c for c in enabled}, Matcher(enabled, semantic=semantic))

    @property
    def rebuildable(self) -> bool:
        """Whether ``Watchlist.build(claims)`` elsewhere matches exactly as this one does:
        true without an embedding model, which another process would have to load."""
        return not self.matcher.uses_embeddings


def claim_muted(claim: Claim, now: datetime | None) -> bool:
    """Whether claims.yaml mutes ``claim`` at ``now`` (Slack mutes live in the store)."""
    return claim.mute_until is not None and now is not None and claim.mute_until > now


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
