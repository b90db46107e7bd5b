"""End to end in one process: real HTTP feeds, feedparser, SQLite file, slack-sdk → stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Settings, load_claims, load_feeds
from bot.matching.matcher import claim_text
from bot.matching.semantic import SemanticIndex
from bot.pipeline import Pipeline, Watchlist
from bot.store import Store
from bot.store.history import MatchQuery
from tests.support.builders import Entry, FakeClock, rss, write_claims, write_feeds
from tests.support.embedders import RandomEmbedder
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn

WIRE = [
    Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid"),
    Entry("w2", "Havana confirms 32 Cuban agents killed in US operation"),
    Entry("w3", "Football: Caracas club wins league title"),
]
SPANISH = [
    Entry("s1", "Las defensas antiaéreas Buk-M2 fallaron en Caracas", "Fuentes en Venezuela."),
    Entry("s2", "Rusia despliega S-300 en Siria"),  # a mention, not the claim
]


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        server.add("/wire.xml", rss("Wire", WIRE))
        server.add("/noticias.xml", rss("Noticias", SPANISH))
        yield server


class Harness:
    """A pipeline wired to real parts, rebuilt from scratch on :meth:`restart`."""

    def __init__(
        self, tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, database_url: str,
        *, parse_processes: int = 0,
    ) -> None:
        self.tmp_path = tmp_path
        self.slack = slack
        slack.add_channel("#cuba")
        self.clock = FakeClock()
        self.settings = Settings(
            database_url=database_url,
            claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(
                tmp_path, {"Wire": feeds.url("/wire.xml"), "Noticias": feeds.url("/noticias.xml")}
            ),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            slack_channel="#claims",
            parse_processes=parse_processes,
        )
        self.sink = SlackSink(
            SlackSender("xoxb-test", base_url=slack.base_url, max_retries=2, backoff=0.01)
        )
        self.store: Store | None = None
        self.restart()

    def restart(self) -> None:
        if self.store is not None:
            self.pipeline.close()
            self.store.close()
        self.store = Store(self.settings.database_url)
        claims = load_claims(self.settings.claims_file)
        self.pipeline = Pipeline(
            self.settings, self.store, Watchlist.build(claims.claims), clock=self.clock
        )

    @property
    def feeds(self) -> tuple:  # type: ignore[type-arg]
        return load_feeds(self.settings.feeds_file).enabled

    def poll_and_deliver(self):  # type: ignore[no-untyped-def]
        summary = self.pipeline.poll(self.feeds)
        return summary, self.pipeline.deliver(self.sink)

    def posted(self) -> list[tuple[str, str]]:
        """(channel, fallback text) of every message Slack accepted."""
        return [(m.channel, m.text or "") for m in self.slack.messages]

    def close(self) -> None:
        assert self.store is not None
        self.pipeline.close()
        self.store.close()


@pytest.fixture
def bot(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, database_url: str
) -> Iterator[Harness]:
    """The pipeline suite runs on both backends, like the store's."""
    harness = Harness(tmp_path, feeds, slack, database_url)
    yield harness
    harness.close()


def test_each_claim_item_pair_is_alerted_exactly_once(bot: Harness, feeds: FeedServer) -> None:
    summary, delivered = bot.poll_and_deliver()
    assert [f.status for f in summary.feeds] == ["ok", "ok"]
    assert summary.total("new_items") == 5
    assert delivered.sent == 3
    posted = bot.posted()
    assert sorted(channel for channel, _ in posted) == ["#claims", "#claims", "#cuba"]
    texts = " | ".join(text for _, text in posted)
    assert "S-300 batteries failed" in texts and "Buk-M2" in texts and "32 Cuban" in texts
    assert "Siria" not in texts and "Football" not in texts

    # Second pass: the server answers 304 and nothing new is posted.
    summary, delivered = bot.poll_and_deliver()
    assert [f.status for f in summary.feeds] == ["not-modified", "not-modified"]
    assert [r.status for r in feeds.requests[-2:]] == [304, 304]
    assert delivered.sent == 0 and len(bot.slack.messages) == 3


def test_a_parser_process_drafts_the_same_alerts_and_follows_a_new_watchlist(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, database_url: str
) -> None:
    """With CLAIMBOT_PARSE_PROCESSES the child parses and drafts: the same alerts reach
    Slack, and a watchlist replaced between passes (a config reload) is the one used."""
    bot = Harness(tmp_path, feeds, slack, database_url, parse_processes=1)
    try:
        summary, delivered = bot.poll_and_deliver()
        assert bot.pipeline.parsers is not None and bot.pipeline.parsers.pids
        assert summary.total("new_items") == 5 and delivered.sent == 3
        texts = " | ".join(text for _, text in bot.posted())
        assert "S-300 batteries failed" in texts and "Buk-M2" in texts and "32 Cuban" in texts
        assert "Siria" not in texts and "Football" not in texts

        claims = load_claims(bot.settings.claims_file).claims
        bot.pipeline.replace_watchlist(
            Watchlist.build([c for c in claims if c.id != "air-defence-failure"])
        )
        feeds.set("/wire.xml", rss("Wire", [
            *WIRE,
            Entry("w4", "Caracas: Buk-M2 air defences failed, officials admit"),
            Entry("w5", "Havana: Cuban agents killed in the raid were named"),
        ]))
        summary, delivered = bot.poll_and_deliver()
        assert summary.total("new_items") == 2
        new = [text for _, text in bot.posted()[3:]]
        assert delivered.sent == 1 and len(new) == 1  # air defences are no longer watched
        assert "Cuban agents killed in the raid" in new[0]
    finally:
        bot.close()


