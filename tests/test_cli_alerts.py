"""``claimbot alerts``, ``alerts retry``, ``stats`` and ``stories`` as real processes against
the feed server, the Slack stand-in and a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from tests.support.builders import Entry, rss
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_cli import bot_env, claimbot

STORY = Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid",
              "Officers in Caracas say the air defences never engaged.")
COPY = Entry("g1", "Venezuela says Russian S-300 batteries failed during US raid - Globe",
             "Officers in Caracas say the air defences never engaged.")
CUBA = Entry("w2", "Havana confirms 32 Cuban agents killed in US operation")


def poll_wire_and_globe(tmp_path: Path, slack: SlackStandIn) -> tuple[dict[str, str], str]:
    """Poll two feeds carrying one story twice and a Cuba item once; return the bot's
    environment and the poll's output."""
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", [STORY, CUBA]))
        feeds.add("/globe.xml", rss("Globe", [COPY]))
        env = bot_env(
            tmp_path, {"Wire": feeds.url("/wire.xml"), "Globe": feeds.url("/globe.xml")},
            SLACK_BOT_TOKEN="xoxb-test", CLAIMBOT_SLACK_API_URL=slack.base_url,
        )
        polled = claimbot("poll", "--once", cwd=tmp_path, env=env)
        assert polled.returncode == 0, polled.stderr
        return env, polled.stdout


def test_failed_alerts_are_listed_with_the_reason_and_can_be_retried(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    # #cuba does not exist yet: the Cuba claim's alert fails with Slack's reason.
    env, polled = poll_wire_and_globe(tmp_path, slack)
    assert "1 failed" in polled

    failed = claimbot("alerts", "--failed", "--json", cwd=tmp_path, env=env)
    assert failed.returncode == 0, failed.stderr
    (record,) = [json.loads(line) for line in failed.stdout.splitlines()]
    assert record["claim_id"] == "cuban-agents-killed"
    assert "channel #cuba not found" in record["last_error"]

    table = claimbot("alerts", cwd=tmp_path, env=env)
    assert "1 failed" in table.stdout and "claimbot alerts retry" in table.stdout

    nothing = claimbot("alerts", "retry", "999", cwd=tmp_path, env=env)
    assert nothing.returncode == 1 and "nothing to retry" in nothing.stdout
    missing = claimbot("alerts", "retry", cwd=tmp_path, env=env)
    assert missing.returncode != 0 and "--all" in missing.stderr

    slack.add_channel("#cuba")
    retried = claimbot("alerts", "retry", str(record["id"]), cwd=tmp_path, env=env)
    assert retried.returncode == 0 and f"queued again: {record['id']}" in retried.stdout
    delivered = claimbot("poll", "--once", cwd=tmp_path, env=env)
    assert "alerts: 1 delivered, 0 failed, 0 pending" in delivered.stdout
    assert [m.channel for m in slack.messages if not m.is_reply] == ["#claims", "#cuba"]


def test_stories_and_stats_show_grouping(tmp_path: Path, slack: SlackStandIn) -> None:
    slack.add_channel("#cuba")
    env, _ = poll_wire_and_globe(tmp_path, slack)

    # One alert per story; the copy replied in the thread.
    assert sum(1 for m in slack.messages if m.is_reply) == 1
    listed = claimbot("stories", "--json", cwd=tmp_path, env=env)
    stories = {s["claim_id"]: s for s in map(json.loads, listed.stdout.splitlines())}
    assert stories["air-defence-failure"]["copies"] == 2
    assert sorted(stories["air-defence-failure"]["outlets"]) == ["Globe", "Wire"]
    table = claimbot("stories", cwd=tmp_path, env=env).stdout
    row = next(line for line in table.splitlines() if "air-defence-failure" in line)
    assert "Globe" in row and "Wire" in row

    stats = claimbot("stats", "--days", "7", cwd=tmp_path, env=env)
    assert stats.returncode == 0, stats.stderr
    row = next(line for line in stats.stdout.splitlines() if "air-defence-failure" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2:5] == ["2", "2", "1"]  # matches, alerts, stories
    assert cells[7] == "n/a"  # no feedback yet
    assert cells[8] == cells[9]  # first and last seen: one poll
    assert cells[10] == "Globe (1), Wire (1)"  # top outlets: busiest, then by name


def test_every_new_command_has_an_example() -> None:
    # In-process: help text needs no real process (the others above run one).
    for command in (["alerts"], ["alerts", "retry"], ["stats"], ["stories"]):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "Example: claimbot" in result.stdout, command
