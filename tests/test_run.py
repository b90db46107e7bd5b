"""``claimbot run`` as a real process: scheduler ticks, hot reload, clean stop on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Settings
from bot.scheduler import Runner
from bot.store import Store
from tests.support.builders import TEST_CLAIMS, Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn

EXTRA_CLAIM = """\
  - id: russia-wont-defend-iran
    title: Russia will not defend Iran
    statement: Russia is unlikely to intervene decisively to defend Iran.
    query: (Russia OR Moscow) AND Iran AND (unlikely OR "will not")
"""


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def run_env(
    tmp_path: Path, feeds: FeedServer, slack: SlackStandIn, *,
    listed: dict[str, str] | None = None, database_url: str | None = None, **extra: str,
) -> dict[str, str]:
    """The environment of a bot on the test claims and the Slack stand-in, polling the feed
    server's /wire.xml (or the ``listed`` feeds, name -> URL) into a fresh SQLite file (or
    ``database_url``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMBOT_", "SLACK_"))}
    env.update(
        CLAIMBOT_DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'bot.db'}",
        CLAIMBOT_CLAIMS_FILE=str(write_claims(tmp_path)),
        CLAIMBOT_FEEDS_FILE=str(
            write_feeds(tmp_path, listed or {"Wire": feeds.url("/wire.xml")})
        ),
        SLACK_BOT_TOKEN="xoxb-test",
        CLAIMBOT_SEMANTIC="off",
        CLAIMBOT_SLACK_API_URL=slack.base_url,
        **extra,
    )
    return env


def test_run_polls_delivers_reloads_and_stops_cleanly(tmp_path: Path) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        wire = [Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid")]
        feeds.add("/wire.xml", rss("Wire", wire))
        env = run_env(
            tmp_path, feeds, slack, CLAIMBOT_POLL_INTERVAL="0.5", CLAIMBOT_TICK_INTERVAL="0.3",
            CLAIMBOT_DELIVERY_INTERVAL="0.3",
        )
        claims_file = Path(env["CLAIMBOT_CLAIMS_FILE"])
        log = (tmp_path / "run.log").open("w+")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: len(slack.messages) == 1)

            # A broken edit is reported and changes nothing.
            claims_file.write_text(TEST_CLAIMS + "  - id: Broken\n", encoding="utf-8")
            wait_for(lambda: "config_reload_failed" in (tmp_path / "run.log").read_text())

            # A valid edit adding a claim is live within a tick, without a restart.
            claims_file.write_text(TEST_CLAIMS + EXTRA_CLAIM, encoding="utf-8")
            wait_for(lambda: "config_reloaded" in (tmp_path / "run.log").read_text())
            feeds.set("/wire.xml", rss("Wire", [
                *wire, Entry("w2", "Analysts: Russia unlikely to defend Iran if attacked"),
            ]))
            wait_for(lambda: len(slack.messages) == 2)
            assert "Iran" in (slack.messages[1].text or "")
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            output = (tmp_path / "run.log").read_text()
            log.close()
        assert code == 0, output
        assert "signal=SIGTERM stop requested" in output and "stopped" in output
        assert len(slack.messages) == 2  # nothing repeated across the many ticks


