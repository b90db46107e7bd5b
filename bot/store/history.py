"""Questions asked of the stored history: which matches, from which feeds, how healthy.

Kept apart from the store's write path (``store.py``): these are read-only
queries the CLI and Slack answer from, shaped so they stay fast with a million
items (every filter is served by an index; paging is by key, not offset).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.errors import StoreError
from bot.items import Item
from bot.store.records import FeedHealth, StoredItem, StoredMatch
from bot.store.search import (
    SearchTerm,
    matched_item_hits,
    parse_search,
    substring_condition,
)
from bot.store.tables import AlertRow, FeedbackRow, FeedRow, ItemRow, MatchRow

# What ``--status`` accepts, and what each means.
MATCH_STATUSES = {
    "alerted": "reached the claim's alert threshold (posted, queued, muted or digested)",
    "suggested": "reached only the suggestion threshold: stored for review, never posted",
    "relevant": "marked relevant in Slack (the latest verdict on its story)",
    "false-positive": "marked a false positive in Slack (the latest verdict on its story)",
}
_VERDICTS = {"relevant": "relevant", "false-positive": "false_positive"}
_JUDGEMENTS = ("relevant", "false_positive")
# Up to this many matched items containing a search's terms, the search starts from them.
FEW_HITS = 2000


@dataclass(frozen=True)
class MatchQuery:
    """Filters for stored matches; all optional, combined with AND.

    ``after`` is a paging cursor: the id of the last match of the previous
    page. Order is newest first (by when the match was stored, then id), which
    is stable as new matches arrive at the top.
    """

    claim_ids: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()  # urls or names
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    search: str | None = None
    min_score: float | None = None
    status: str | None = None
    after: int | None = None
    limit: int = 20

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in MATCH_STATUSES:
            raise StoreError(
                f"unknown status {self.status!r}: use one of {', '.join(MATCH_STATUSES)}"
            )


def find_matches(
    session: Session, query: MatchQuery, *, full_text: bool
) -> list[StoredMatch]:
    """One page of matches for ``query``, with item, feed, alert and latest verdict.

    Two steps: the page's match ids first, from ``matches`` alone where the filters
    allow, then their rows. Joining items, feeds and alerts before the page is cut
    would join every candidate (thousands, for a common search word) to keep twenty.
    """
    if session.get_bind().dialect.name == "postgresql":
        # A page is twenty rows found walking newest first: parallel workers would scan far
        # ahead of where the walk stops (25,000 rows instead of a few hundred for a search).
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    newest_first = (col(MatchRow.created_at).desc(), col(MatchRow.id).desc())
    page = select(MatchRow.id).order_by(*newest_first).limit(query.limit)
    conditions, uses_items = _conditions(session, query, full_text=full_text)
    if uses_items:
        page = page.join(ItemRow, col(ItemRow.id) == col(MatchRow.item_id))
    for condition in conditions:
        page = page.where(condition)
    ids = list(session.exec(page).all())
    if not ids:
        return []
    rows = session.exec(
        select(MatchRow, ItemRow, FeedRow, AlertRow)
        .join(ItemRow, col(ItemRow.id) == col(MatchRow.item_id))
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .outerjoin(AlertRow, col(AlertRow.match_id) == col(MatchRow.id))
        .where(col(MatchRow.id).in_(ids))
        .order_by(*newest_first)
    ).all()
    verdicts = _story_verdicts(session, [m.story_id for m, _, _, _ in rows if m.story_id])
    return [
        stored_match(match, item, feed, alert,
                     verdicts.get(match.story_id) if match.story_id else None)
        for match, item, feed, alert in rows
    ]


def stored_match(
    match: MatchRow, item: ItemRow, feed: FeedRow, alert: AlertRow | None,
    verdict: str | None = None,
) -> StoredMatch:
    """The record a match row (with its item, feed and alert rows) is shown as."""
    return StoredMatch(
        id=match.id or 0,
        claim_id=match.claim_id,
        score=match.score,
        alert=match.alert,
        evidence=match.evidence,
        created_at=match.created_at or datetime.min.replace(tzinfo=UTC),
        item_title=item.title,
        item_link=item.link,
        item_published=item.published,
        feed_url=feed.url,
        feed_name=feed.name or feed.title,
        alert_status=alert.status if alert is not None else None,
        slack_ts=alert.slack_ts if alert is not None else None,
        item_summary=item.summary,
        story_id=match.story_id,
        verdict=verdict,
    )


def _conditions(
    session: Session, query: MatchQuery, *, full_text: bool
) -> tuple[list[Any], bool]:
    """The filters, and whether they need the ``items`` row (feed, or unindexed search)."""
    conditions: list[Any] = []
    uses_items = False
    if query.claim_ids:
        conditions.append(col(MatchRow.claim_id).in_(query.claim_ids))
    if query.feeds:
        conditions.append(col(MatchRow.feed_id).in_(_feed_ids(session, query.feeds)))
    if query.since is not None:
        conditions.append(col(MatchRow.created_at) >= query.since)
    if query.until is not None:
        conditions.append(col(MatchRow.created_at) < query.until)
    if query.min_score is not None:
        conditions.append(col(MatchRow.score) >= query.min_score)
    if query.search:
        terms = parse_search(query.search)
        dialect = session.get_bind().dialect.name
        if full_text and dialect in ("sqlite", "postgresql"):
            conditions.append(_search_condition(session, dialect, terms))
        else:
            conditions.extend(
                substring_condition(col(ItemRow.title), col(ItemRow.summary), terms)
            )
            uses_items = True
    if query.status is not None:
        conditions.append(_status_condition(query.status))
    if query.after is not None:
        conditions.append(_after(session, query.after))
    return conditions, uses_items


def _feed_ids(session: Session, feeds: Sequence[str]) -> list[int]:
    """Feed ids for urls or names (names ignore case); an unknown one is an error."""
    ids: list[int] = []
    for wanted in feeds:
        folded = wanted.casefold()
        found = session.execute(
            sa_select(col(FeedRow.id)).where(
                or_(
                    col(FeedRow.url) == wanted,
                    func.lower(col(FeedRow.name)) == folded,
                    func.lower(col(FeedRow.title)) == folded,
                )
            )
        ).scalars().all()
        if not found:  # SQLite's lower() folds ASCII only: "Новости" needs Python's casefold
            found = [
                feed_id
                for feed_id, name, title in session.execute(
                    sa_select(col(FeedRow.id), col(FeedRow.name), col(FeedRow.title))
                ).all()
                if folded in ((name or "").casefold(), (title or "").casefold())
            ]
        if not found:
            raise StoreError(
                f"no stored feed has the url or name {wanted!r} (see `claimbot feeds status`)"
            )
        ids.extend(found)
    return ids


def _search_condition(session: Session, dialect: str, terms: Sequence[SearchTerm]) -> Any:
    """Search as a filter on matches, planned by how many matched items contain the terms.

    Few: their ids are read from the index and the matches looked up by item
    (cost grows with the hits, at most ``FEW_HITS``). Many: matches are walked
    newest first and each checked against the hits, which stops as soon as a
    page is full; ``item_id + 0`` keeps the planner off the item index, which
    would otherwise start from every hit (800 ms for "the" at a million items).
    """
    hits = matched_item_hits(dialect, terms)
    few = session.execute(sa_select(hits.subquery().c.id).limit(FEW_HITS + 1)).scalars().all()
    if len(few) <= FEW_HITS:
        return col(MatchRow.item_id).in_(few) if few else false()
    return (col(MatchRow.item_id) + 0).in_(hits)


def _status_condition(status: str) -> Any:
    if status == "alerted":
        return col(MatchRow.alert).is_(True)
    if status == "suggested":
        return col(MatchRow.alert).is_(False)
    verdict = _VERDICTS[status]
    later = aliased(FeedbackRow)
    latest_is = (
        sa_select(col(AlertRow.story_id))
        .join(FeedbackRow, col(FeedbackRow.alert_id) == col(AlertRow.id))
        .where(col(FeedbackRow.verdict) == verdict)
        .where(
            ~exists().where(
                and_(
                    col(later.alert_id) == col(FeedbackRow.alert_id),
                    col(later.id) > col(FeedbackRow.id),
                    col(later.verdict).in_(_JUDGEMENTS),
                )
            )
        )
    )
    return col(MatchRow.story_id).in_(latest_is)


def _after(session: Session, match_id: int) -> Any:
    """Keyset paging: rows that sort after the cursor match (older, or same time, lower id)."""
    created = session.exec(
        select(MatchRow.created_at).where(col(MatchRow.id) == match_id)
    ).first()
    if created is None:
        raise StoreError(f"no stored match has id {match_id}: --after takes a match id")
    return or_(
        col(MatchRow.created_at) < created,
        and_(col(MatchRow.created_at) == created, col(MatchRow.id) < match_id),
    )


def _story_verdicts(session: Session, story_ids: Sequence[int]) -> dict[int, str]:
    """The latest relevant/false-positive verdict on each story's alert."""
    if not story_ids:
        return {}
    rows = session.exec(
        select(AlertRow.story_id, FeedbackRow.verdict)
        .join(FeedbackRow, col(FeedbackRow.alert_id) == col(AlertRow.id))
        .where(col(AlertRow.story_id).in_(set(story_ids)))
        .where(col(FeedbackRow.verdict).in_(_JUDGEMENTS))
        .order_by(col(FeedbackRow.id))
    ).all()
    return {story_id: verdict for story_id, verdict in rows if story_id is not None}


