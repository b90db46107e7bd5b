"""Hot reload inside a running bot's Runner: real feeds over HTTP, a SQLite file and the
real slack-sdk client against the Slack stand-in. (tests/test_run.py does it in a real
process.)"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import scheduler
from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Settings
from bot.scheduler import Runner
from bot.store import Store
from bot.store.history import MatchQuery
from tests.support.builders import TEST_CLAIMS, Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn

CUBA = Entry("c1", "Havana says 32 Cuban agents were killed in the US raid")
VENEZUELA = Entry("v1", "Venezuela says Russian S-300 batteries failed during the raid")


def bump(path: Path) -> None:
    """Move the file's mtime on, as an edit a second later would (filesystems are coarse)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def runner(tmp_path: Path, slack: SlackStandIn) -> Iterator[Runner]:
    slack.add_channel("#claimbot-ops")
    slack.add_channel("#cuba")
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", [CUBA, VENEZUELA]))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(tmp_path, {"Wire": feeds.url("/wire.xml")}),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            ops_channel="#claimbot-ops",
            semantic="off",
            slack_rate=1000.0,
            slack_burst=100,
        )
        store = Store(settings.database_url)
        sink = SlackSink(SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0,
                                     timeout=2.0))
        runner = Runner(settings, store, sink)
        yield runner
        runner.drain_soon.join(10)  # a drain a poll started finishes before the store closes
        store.close()


def ops_notices(slack: SlackStandIn) -> list[str]:
    return [m.text or "" for m in slack.messages if m.channel == "#claimbot-ops"]


def test_a_claim_disabled_while_its_alert_waits_never_alerts(
    runner: Runner, slack: SlackStandIn
) -> None:
    # Both alerts wait in the outbox (as behind a busy channel): without the drain a poll
    # that queues alerts starts at once, which would send them before the edit.
    runner.pipeline.on_alerts = None
    runner.pipeline.poll(runner.feeds)
    claims_file = runner.settings.claims_file
    claims_file.write_text(
        TEST_CLAIMS.replace('    channel: "#cuba"\n', '    channel: "#cuba"\n    enabled: false\n'),
        encoding="utf-8",
    )
    bump(claims_file)
    runner.reload_tick()
    runner.delivery_tick()
    assert [m.channel for m in slack.messages] == ["#claims"]  # the Venezuela alert only
    assert "S-300" in (slack.messages[0].text or "")
    # History stays: the match is stored and says why its alert was not sent.
    (cuba,) = runner.pipeline.store.find_matches(MatchQuery(claim_ids=("cuban-agents-killed",)))
    assert cuba.alert_status == "skipped"
    (skipped,) = runner.pipeline.store.alerts(statuses=["skipped"])
    assert "removed or disabled" in (skipped.last_error or "")


def test_a_broken_edit_keeps_the_previous_claims_and_tells_ops_once(
    runner: Runner, slack: SlackStandIn
) -> None:
    claims_file = runner.settings.claims_file
    claims_file.write_text(TEST_CLAIMS + "  - id: Broken\n", encoding="utf-8")
    bump(claims_file)
    for _ in range(3):  # every tick checks; the notice comes once per change of the file
        runner.reload_tick()
    (notice,) = ops_notices(slack)
    assert f"{claims_file}:" in notice and "previous version stays in force" in notice
    assert "not a valid id" in notice or "required field" in notice
    runner.pipeline.poll(runner.feeds)
    runner.delivery_tick()
    channels = sorted(m.channel for m in slack.messages if m.channel != "#claimbot-ops")
    assert channels == ["#claims", "#cuba"]  # both claims still in force

    claims_file.write_text(TEST_CLAIMS, encoding="utf-8")
    bump(claims_file)
    runner.reload_tick()
    assert "is valid again" in ops_notices(slack)[-1]


def test_feeds_and_claims_reload_independently(runner: Runner, slack: SlackStandIn) -> None:
    feeds_file = runner.settings.feeds_file
    feeds_file.write_text("feeds:\n  - name: no url\n", encoding="utf-8")
    bump(feeds_file)
    claims_file = runner.settings.claims_file
    claims_file.write_text(TEST_CLAIMS.split("  - id: cuban-agents-killed")[0], encoding="utf-8")
    bump(claims_file)
    runner.reload_tick()
    assert [f.name for f in runner.feeds] == ["Wire"]  # the broken feeds file changed nothing
    assert sorted(runner.pipeline.watchlist.claims) == ["air-defence-failure"]  # applied
    (notice,) = ops_notices(slack)
    assert f"{feeds_file}:2" in notice and "url" in notice


def test_any_bad_value_is_reported_not_crashed_on(runner: Runner, slack: SlackStandIn) -> None:
    claims_file = runner.settings.claims_file
    claims_file.write_text(
        TEST_CLAIMS + "    mute_until: 2026-13-01\n", encoding="utf-8"  # no 13th month
    )
    bump(claims_file)
    runner.reload_tick()
    runner.reload_tick()
    (notice,) = ops_notices(slack)
    assert str(claims_file) in notice and "month" in notice
    assert sorted(runner.pipeline.watchlist.claims) == ["air-defence-failure",
                                                        "cuban-agents-killed"]


def test_a_file_changing_while_it_is_read_is_read_again_next_tick(
    runner: Runner, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor rewriting claims.yaml in place can be caught half way: a cut-off file is
    often valid with fewer claims. Nothing read while the file changes is put in force."""
    claims_file = runner.settings.claims_file
    half = TEST_CLAIMS.split("  - id: cuban-agents-killed")[0]
    claims_file.write_text(half, encoding="utf-8")  # the editor's first half...
    bump(claims_file)
    real_load = scheduler.load_claims

    def load_while_the_editor_finishes(path: Path) -> Any:
        loaded = real_load(path)
        claims_file.write_text(TEST_CLAIMS, encoding="utf-8")  # ...and the rest, mid-read
        bump(claims_file)
        monkeypatch.setattr(scheduler, "load_claims", real_load)
        return loaded

    monkeypatch.setattr(scheduler, "load_claims", load_while_the_editor_finishes)
    runner.reload_tick()
    assert len(runner.pipeline.watchlist.claims) == 2  # the half file was not put in force
    runner.reload_tick()
    assert len(runner.pipeline.watchlist.claims) == 2 and ops_notices(slack) == []
