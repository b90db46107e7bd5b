"""Stories, feedback, mutes, digests and the outbox's in-flight state, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.errors import StoreError
from bot.items import Item
from bot.matching.stories import body_fingerprint, fingerprint
from bot.store import AlertDraft, ItemDraft, MatchDraft, MessageDraft, PollSuccess, Store

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STORY = ("Russian S-300 air defences failed to stop strikes on Caracas",
         "Officers say the batteries never engaged the aircraft.")
OTHER = ("Buk-M2 launchers failed inspection at a Venezuelan base",
         "An audit found most launchers had failed maintenance checks.")


def alert_draft(title: str, summary: str, **policy: object) -> AlertDraft:
    return AlertDraft(
        "#claims", f"alert: {title}", [{"type": "section"}], f"plain {title}",
        reply=MessageDraft(f"reply: {title}", [], f"reply plain {title}"),
        fingerprint=fingerprint(title, summary), body_fingerprint=body_fingerprint(summary),
        story_title=title,
        **policy,  # type: ignore[arg-type]
    )


def poll(url: str, *items: tuple[str, str, str], at: datetime = NOW,
         claim: str = "c1", **policy: object) -> PollSuccess:
    drafts = tuple(
        ItemDraft(
            Item(identity=identity, title=title, summary=summary, published=at),
            (MatchDraft(claim, 0.8, True, {}, alert_draft(title, summary, **policy)),),
        )
        for identity, title, summary in items
    )
    return PollSuccess(url=url, polled_at=at, next_poll_at=at, http_status=200, status="ok",
                       items=drafts)


def test_copies_join_the_first_items_story(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    outcome = store.record_poll(poll("https://b.example/rss", ("b1", STORY[0] + " - B", STORY[1]),
                                     ("b2", *OTHER)))
    assert outcome.new_alerts == 2  # the copy's reply, and the other story's alert
    kinds = [(a.kind, a.status) for a in reversed(store.alerts())]
    assert kinds == [("alert", "pending"), ("reply", "pending"), ("update", "pending"),
                     ("alert", "pending")]
    stories = {s.title: s for s in store.stories()}
    assert stories[STORY[0]].copies == 2
    assert stories[STORY[0]].outlets == ("a.example", "b.example")
    assert stories[OTHER[0]].copies == 1


def test_two_copies_in_one_poll_make_one_alert_and_a_reply(store: Store) -> None:
    """A feed that carries a story twice: the second copy finds the alert the first
    one queued in the same transaction, and replies in its thread."""
    outcome = store.record_poll(poll("https://a.example/rss", ("a1", *STORY),
                                     ("a2", STORY[0] + " (update)", STORY[1])))
    assert outcome.new_alerts == 2
    kinds = [(a.kind, a.status) for a in reversed(store.alerts())]
    assert kinds == [("alert", "pending"), ("reply", "pending"), ("update", "pending")]
    (story,) = store.stories()
    assert story.copies == 2


def test_due_rows_carry_parent_outlets_and_feedback(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY)))
    alert, reply, update = store.due_alerts(NOW)
    assert alert.outlets == ("b.example",) and alert.parent is None
    assert reply.parent is not None and reply.parent.id == alert.id
    assert reply.parent.status == "pending" and reply.text == f"reply: {STORY[0]}"
    store.mark_in_flight(alert.id, now=NOW)
    store.mark_sent(alert.id, slack_channel="C1", slack_ts="1.1", now=NOW)
    store.record_feedback(alert.id, verdict="relevant", user_id="U1", user_name="ana", now=NOW)
    reply, update, feedback_update = store.due_alerts(NOW)
    assert reply.parent is not None and reply.parent.slack_ts == "1.1"
    for row in (update, feedback_update):  # each reads the alert's state when it is sent
        assert row.feedback is not None and row.feedback.verdict == "relevant"
        assert row.outlets == ("b.example",)


def test_sending_an_update_settles_the_older_ones_only(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    (alert,) = store.due_alerts(NOW)
    store.mark_sent(alert.id, slack_channel="C1", slack_ts="1.1", now=NOW)
    store.record_feedback(alert.id, verdict="relevant", user_id="U1", user_name=None, now=NOW)
    store.record_feedback(alert.id, verdict="false_positive", user_id="U2", user_name=None,
                          now=NOW)
    older, newer = store.due_alerts(NOW)
    assert newer.feedback is not None and newer.feedback.verdict == "false_positive"
    store.mark_sent(older.id, slack_channel="C1", slack_ts="1.1", now=NOW)
    # The newer one may hold state the older was composed without: it stays.
    assert [a.id for a in store.due_alerts(NOW)] == [newer.id]
    store.record_feedback(alert.id, verdict="relevant", user_id="U3", user_name=None, now=NOW)
    newest = store.due_alerts(NOW)[-1]
    store.mark_sent(newest.id, slack_channel="C1", slack_ts="1.1", now=NOW)
    assert store.due_alerts(NOW) == []  # sending the newest settles every older one


def test_a_copy_with_a_rewritten_headline_joins_by_its_body(store: Store) -> None:
    body = ("Officers in Caracas told reporters the S-300 and Buk-M2 batteries bought from Moscow "
            "did little to stop US aircraft on the night Nicolas Maduro was seized.")
    store.record_poll(poll("https://a.example/rss", (
        "a1", "Venezuelan officials say Russian-built air defences failed during US raid", body)))
    store.record_poll(poll("https://b.example/rss", (
        "b1", "Russian-made air defences failed to protect Venezuela, Caracas officials say",
        body + " (via World Wire)")))
    (story,) = store.stories()
    assert story.copies == 2


def test_a_story_window_is_counted_from_its_first_item(store: Store) -> None:
    window = timedelta(hours=24)
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), story_window=window))
    later = NOW + timedelta(hours=25)
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY), at=later,
                           story_window=window))
    assert sorted(s.copies for s in store.stories()) == [1, 1]


def test_stories_are_per_claim(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), claim="c1"))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY), claim="c2"))
    assert [a.kind for a in store.alerts()] == ["alert", "alert"]


def test_muted_and_digest_claims_queue_nothing_to_post(store: Store) -> None:
    store.mute_claim("c1", until=NOW + timedelta(hours=1), by="ana", now=NOW)
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY)))  # a copy: no reply
    store.record_poll(poll("https://a.example/rss", ("a2", *OTHER), claim="c2", mode="digest"))
    assert {(a.claim_id, a.kind, a.status) for a in store.alerts()} == {
        ("c1", "alert", "muted"), ("c2", "alert", "digest")
    }
    assert store.due_alerts(NOW) == []
    assert store.unmute_claim("c1") and not store.unmute_claim("c1")


def test_a_digest_takes_its_stories_once(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), ("a2", *OTHER),
                           mode="digest"))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY), mode="digest"))
    assert store.digest_claims() == {"c1"}
    entries = store.digest_entries("c1", before=NOW + timedelta(minutes=1))
    assert [(e.title, e.copies) for e in entries] == [(STORY[0], 2), (OTHER[0], 1)]
    message = MessageDraft("digest", [], "digest plain")
    ids = [e.alert_id for e in entries]
    digest_id = store.create_digest("c1", channel="#claims", message=message, member_ids=ids,
                                    now=NOW)
    assert digest_id is not None
    assert store.create_digest("c1", channel="#claims", message=message, member_ids=ids,
                               now=NOW) is None
    assert [a.kind for a in store.due_alerts(NOW)] == ["digest"]
    assert store.digest_claims() == set()


def test_in_flight_survives_a_restart_until_settled(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    (alert,) = store.due_alerts(NOW)
    store.mark_in_flight(alert.id, now=NOW)
    again = Store(store.url)
    try:
        (row,) = again.due_alerts(NOW)
        assert row.in_flight and row.attempted_at == NOW
        again.mark_retry(row.id, error="slack timeout", next_attempt_at=NOW, unsure=True)
        (row,) = again.due_alerts(NOW)
        assert row.in_flight and row.attempts == 1
        again.mark_retry(row.id, error="slack ratelimited", next_attempt_at=NOW, unsure=False)
        (row,) = again.due_alerts(NOW)
        assert not row.in_flight
    finally:
        again.close()


def test_retry_brings_back_failed_alerts_with_their_replies(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY)))
    for row in store.due_alerts(NOW):
        store.mark_failed(row.id, error="slack not_in_channel")
    alert = min(a.id for a in store.alerts(statuses=["failed"]))
    assert len(store.retry_alerts([alert], now=NOW)) == 3
    assert store.alert_counts() == {"pending": 3}
    assert store.retry_alerts(None, now=NOW) == []


def test_feedback_on_an_unknown_alert_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="alert 999 is not in the outbox"):
        store.record_feedback(999, verdict="relevant", user_id="U1", user_name=None, now=NOW)


def test_stats_count_alerts_stories_and_the_latest_verdict(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), ("a2", *OTHER)))
    store.record_poll(poll("https://b.example/rss", ("b1", *STORY)))
    alerts = [a for a in store.alerts() if a.kind == "alert"]
    for alert in alerts:
        store.mark_sent(alert.id, slack_channel="C1", slack_ts=f"1.{alert.id}", now=NOW)
    first, second = sorted(a.id for a in alerts)
    store.record_feedback(first, verdict="false_positive", user_id="U1", user_name=None, now=NOW)
    store.record_feedback(first, verdict="relevant", user_id="U2", user_name=None, now=NOW)
    store.record_feedback(second, verdict="false_positive", user_id="U1", user_name=None,
                          now=NOW)
    (stats,) = store.claim_stats()
    assert (stats.matches, stats.alerts, stats.stories) == (3, 3, 2)
    assert (stats.relevant, stats.false_positive, stats.precision) == (1, 1, 0.5)
    assert stats.first_seen == NOW and stats.last_seen == NOW
    assert store.matches_per_day(since=NOW - timedelta(days=1)) == {"c1": {NOW.date(): 3}}


def test_search_matches_title_and_summary_case_blind(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), ("a2", *OTHER)))
    assert [m.item_title for m in store.search_matches("caracas")] == [STORY[0]]
    assert [m.item_title for m in store.search_matches("MAINTENANCE")] == [OTHER[0]]
    assert store.search_matches("100%_") == []


def test_a_database_from_an_older_claimbot_is_refused_with_advice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("create table alerts (id integer primary key, claim_id text)"))
    engine.dispose()
    with pytest.raises(StoreError, match="older claimbot .* move it aside"):
        Store(url)


def test_due_rows_are_limited_per_channel(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), ("a2", *OTHER),
                           ("a3", "Third story about S-300 batteries in Caracas",
                            "A different report on a different day entirely.")))
    quiet = alert_draft("Quiet channel story", "Nothing in common with the others at all.")
    quiet = AlertDraft("#quiet", quiet.text, quiet.blocks, quiet.plain,
                       fingerprint=quiet.fingerprint)
    store.record_poll(PollSuccess(
        url="https://q.example/rss", polled_at=NOW, next_poll_at=NOW, http_status=200,
        status="ok", items=(ItemDraft(Item(identity="q1", title="Quiet"),
                                      (MatchDraft("c9", 0.8, True, {}, quiet),)),),
    ))
    due = store.due_alerts(NOW, limit=2)
    assert [a.channel for a in due] == ["#claims", "#claims", "#quiet"]


def test_a_copy_after_a_mute_ends_alerts_instead_of_staying_silent(store: Store) -> None:
    store.mute_claim("c1", until=NOW + timedelta(hours=1), by="ana", now=NOW)
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    later = NOW + timedelta(hours=5)
    outcome = store.record_poll(poll("https://b.example/rss", ("b1", *STORY), at=later))
    assert outcome.new_alerts == 1
    assert [(a.kind, a.status) for a in reversed(store.alerts())] == [
        ("alert", "muted"), ("alert", "pending")
    ]
    store.record_poll(poll("https://c.example/rss", ("c1", *STORY), at=later))
    assert [a.kind for a in reversed(store.alerts())][-2:] == ["reply", "update"]


def test_retry_follows_the_claims_channel_now(store: Store) -> None:
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY)))
    (alert,) = store.due_alerts(NOW)
    store.mark_failed(alert.id, error="slack channel_not_found")
    store.retry_alerts([alert.id], now=NOW, channels={"c1": "#new-home"})
    (again,) = store.due_alerts(NOW)
    assert again.channel == "#new-home"


def test_a_story_stored_after_its_periods_digest_waits_for_the_next(store: Store) -> None:
    boundary = NOW.replace(minute=0) + timedelta(hours=1)
    store.record_poll(poll("https://a.example/rss", ("a1", *STORY), mode="digest"))
    first = store.digest_entries("c1", before=boundary)
    message = MessageDraft("digest", [], "digest plain")
    assert store.create_digest("c1", channel="#claims", message=message, now=boundary,
                               member_ids=[e.alert_id for e in first], period=boundary)
    # A poll that fetched before the boundary commits after the digest went out.
    store.record_poll(poll("https://b.example/rss", ("b1", *OTHER), mode="digest"))
    late = store.digest_entries("c1", before=boundary)
    assert [e.title for e in late] == [OTHER[0]]
    assert store.create_digest("c1", channel="#claims", message=message, now=boundary,
                               member_ids=[e.alert_id for e in late], period=boundary) is None
    nxt = boundary + timedelta(hours=1)
    assert store.create_digest("c1", channel="#claims", message=message, now=nxt,
                               member_ids=[e.alert_id for e in late], period=nxt)
