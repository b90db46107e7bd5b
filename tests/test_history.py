"""Asking the stored history: match filters, full-text search, paging, feed health.

Run on a real SQLite file (FTS5) and, where the machine has it, PostgreSQL
(its own full-text search), through the same store methods the CLI calls.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.errors import StoreError
from bot.items import Item
from bot.store import AlertDraft, ItemDraft, MatchDraft, PollFailure, PollSuccess, Store
from bot.store.history import MatchQuery
from bot.store.search import SearchSyntaxError, SearchTerm, fts5_query, parse_search, pg_tsquery
from tests.conftest import POSTGRES_URL, postgres_reason
from tests.support.alembic_run import migrate

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WIRE = "https://wire.example/rss"
DESK = "https://desk.example/atom"


def item(identity: str, title: str, summary: str = "") -> Item:
    return Item(identity=identity, title=title, summary=summary, published=NOW)


def matched(entry: Item, claim: str, score: float = 0.8, *, alert: bool = True) -> ItemDraft:
    outbox = AlertDraft("#claims", f"alert {entry.identity}", [], "plain") if alert else None
    return ItemDraft(
        entry,
        (MatchDraft(claim, score, alert, {"terms": ["s-300"], "sentence": entry.title}, outbox),),
    )


def poll(store: Store, url: str, at: datetime, *drafts: ItemDraft, name: str | None = None) -> None:
    if name is not None:
        store.sync_feeds([(url, name)])
    store.record_poll(
        PollSuccess(url=url, polled_at=at, next_poll_at=at + timedelta(minutes=5),
                    http_status=200, status="ok", items=drafts)
    )


@pytest.fixture
def history(store: Store) -> Store:
    """Six matches over five days from two feeds, two claims, one suggestion."""
    poll(store, WIRE, NOW - timedelta(days=4),
         matched(item("w1", "Venezuela says S-300 batteries failed", "Air defence collapse"),
                 "air-defence"), name="World Wire")
    poll(store, DESK, NOW - timedelta(days=3),
         matched(item("d1", "Cuban agents killed in Caracas raid"), "cuban-agents", 0.9),
         name="Eurasia Desk")
    poll(store, WIRE, NOW - timedelta(days=2),
         matched(item("w2", "Kremlin silent on Venezuelan air defences",
                      "Moscow's S-300 systems never fired"), "air-defence", 0.6),
         matched(item("w3", "Iran weighs Russian fighter jets"), "air-defence", 0.4,
                 alert=False))
    poll(store, DESK, NOW - timedelta(days=1),
         matched(item("d2", "Analysts: Russia's air defence exports in doubt"), "air-defence",
                 0.7))
    poll(store, DESK, NOW,
         matched(item("d3", "Havana mourns agents; 100% of the unit lost"), "cuban-agents"))
    return store


def titles(found: list) -> list[str]:  # type: ignore[type-arg]
    return [m.item_title for m in found]


def test_newest_first_with_every_field_a_row_needs(history: Store) -> None:
    found = history.find_matches(MatchQuery(limit=10))
    assert [m.created_at for m in found] == sorted((m.created_at for m in found), reverse=True)
    assert found[0].item_title.startswith("Havana mourns")
    assert found[0].feed_name == "Eurasia Desk" and found[0].feed_url == DESK
    assert found[-1].item_summary == "Air defence collapse"


def test_filters_by_claim_feed_and_time(history: Store) -> None:
    by_claim = history.find_matches(MatchQuery(claim_ids=("cuban-agents",)))
    assert {m.claim_id for m in by_claim} == {"cuban-agents"} and len(by_claim) == 2
    by_feed = history.find_matches(MatchQuery(feeds=("world wire",)))  # names ignore case
    assert {m.feed_url for m in by_feed} == {WIRE} and len(by_feed) == 3
    assert len(history.find_matches(MatchQuery(feeds=(DESK,)))) == 3
    history.sync_feeds([(DESK, "Новости Desk")])  # names fold beyond ASCII too
    assert len(history.find_matches(MatchQuery(feeds=("новости desk",)))) == 3
    window = history.find_matches(
        MatchQuery(since=NOW - timedelta(days=3), until=NOW - timedelta(days=1))
    )
    assert sorted(titles(window)) == sorted([
        "Cuban agents killed in Caracas raid",
        "Kremlin silent on Venezuelan air defences",
        "Iran weighs Russian fighter jets",
    ])  # until is exclusive: the item stored exactly at NOW - 1 day is not in


def test_unknown_feed_is_an_error_that_says_where_to_look(history: Store) -> None:
    with pytest.raises(StoreError, match="feeds status"):
        history.find_matches(MatchQuery(feeds=("No Such Feed",)))


def test_min_score_and_status(history: Store) -> None:
    assert {m.score for m in history.find_matches(MatchQuery(min_score=0.75))} == {0.8, 0.9}
    suggested = history.find_matches(MatchQuery(status="suggested"))
    assert titles(suggested) == ["Iran weighs Russian fighter jets"]
    assert len(history.find_matches(MatchQuery(status="alerted"))) == 5
    with pytest.raises(StoreError, match="unknown status"):
        MatchQuery(status="maybe")


def test_full_text_search_words_phrases_prefixes_and_accents(history: Store) -> None:
    assert titles(history.find_matches(MatchQuery(search="havana"))) == [
        "Havana mourns agents; 100% of the unit lost"
    ]
    # In title or summary; every word must be there.
    both = history.find_matches(MatchQuery(search="s-300"))
    assert sorted(titles(both)) == [
        "Kremlin silent on Venezuelan air defences", "Venezuela says S-300 batteries failed"
    ]
    assert titles(history.find_matches(MatchQuery(search="s-300 kremlin"))) == [
        "Kremlin silent on Venezuelan air defences"
    ]
    prefix = history.find_matches(MatchQuery(search="venezuel*"))
    assert len(prefix) == 2
    phrase = history.find_matches(MatchQuery(search='"air defence exports"'))
    assert titles(phrase) == ["Analysts: Russia's air defence exports in doubt"]
    assert history.find_matches(MatchQuery(search='"defence air"')) == []
    # Query syntax the user did not mean is just words, never a database error.
    assert history.find_matches(MatchQuery(search='NEAR( "unbalanced')) == []
    assert titles(history.find_matches(MatchQuery(search="100%"))) == [
        "Havana mourns agents; 100% of the unit lost"
    ]


def test_search_with_no_word_is_refused(history: Store) -> None:
    with pytest.raises(SearchSyntaxError, match="at least one word"):
        history.find_matches(MatchQuery(search="-- !!"))


def test_paging_by_cursor_walks_everything_once_even_as_new_matches_arrive(
    history: Store,
) -> None:
    first = history.find_matches(MatchQuery(limit=2))
    poll(history, WIRE, NOW + timedelta(hours=1),
         matched(item("w9", "A newer S-300 report"), "air-defence"))
    seen = [m.id for m in first]
    cursor = first[-1].id
    while True:
        page = history.find_matches(MatchQuery(limit=2, after=cursor))
        if not page:
            break
        seen.extend(m.id for m in page)
        cursor = page[-1].id
    assert len(seen) == len(set(seen)) == 6  # the new one is on page one now, not repeated
    with pytest.raises(StoreError, match="--after takes a match id"):
        history.find_matches(MatchQuery(after=99_999))


def test_verdict_filters_follow_the_latest_feedback(history: Store) -> None:
    alert = next(a for a in history.alerts(limit=50) if "S-300 batteries" in a.title)
    history.record_feedback(alert.id, verdict="false_positive", user_id="U1", user_name="ana",
                            now=NOW)
    flagged = history.find_matches(MatchQuery(status="false-positive"))
    assert titles(flagged) == ["Venezuela says S-300 batteries failed"]
    assert flagged[0].verdict == "false_positive"
    history.record_feedback(alert.id, verdict="relevant", user_id="U2", user_name="ben",
                            now=NOW + timedelta(minutes=1))
    assert history.find_matches(MatchQuery(status="false-positive")) == []
    assert titles(history.find_matches(MatchQuery(status="relevant"))) == [
        "Venezuela says S-300 batteries failed"
    ]


def test_feed_health_rates_failures_and_silence(store: Store) -> None:
    old = NOW - timedelta(days=10)
    poll(store, WIRE, old, matched(item("w1", "old news"), "c"), name="World Wire")
    poll(store, WIRE, NOW - timedelta(hours=1))  # answers, but nothing new for 10 days
    for day in reversed(range(4)):  # oldest first, as polls happen
        poll(store, DESK, NOW - timedelta(days=day),
             ItemDraft(item(f"d{day}a", "a"), ()), ItemDraft(item(f"d{day}b", "b"), ()),
             name="Eurasia Desk")
    broken = "https://broken.example/feed"
    for _ in range(3):
        store.record_failure(PollFailure(url=broken, polled_at=NOW, next_poll_at=NOW,
                                         error="HTTP 503", http_status=503))
    health = {h.url: h for h in store.feed_health(now=NOW, days=7,
                                                  silent_after=timedelta(days=3))}
    wire, desk, bad = health[WIRE], health[DESK], health[broken]
    assert wire.silent and wire.items_per_day == 0 and wire.last_item_at == old
    assert not desk.silent and desk.items_per_day == pytest.approx(8 / 7)
    assert desk.last_success_at == NOW and desk.last_http_status == 200
    assert bad.consecutive_failures == 3 and bad.last_http_status == 503
    assert bad.last_success_at is None and not bad.silent


# -- the search parser (pure) ----------------------------------------------------


def test_search_terms_become_safe_backend_queries() -> None:
    terms = parse_search('S-300 "air  defence" venezuel* NEAR')
    assert terms == (
        SearchTerm(("s", "300")), SearchTerm(("air", "defence")),
        SearchTerm(("venezuel",), prefix=True), SearchTerm(("near",)),
    )
    assert fts5_query(terms) == '"s 300" AND "air defence" AND "venezuel"* AND "near"'
    assert pg_tsquery(terms) == "(s <-> 300) & (air <-> defence) & (venezuel:*) & (near)"
    cyrillic = parse_search("Росси* Мадуро")
    assert cyrillic == (SearchTerm(("росси",), prefix=True), SearchTerm(("мадуро",)))
    assert pg_tsquery(cyrillic) == (
        "((росси:* | Росси:* | РОССИ:*)) & ((мадуро | Мадуро | МАДУРО))"
    )


def test_search_gives_the_same_answers_when_hits_are_many(
    history: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past FEW_HITS hits the plan walks matches newest first instead: same rows, same order."""
    searches = ["s-300", "venezuel*", "air", '"air defence"', "havana", "zzz"]
    few = {q: [m.id for m in history.find_matches(MatchQuery(search=q))] for q in searches}
    monkeypatch.setattr("bot.store.history.FEW_HITS", 1)
    many = {q: [m.id for m in history.find_matches(MatchQuery(search=q))] for q in searches}
    assert many == few
    assert len(few["air"]) == 3 and few["zzz"] == []