def test_with_embeddings_parser_processes_only_parse_and_match_as_the_bot_does(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn
) -> None:
    """A watchlist with an embedding model cannot be rebuilt in a parser process: there
    the child only parses, and matching in the bot's threads scores as without it."""
    found: dict[int, list[tuple[str, str, float]]] = {}
    for processes in (0, 1):
        folder = tmp_path / f"processes-{processes}"
        folder.mkdir()
        bot = Harness(folder, feeds, slack, f"sqlite:///{folder / 'bot.db'}",
                      parse_processes=processes)
        try:
            claims = load_claims(bot.settings.claims_file).claims
            semantic = SemanticIndex(
                [(c.id, claim_text(c.title, c.statement)) for c in claims], RandomEmbedder()
            )
            watchlist = Watchlist.build(claims, semantic=semantic)
            assert not watchlist.rebuildable
            bot.pipeline.replace_watchlist(watchlist)
            summary = bot.pipeline.poll(bot.feeds)
            assert summary.total("new_items") == 5
            assert bool(bot.pipeline.parsers and bot.pipeline.parsers.pids) == bool(processes)
            assert bot.store is not None
            found[processes] = sorted(
                (m.claim_id, m.item_title, m.score) for m in bot.store.find_matches(MatchQuery())
            )
        finally:
            bot.close()
    assert found[1] == found[0] and len(found[0]) >= 3


def test_restart_posts_nothing_twice_and_only_new_items_alert(
    bot: Harness, feeds: FeedServer
) -> None:
    bot.poll_and_deliver()
    assert len(bot.slack.messages) == 3
    bot.restart()
    feeds.set(
        "/wire.xml",
        rss("Wire", [*WIRE, Entry("w4", "Caracas: Buk-M2 air defences failed, officials admit")]),
    )
    summary, delivered = bot.poll_and_deliver()
    assert summary.total("new_items") == 1
    assert delivered.sent == 1
    assert len(bot.slack.messages) == 4
    bot.restart()
    bot.poll_and_deliver()
    assert len(bot.slack.messages) == 4


def test_rate_limited_then_ok_is_delivered_once(bot: Harness) -> None:
    bot.slack.fail_next(1, status=429, retry_after=1)
    _, delivered = bot.poll_and_deliver()
    assert delivered.sent == 3
    assert len(bot.slack.messages) == 3
    assert [c.http_status for c in bot.slack.calls][:2] == [429, 200]


def test_slack_outage_keeps_alerts_pending_until_it_is_back(bot: Harness) -> None:
    bot.slack.set_outage(True)
    summary, delivered = bot.poll_and_deliver()
    assert summary.total("new_alerts") == 3  # ingestion went on
    # One try per channel (#claims, #cuba), then each channel waits, in order.
    assert delivered.sent == 0 and delivered.retried == 2
    assert bot.store is not None and bot.store.alert_counts() == {"pending": 3}

    bot.clock.advance(seconds=1)
    assert bot.pipeline.deliver(bot.sink).sent == 0  # backing off: not due yet
    bot.slack.set_outage(False)
    bot.clock.advance(minutes=1)
    delivered = bot.pipeline.deliver(bot.sink)
    assert delivered.sent == 3
    assert len(bot.slack.messages) == 3
    assert bot.pipeline.deliver(bot.sink).sent == 0
    assert bot.store.alert_counts() == {"sent": 3}


def test_headline_mentions_reach_slack_escaped(bot: Harness, feeds: FeedServer) -> None:
    feeds.set(
        "/wire.xml",
        rss("Wire", [Entry("x", "<!channel> S-300 failed in Caracas <@U123> & more")]),
    )
    bot.poll_and_deliver()
    (message,) = [m for m in bot.slack.messages if "S-300" in (m.text or "")]
    assert "<!channel>" not in (message.text or "")
    assert "&lt;!channel&gt;" in (message.text or "")
    blob = repr(message.blocks)
    assert "<!channel>" not in blob and "<@U123>" not in blob
    assert "&lt;!channel&gt;" in blob and "&lt;@U123&gt;" in blob and "&amp; more" in blob