# -- feed health ------------------------------------------------------------


def feed_health(
    session: Session, *, now: datetime, days: int, silent_after: timedelta
) -> list[FeedHealth]:
    """Every stored feed's last poll, failures and publishing rate over ``days``.

    A feed is *silent* when it has published before but nothing new for
    ``silent_after``: the failure a status code never shows (a feed that
    answers 200 with the same old items forever).
    """
    since = now - timedelta(days=days)
    # Per feed, through the (feed_id, first_seen_at) index: a few index probes each, where a
    # GROUP BY over items would read all of them (200 ms at a million items).
    recent = (
        sa_select(func.count())
        .where(col(ItemRow.feed_id) == col(FeedRow.id), col(ItemRow.first_seen_at) >= since)
        .scalar_subquery()
    )
    newest = (
        sa_select(func.max(ItemRow.first_seen_at))
        .where(col(ItemRow.feed_id) == col(FeedRow.id))
        .scalar_subquery()
    )
    # Plain columns, not FeedRow entities: building 2,000 ORM objects was most of the call.
    columns = [
        col(getattr(FeedRow, name)) for name in (
            "url", "name", "title", "last_polled_at", "last_success_at", "last_status",
            "last_http_status", "consecutive_failures", "last_error", "items_seen", "fetch_url",
        )
    ]
    rows = session.execute(
        sa_select(*columns, recent.label("recent"), newest.label("newest"))
        .order_by(col(FeedRow.id))
    ).all()
    health = []
    for feed in rows:
        recent_count, newest_seen = feed.recent, feed.newest
        last_item = _aware(newest_seen)
        silent = bool(
            last_item is not None
            and feed.last_success_at is not None
            and now - last_item >= silent_after
        )
        health.append(
            FeedHealth(
                url=feed.url,
                name=feed.name or feed.title,
                last_polled_at=feed.last_polled_at,
                last_success_at=feed.last_success_at,
                last_status=feed.last_status,
                last_http_status=feed.last_http_status,
                consecutive_failures=feed.consecutive_failures,
                last_error=feed.last_error,
                items_seen=feed.items_seen,
                items_per_day=int(recent_count or 0) / days,
                last_item_at=last_item,
                silent=silent,
                fetch_url=feed.fetch_url,
            )
        )
    return health