def test_run_with_socket_mode_takes_feedback_and_slash_commands(tmp_path: Path) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.add("/wire.xml", rss("Wire", [
            Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid"),
        ]))
        env = run_env(
            tmp_path, feeds, slack, SLACK_APP_TOKEN="xapp-test", CLAIMBOT_TICK_INTERVAL="0.3",
            CLAIMBOT_DELIVERY_INTERVAL="60",  # neither the alert nor the edit waits for a tick
        )
        log = (tmp_path / "run.log").open("w+")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: len(slack.messages) == 1)
            slack.wait_for_socket_client(timeout=10)
            alert = slack.messages[0]
            ack = slack.send_block_action(
                action_id="claimbot_relevant",
                value=str(alert.metadata["event_payload"]["alert_id"]),  # type: ignore[index]
                channel_id=alert.channel, message_ts=alert.ts, user_id="U0ANALYST1",
            )
            assert ack.in_time
            wait_for(lambda: slack.messages[0].edited)
            assert "marked relevant by <@U0ANALYST1>" in repr(slack.messages[0].blocks)

            answer = slack.send_slash_command(text="recent")
            assert answer.in_time and "S-300" in (answer.payload or {})["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            output = (tmp_path / "run.log").read_text()
            log.close()
        assert code == 0, output
        assert "socket_mode_connected" in output and "feedback alert=1" in output


def test_sigkill_between_slacks_write_and_the_commit_posts_nothing_twice(tmp_path: Path) -> None:
    """The crash window itself, in a real process: Slack has stored the first alert but its
    answer has not arrived when the bot is killed. The restarted bot finds the alert in the
    channel history and posts only the rest."""
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.add("/wire.xml", rss("Wire", [
            Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid"),
            Entry("w2", "Havana confirms 32 Cuban agents killed in US operation"),
        ]))
        slack.add_channel("#cuba")
        env = run_env(tmp_path, feeds, slack, CLAIMBOT_TICK_INTERVAL="0.3",
                      CLAIMBOT_DELIVERY_INTERVAL="0.3")
        slack.stall_next(1, seconds=30, handle_first=True)  # stored now, answered never (for us)
        log = (tmp_path / "run.log").open("w+")
        first = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: len(slack.messages) == 1)
            time.sleep(0.3)
            assert first.poll() is None  # still waiting for Slack's answer
        finally:
            first.kill()
            first.wait(timeout=10)

        second = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: len(slack.messages) == 2)
            wait_for(lambda: "alert_found_posted" in (tmp_path / "run.log").read_text())
            time.sleep(1.0)  # several more delivery ticks: nothing else may appear
        finally:
            second.send_signal(signal.SIGTERM)
            code = second.wait(timeout=30)
            output = (tmp_path / "run.log").read_text()
            log.close()
        assert code == 0, output
        texts = sorted(m.text or "" for m in slack.messages)
        assert len(texts) == 2 and "S-300" in " ".join(texts) and "Cuban" in " ".join(texts)
        ids = [m.metadata["event_payload"]["alert_id"] for m in slack.messages]  # type: ignore[index]
        assert sorted(ids) == [1, 2]