def test_an_index_added_to_an_existing_database_covers_what_it_holds(store: Store) -> None:
    poll(store, WIRE, NOW, matched(item("w1", "Kremlin denies S-300 failures"), "c"),
         ItemDraft(item("w2", "Kremlin weather report"), ()))
    with store.engine.begin() as connection:  # as a database from before the index was
        if store.engine.dialect.name == "sqlite":
            connection.execute(text("DROP TABLE matched_text"))
        else:
            connection.execute(text("ALTER TABLE items DROP COLUMN search_document"))
    reopened = Store(store.url)
    try:
        assert titles(reopened.find_matches(MatchQuery(search="kremlin"))) == [
            "Kremlin denies S-300 failures"
        ]
        # And later matches are indexed as they are stored.
        poll(reopened, WIRE, NOW, matched(item("w3", "Kremlin again"), "c"))
        assert len(reopened.find_matches(MatchQuery(search="kremlin"))) == 2
    finally:
        reopened.close()


def test_without_a_full_text_index_search_falls_back_to_substrings(
    history: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches = ["havana", "s-300 kremlin", "venezuel*", '"air defence exports"']
    indexed = {q: titles(history.find_matches(MatchQuery(search=q))) for q in searches}
    monkeypatch.setattr(history, "full_text", False)  # as an SQLite built without FTS5
    assert {q: titles(history.find_matches(MatchQuery(search=q))) for q in searches} == indexed


def test_a_database_from_before_matches_knew_their_feed_gets_it_filled(store: Store) -> None:
    # A suggestion (no alert row refers to it), so SQLite lets the table be copied back.
    poll(store, WIRE, NOW, matched(item("w1", "Kremlin denies S-300 failures"), "c", alert=False),
         name="World Wire")
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as connection:  # the triggers on items name matches, which
            for trigger in ("matched_text_update", "matched_text_delete"):  # is copied below
                connection.execute(text(f"DROP TRIGGER {trigger}"))
    migrate(store.engine, "downgrade", "0001")  # the schema as the release before it had it
    with store.engine.connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("matches")}
        assert "feed_id" not in columns
    reopened = Store(store.url)
    try:
        assert titles(reopened.find_matches(MatchQuery(feeds=("World Wire",)))) == [
            "Kremlin denies S-300 failures"
        ]
    finally:
        reopened.close()


