"""Politeness end to end: the real pipeline, a real local feed server, a real SQLite file.

What the server says (max-age, Retry-After, 301, 410) and what the feed says
(<ttl>, how often it publishes) decide when the bot comes back, and where from.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime, formatdate
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Feed, Settings, load_claims
from bot.pipeline import Pipeline, PollSummary, Watchlist
from bot.store import FeedState, Store
from tests.support.builders import FakeClock, write_claims, write_feeds
from tests.support.feed_server import FeedServer


def dated_rss(dates: list[datetime], *, ttl: int | None = None, tag: str = "x") -> bytes:
    """An RSS 2.0 feed with one item per date (newest first), and a <ttl> if given."""
    items = "".join(
        f"<item><guid>{tag}-{n}</guid><title>Story {tag} {n}</title>"
        f"<link>https://news.example/{tag}/{n}</link>"
        f"<pubDate>{format_datetime(d, usegmt=True)}</pubDate></item>"
        for n, d in enumerate(dates)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.example/</link><description>d</description>{ttl_tag}{items}"
        "</channel></rss>"
    ).encode()


class Bot:
    """A pipeline on real parts with a pinned clock and a seeded jitter source."""

    def __init__(self, tmp_path: Path, server: FeedServer, **settings: object) -> None:
        self.server = server
        self.clock = FakeClock()
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'claimbot.db'}",
            claims_file=write_claims(tmp_path),
            feeds_file=tmp_path / "feeds.yaml",
            **settings,  # type: ignore[arg-type]
        )
        self.store = Store(self.settings.database_url)
        claims = load_claims(self.settings.claims_file).claims
        self.pipeline = Pipeline(
            self.settings, self.store, Watchlist.build(claims), clock=self.clock,
            draw=random.Random(42).random,
        )

    def feed(self, path: str, **kwargs: object) -> Feed:
        return Feed(url=self.server.url(path), name=path.strip("/"), **kwargs)  # type: ignore[arg-type]

    def poll(self, *feeds: Feed, only_due: bool = False) -> PollSummary:
        return self.pipeline.poll(feeds, only_due=only_due)

    def state(self, feed: Feed) -> FeedState:
        return self.store.feed_states()[feed.url]

    def wait(self, feed: Feed) -> float:
        """Seconds from now to the feed's next poll."""
        state = self.state(feed)
        assert state.next_poll_at is not None
        return (state.next_poll_at - self.clock.now).total_seconds()

    def hits(self, path: str) -> int:
        return sum(1 for r in self.server.requests if r.path == path)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def bot(tmp_path: Path, server: FeedServer) -> Iterator[Bot]:
    running = Bot(tmp_path, server, poll_jitter=0.0)
    yield running
    running.store.close()


def minutes_ago(clock: FakeClock, *minutes: float) -> list[datetime]:
    return [clock.now - timedelta(minutes=m) for m in minutes]


# -- adaptive intervals and jitter ---------------------------------------------------


def test_busy_feeds_are_polled_more_often_than_quiet_ones(bot: Bot, server: FeedServer) -> None:
    server.add("/busy", dated_rss(minutes_ago(bot.clock, *range(0, 40, 2)), tag="b"))
    server.add("/daily", dated_rss(minutes_ago(bot.clock, *range(0, 20 * 1440, 1440)), tag="d"))
    server.add("/undated", dated_rss([], tag="u"))
    busy, daily, undated = bot.feed("/busy"), bot.feed("/daily"), bot.feed("/undated")
    assert [o.status for o in bot.poll(busy, daily, undated).feeds] == ["ok"] * 3
    assert bot.wait(busy) == 60  # every 2 min: at the 1-minute floor
    assert bot.wait(daily) == 3600  # once a day: at the 1-hour ceiling
    assert bot.wait(undated) == 300  # nothing to go by: the default
    # The pace is kept: a 304 next time still schedules by it.
    bot.clock.advance(minutes=1)
    assert [o.status for o in bot.poll(busy, only_due=True).feeds] == ["not-modified"]
    assert 60 <= bot.wait(busy) < 300