REPO = Path(__file__).resolve().parents[1]
OPEC_CLAIM = ["--id", "opec-output-cut", "--title", "OPEC cuts output",
              "--statement", "OPEC agreed to cut its oil output.", "--query", "OPEC AND cut*"]


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_cli_edits_under_a_running_bot_go_live_within_a_tick_and_keep_comments(
    tmp_path: Path,
) -> None:
    """The analyst's loop on the real, commented claims.yaml: add a claim with the CLI while
    the bot runs, see it alert; break the file by hand, see it refused and nothing change;
    disable the claim with the CLI, see it stop."""
    with FeedServer() as feeds, SlackStandIn() as slack:
        slack.add_channel("#claimbot-ops")
        wire = [Entry("w1", "Oil prices steady ahead of the OPEC meeting")]
        feeds.add("/wire.xml", rss("Wire", wire))
        env = run_env(
            tmp_path, feeds, slack, CLAIMBOT_POLL_INTERVAL="0.5", CLAIMBOT_TICK_INTERVAL="0.3",
            CLAIMBOT_DELIVERY_INTERVAL="0.3", CLAIMBOT_OPS_CHANNEL="#claimbot-ops",
        )
        claims_file = Path(env["CLAIMBOT_CLAIMS_FILE"])
        claims_file.write_text((REPO / "config" / "claims.yaml").read_text(encoding="utf-8"),
                               encoding="utf-8")
        comments = comment_lines(claims_file.read_text(encoding="utf-8"))
        assert len(comments) > 30

        def cli(*args: str) -> None:
            done = subprocess.run([sys.executable, "-m", "bot", "claims", *args], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert comment_lines(claims_file.read_text(encoding="utf-8")) == comments

        def publish(*entries: Entry) -> None:
            wire.extend(entries)
            feeds.set("/wire.xml", rss("Wire", wire))

        def alerts() -> list[str]:
            return [m.text or "" for m in slack.messages if m.channel == "#claims"]

        log = (tmp_path / "run.log").open("w+")
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "poll_pass" in (tmp_path / "run.log").read_text())
            assert alerts() == []  # no seed claim is about oil

            cli("add", *OPEC_CLAIM)
            wait_for(lambda: "config_reloaded" in (tmp_path / "run.log").read_text())
            publish(Entry("w2", "OPEC agrees to cut output by a million barrels"))
            wait_for(lambda: len(alerts()) == 1)
            assert "OPEC" in alerts()[0]

            valid = claims_file.read_text(encoding="utf-8")
            claims_file.write_text(valid.replace("  - id: opec-output-cut", "  - id: OPEC"),
                                   encoding="utf-8")
            wait_for(lambda: any("previous version stays in force" in (m.text or "")
                                 for m in slack.messages if m.channel == "#claimbot-ops"))
            publish(Entry("w3", "OPEC members cut output again in March"))
            wait_for(lambda: len(alerts()) == 2)  # the claim in force is the previous one

            claims_file.write_text(valid, encoding="utf-8")
            cli("disable", "opec-output-cut")
            wait_for(lambda: (tmp_path / "run.log").read_text().count("config_reloaded") >= 2)
            polls = (tmp_path / "run.log").read_text().count("poll_pass")
            publish(Entry("w4", "OPEC will cut output a third time"))
            # Two polls after it was published (one took it in), then more delivery ticks.
            wait_for(lambda: (tmp_path / "run.log").read_text().count("poll_pass") >= polls + 2)
            time.sleep(1.0)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            output = (tmp_path / "run.log").read_text()
            log.close()
        assert code == 0, output
        assert len(alerts()) == 2, alerts()  # the disabled claim stayed quiet on w4
        store = Store(env["CLAIMBOT_DATABASE_URL"])
        try:
            assert store.count_items() == 4  # w4 was polled and stored, just not alerted
        finally:
            store.close()
        assert "config_reload_failed" in output and f"{claims_file}:" in output


def test_the_delivery_tick_does_not_pile_up_behind_a_drain_pacing_replies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A story on four outlets: its alert, then three replies at Slack's pace (one write a
    second here, no burst), which one drain waits out. Delivery ticks every 0.1 s meanwhile
    only ask for a drain; none queues up on the scheduler (which would warn of each
    skipped run)."""
    story = "Venezuela says Russian S-300 batteries failed during the raid"
    outlets = ["Wire", "Globe", "Herald", "Post"]
    with FeedServer() as feeds, SlackStandIn(channel_rate=1.0, channel_burst=1) as slack:
        for n, outlet in enumerate(outlets):
            feeds.add(f"/{outlet}.xml", rss(outlet, [Entry(f"{outlet}-{n}", story)]))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(tmp_path, {o: feeds.url(f"/{o}.xml") for o in outlets}),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            semantic="off",
            slack_rate=1.0,
            slack_burst=1,
            delivery_interval=0.1,
        )
        store = Store(settings.database_url)
        runner = Runner(settings, store, SlackSink(
            SlackSender("xoxb-test", base_url=slack.base_url, max_retries=0, timeout=2.0)))
        running = threading.Thread(target=runner.run)
        caplog.set_level(logging.WARNING)
        running.start()
        try:
            wait_for(lambda: any(m.is_reply for m in slack.messages))  # a drain is pacing
            time.sleep(1.0)  # ten delivery ticks
        finally:
            runner.stop()
            running.join(timeout=20)
            store.close()
        assert not running.is_alive()
        skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert skipped == []
        assert slack.rate_limited == 0