def _aware(value: datetime | str | None) -> datetime | None:
    """Aggregates bypass the UTC column type: make SQLite's naive values aware again."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- replaying a claim over stored items --------------------------------------


def stored_items(
    session: Session, *, since: datetime, after_id: int, limit: int
) -> list[StoredItem]:
    """Items first seen since ``since``, in id order from ``after_id``: one batch of a
    replay, read by key so a million items never sit in memory at once."""
    rows = session.exec(
        select(ItemRow, FeedRow)
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .where(col(ItemRow.first_seen_at) >= since, col(ItemRow.id) > after_id)
        .order_by(col(ItemRow.id))
        .limit(limit)
    ).all()
    return [
        StoredItem(
            id=row.id or 0,
            item=Item(
                identity=row.identity, title=row.title, summary=row.summary,
                content=row.content, link=row.link, published=row.published,
                published_estimated=row.published_estimated, author=row.author,
                language=row.language,
            ),
            feed=feed.name or feed.title or feed.url,
            first_seen_at=row.first_seen_at or datetime.min.replace(tzinfo=UTC),
        )
        for row, feed in rows
    ]


def claim_matches_since(
    session: Session, claim_id: str, *, since: datetime
) -> dict[int, StoredMatch]:
    """The claim's stored matches on items first seen since ``since``, by item id."""
    rows = session.exec(
        select(MatchRow, ItemRow, FeedRow, AlertRow)
        .join(ItemRow, col(ItemRow.id) == col(MatchRow.item_id))
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .outerjoin(AlertRow, col(AlertRow.match_id) == col(MatchRow.id))
        .where(col(MatchRow.claim_id) == claim_id, col(ItemRow.first_seen_at) >= since)
    ).all()
    return {
        item.id or 0: stored_match(match, item, feed, alert)
        for match, item, feed, alert in rows
    }


def top_outlets(
    session: Session, *, since: datetime | None, per_claim: int = 3
) -> dict[str, list[tuple[str, int]]]:
    """Each claim's outlets with the most matches since ``since``, busiest first."""
    statement = (
        sa_select(
            col(MatchRow.claim_id), col(FeedRow.name), col(FeedRow.title), col(FeedRow.url),
            func.count(),
        )
        .join(ItemRow, col(ItemRow.id) == col(MatchRow.item_id))
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .group_by(col(MatchRow.claim_id), col(FeedRow.id))
    )
    if since is not None:
        statement = statement.where(col(MatchRow.created_at) >= since)
    counts: dict[str, list[tuple[str, int]]] = {}
    for claim_id, name, title, url, count in session.execute(statement).all():
        counts.setdefault(claim_id, []).append((name or title or url, int(count)))
    return {
        claim_id: sorted(outlets, key=lambda o: (-o[1], o[0]))[:per_claim]
        for claim_id, outlets in counts.items()
    }