def test_a_feed_own_interval_is_not_adapted(bot: Bot, server: FeedServer) -> None:
    server.add("/busy", dated_rss(minutes_ago(bot.clock, *range(0, 40, 2))))
    busy = bot.feed("/busy", interval="15m")
    bot.poll(busy)
    assert bot.wait(busy) == 900


def test_jitter_is_deterministic_with_a_seeded_source(tmp_path: Path, server: FeedServer) -> None:
    server.add("/a", dated_rss([]))
    waits = []
    for run in range(2):
        bot = Bot(tmp_path / str(run), server)  # jitter 0.1, Random(42)
        bot.poll(bot.feed("/a"))
        waits.append(bot.wait(bot.feed("/a")))
        bot.store.close()
    assert waits[0] == waits[1]
    assert 300 < waits[0] < 330


# -- the server's word ---------------------------------------------------------------


def test_max_age_is_never_undercut_and_is_bounded(bot: Bot, server: FeedServer) -> None:
    server.add("/cached", dated_rss([]), headers={"Cache-Control": "public, max-age=1800"})
    server.add("/aged", dated_rss([]), headers={"Cache-Control": "max-age=1800", "Age": "600"})
    server.add("/forever", dated_rss([]), headers={"Cache-Control": "max-age=604800"})
    cached, aged, forever = bot.feed("/cached"), bot.feed("/aged"), bot.feed("/forever")
    bot.poll(cached, aged, forever)
    assert (bot.wait(cached), bot.wait(aged), bot.wait(forever)) == (1800, 1200, 3600)
    # Not due before max-age runs out, however often the scheduler asks.
    bot.clock.advance(seconds=1799)
    assert [o.name for o in bot.poll(cached, only_due=True).feeds] == []
    bot.clock.advance(seconds=1)
    assert [o.name for o in bot.poll(cached, only_due=True).feeds] == ["cached"]
    # The 304 carries the header too, and is honoured the same way.
    assert bot.wait(cached) == 1800 and server.requests[-1].status == 304


def test_rss_ttl_is_honoured_from_the_document(bot: Bot, server: FeedServer) -> None:
    server.add("/ttl", dated_rss([], ttl=45))
    feed = bot.feed("/ttl")
    bot.poll(feed)
    assert bot.state(feed).ttl_seconds == 2700 and bot.wait(feed) == 2700
    bot.clock.advance(seconds=2700)
    bot.poll(feed, only_due=True)  # a 304: the stored ttl still counts
    assert server.requests[-1].status == 304 and bot.wait(feed) == 2700


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds(bot: Bot, server: FeedServer, status: int) -> None:
    server.add("/busy", status=status, headers={"Retry-After": "5400"})
    feed = bot.feed("/busy")
    (outcome,) = bot.poll(feed).feeds
    assert outcome.status == "error" and "retry after 5400 s" in (outcome.error or "")
    assert bot.wait(feed) == 5400
    assert bot.state(feed).last_http_status == status


def test_retry_after_as_an_http_date_counts_from_the_server_date(
    bot: Bot, server: FeedServer
) -> None:
    # The server's own clock (its Date header) is the reference, not ours (pinned in 2026-01).
    later = formatdate(datetime.now().timestamp() + 7200, usegmt=True)
    server.add("/limited", status=429, headers={"Retry-After": later})
    feed = bot.feed("/limited")
    bot.poll(feed)
    assert 7198 <= bot.wait(feed) <= 7202


def test_retry_after_is_capped_by_the_max_backoff(bot: Bot, server: FeedServer) -> None:
    server.add("/limited", status=429, headers={"Retry-After": str(30 * 86400)})
    feed = bot.feed("/limited")
    bot.poll(feed)
    assert bot.wait(feed) == bot.settings.max_backoff


def test_failures_back_off_doubling_up_to_the_cap(tmp_path: Path, server: FeedServer) -> None:
    bot = Bot(tmp_path, server, poll_jitter=0.0, max_backoff=2400)
    server.add("/down", status=500)
    feed = bot.feed("/down")
    waits = []
    for _ in range(5):
        bot.poll(feed)
        waits.append(bot.wait(feed))
    assert waits == [600, 1200, 2400, 2400, 2400]
    assert bot.state(feed).consecutive_failures == 5
    bot.store.close()