def test_an_item_with_a_megabyte_of_text_is_stored_and_searchable(store: Store) -> None:
    """PostgreSQL's tsvector holds at most 1 MB: the indexed text is capped, never the item."""
    summary = " ".join(f"word{n}" for n in range(200_000))  # ~1.4 MB of distinct words
    poll(store, WIRE, NOW, matched(item("big", "Kremlin report, in full", summary), "c"))
    (found,) = store.find_matches(MatchQuery(search="word17 kremlin"))
    assert len(found.item_summary) == len(summary)


def test_opening_a_store_takes_no_write_lock(store: Store) -> None:
    """A CLI query next to a running poll: opening the store must not wait for the poll's
    transaction (schema checks read the catalog; DDL runs only for what is missing)."""
    poll(store, WIRE, NOW, matched(item("w1", "first"), "c"), name="World Wire")
    with store.engine.connect() as writer:
        transaction = writer.begin()  # a poll's transaction, open and holding its locks
        writer.execute(text(
            "INSERT INTO items (feed_id, identity, title, summary, content, published_estimated,"
            " first_seen_at) SELECT id, 'w2', 'second', '', '', false, :now FROM feeds"
        ), {"now": NOW.replace(tzinfo=None)})
        opened: list[Store] = []
        opener = threading.Thread(target=lambda: opened.append(Store(store.url)), daemon=True)
        opener.start()
        opener.join(timeout=5)
        opened_while_busy = bool(opened)
        transaction.rollback()
    opener.join(timeout=60)
    for extra in opened:
        extra.close()
    assert opened_while_busy, "opening the store waited for another transaction"


def test_postgres_search_keeps_non_ascii_words_in_a_c_locale_database() -> None:
    """In a database with LC_CTYPE=C, PostgreSQL's regex classes see every non-ASCII letter
    as punctuation: the document must only split on ASCII punctuation."""
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    # A database of its own, on its default schema (not this test worker's search path).
    url = make_url(POSTGRES_URL).difference_update_query(["options"])
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "claimbot_test_c_locale"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
                                " LC_COLLATE 'C' LC_CTYPE 'C'"))
    store = Store(url.set(database=name).render_as_string(hide_password=False))
    try:
        poll(store, WIRE, NOW, matched(item("r1", "Россия и Венесуэла: С-300 не сработали"), "c"),
             matched(item("e1", "Rodríguez visita Bogotá"), "c"))
        assert len(store.find_matches(MatchQuery(search="россия"))) == 1
        assert len(store.find_matches(MatchQuery(search="Росси*"))) == 1
        assert len(store.find_matches(MatchQuery(search="bogotá rodríguez"))) == 1
    finally:
        store.close()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