def test_broken_feed_is_reported_and_the_other_still_works(
    bot: Harness, feeds: FeedServer
) -> None:
    feeds.add("/noticias.xml", html=True)
    summary, delivered = bot.poll_and_deliver()
    by_name = {f.name: f for f in summary.feeds}
    assert by_name["Wire"].status == "ok" and by_name["Wire"].new_alerts == 2
    broken = by_name["Noticias"]
    assert broken.status == "error"
    assert broken.error is not None and feeds.url("/noticias.xml") in broken.error
    assert delivered.sent == 2
    assert bot.store is not None
    state = bot.store.feed_states()[feeds.url("/noticias.xml")]
    assert state.consecutive_failures == 1 and state.last_error == broken.error


def test_unreachable_feed_backs_off_and_recovers(bot: Harness, feeds: FeedServer) -> None:
    feeds.add("/noticias.xml", status=500)
    summary, _ = bot.poll_and_deliver()
    assert {f.name: f.status for f in summary.feeds} == {"Wire": "ok", "Noticias": "error"}
    assert bot.store is not None
    state = bot.store.feed_states()[feeds.url("/noticias.xml")]
    assert state.last_http_status == 500
    assert state.next_poll_at is not None and state.next_poll_at > bot.clock.now
    feeds.add("/noticias.xml", rss("Noticias", SPANISH))
    healthy = bot.store.feed_states()[feeds.url("/wire.xml")]
    assert healthy.next_poll_at is not None and healthy.next_poll_at < state.next_poll_at
    bot.clock.now = healthy.next_poll_at  # the healthy feed is due again (interval + jitter)
    summary = bot.pipeline.poll(bot.feeds, only_due=True)
    assert [f.name for f in summary.feeds] == ["Wire"]  # the failing one is backing off
    bot.clock.now = state.next_poll_at
    summary = bot.pipeline.poll(bot.feeds, only_due=True)
    recovered = {f.name: f for f in summary.feeds}["Noticias"]
    assert recovered.status == "ok" and recovered.new_alerts == 1


def test_permanent_slack_error_fails_that_alert_and_moves_on(bot: Harness) -> None:
    bot.slack.set_channel_error("#cuba", "channel_not_found")
    _, delivered = bot.poll_and_deliver()
    assert delivered.sent == 2 and delivered.failed == 1
    assert bot.store is not None and bot.store.alert_counts() == {"sent": 2, "failed": 1}
    failed = [m for m in bot.store.recent_matches() if m.alert_status == "failed"]
    assert failed[0].claim_id == "cuban-agents-killed"


def test_bad_token_pauses_delivery_without_losing_alerts(
    tmp_path: Path, bot: Harness, slack: SlackStandIn
) -> None:
    bad_sink = SlackSink(SlackSender("xoxb-revoked", base_url=slack.base_url, max_retries=0))
    bot.pipeline.poll(bot.feeds)
    delivered = bot.pipeline.deliver(bad_sink)
    assert delivered.sent == 0 and delivered.paused and "invalid_auth" in delivered.paused
    assert bot.store is not None and bot.store.alert_counts() == {"pending": 3}
    assert bot.pipeline.deliver(bot.sink).sent == 3


def test_an_item_the_database_refuses_fails_its_feed_only(bot: Harness) -> None:
    """A write refused for one feed's data is that feed's failure, with the reason; the
    other feeds are stored and alerted as usual, and the refused feed is retried later."""
    assert bot.store is not None
    with bot.store.engine.begin() as connection:  # a row this database will not take
        if bot.store.engine.dialect.name == "sqlite":
            connection.execute(text(
                "CREATE TRIGGER refuse_havana BEFORE INSERT ON items WHEN new.title LIKE"
                " '%Havana%' BEGIN SELECT RAISE(ABORT, 'value too long for this database'); END"
            ))
        else:
            connection.execute(text(
                "CREATE OR REPLACE FUNCTION refuse_havana() RETURNS trigger AS $$ BEGIN"
                " IF NEW.title LIKE '%Havana%' THEN"
                " RAISE EXCEPTION 'value too long for this database'; END IF;"
                " RETURN NEW; END $$ LANGUAGE plpgsql"
            ))
            connection.execute(text(
                "CREATE TRIGGER refuse_havana BEFORE INSERT ON items FOR EACH ROW"
                " EXECUTE FUNCTION refuse_havana()"
            ))
    summary, delivered = bot.poll_and_deliver()
    outcomes = {o.name: o for o in summary.feeds}
    assert outcomes["Wire"].status == "error"
    assert "could not store its items" in (outcomes["Wire"].error or "")
    assert "value too long" in (outcomes["Wire"].error or "")
    assert outcomes["Noticias"].status == "ok" and delivered.sent == 1  # the Buk-M2 alert
    state = bot.store.feed_states()[bot.feeds[0].url]
    assert state.consecutive_failures == 1 and state.next_poll_at is not None