# -- where the feed lives ------------------------------------------------------------


def run_cli(bot: Bot, monkeypatch: pytest.MonkeyPatch, *feeds: Feed) -> str:
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", bot.settings.database_url)
    monkeypatch.setenv("CLAIMBOT_FEEDS_FILE", str(write_feeds(
        Path(str(bot.settings.feeds_file)).parent, {f.label: f.url for f in feeds}
    )))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["feeds", "status", "--json"])
    assert result.exit_code == 0, result.stdout
    return result.stdout


def test_permanent_redirect_moves_the_fetch_url_not_the_identity(
    bot: Bot, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("/new.xml", dated_rss(minutes_ago(bot.clock, 5, 50), tag="n"))
    server.add("/old.xml", redirect_to="/new.xml", status=301)
    feed = bot.feed("/old.xml")
    (first,) = bot.poll(feed).feeds
    assert first.status == "ok" and first.new_items == 2
    state = bot.state(feed)
    assert state.fetch_url == server.url("/new.xml")
    assert list(bot.store.feed_states()) == [feed.url]  # one feed, still named by its old URL

    bot.poll(feed)  # straight to the new URL, with its validators: a 304
    assert (bot.hits("/old.xml"), bot.hits("/new.xml")) == (1, 2)
    assert server.requests[-1].status == 304

    status = run_cli(bot, monkeypatch, feed)
    row = [line for line in status.splitlines() if feed.url in line][0]
    assert f'"fetch_url": "{server.url("/new.xml")}"' in row
    monkeypatch.setenv("COLUMNS", "250")
    table = CliRunner().invoke(app, ["feeds", "status"]).stdout
    assert f"→ moved to {server.url('/new.xml')}" in table


@pytest.mark.parametrize("status", [302, 307])
def test_temporary_redirect_changes_nothing(bot: Bot, server: FeedServer, status: int) -> None:
    server.add("/new.xml", dated_rss([]))
    server.add("/old.xml", redirect_to="/new.xml", status=status)
    feed = bot.feed("/old.xml")
    bot.poll(feed)
    bot.poll(feed)
    assert bot.state(feed).fetch_url is None and bot.hits("/old.xml") == 2


def test_a_moved_feed_moving_again_or_back_follows(bot: Bot, server: FeedServer) -> None:
    server.add("/b.xml", dated_rss([]))
    server.add("/a.xml", redirect_to="/b.xml", status=308)
    feed = bot.feed("/a.xml")
    bot.poll(feed)
    assert bot.state(feed).fetch_url == server.url("/b.xml")
    server.add("/a.xml", dated_rss([]))
    server.add("/b.xml", redirect_to="/a.xml", status=301)
    bot.poll(feed)
    assert bot.state(feed).fetch_url is None  # home again


def test_410_gone_retires_the_feed(
    bot: Bot, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("/gone", status=410)
    server.add("/fine", dated_rss([]))
    gone, fine = bot.feed("/gone"), bot.feed("/fine")
    summary = bot.poll(gone, fine)
    by_name = {o.name: o for o in summary.feeds}
    assert by_name["fine"].status == "ok"
    assert by_name["gone"].status == "gone"
    assert by_name["gone"].error == (
        f"feed {gone.url}: gone (HTTP 410): remove it from feeds.yaml"
    )
    assert [o.name for o in summary.failed] == ["gone"]
    state = bot.state(gone)
    assert state.gone and state.last_status == "gone" and state.last_http_status == 410
    # Never fetched again: not when due, not on a full pass, not much later.
    bot.clock.advance(days=30)
    assert [o.name for o in bot.poll(gone, fine, only_due=True).feeds] == ["fine"]
    again = bot.poll(gone, fine)
    assert {o.name: o.status for o in again.feeds} == {"gone": "gone", "fine": "not-modified"}
    assert bot.hits("/gone") == 1

    status = run_cli(bot, monkeypatch, gone, fine)
    rows = {line.split('"url": "')[1].split('"')[0]: line for line in status.splitlines()}
    assert '"health": "gone"' in rows[gone.url]
    assert "gone (HTTP 410): remove it from feeds.yaml" in rows[gone.url]
