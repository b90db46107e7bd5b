"""``claimbot doctor`` as a real process, against the Slack stand-in, the feed server, a real
SQLite file and a PostgreSQL port nothing listens on."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.builders import Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_cli import claimbot


@dataclass
class Setup:
    tmp_path: Path
    feeds: FeedServer
    env: dict[str, str]

    def doctor(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return claimbot("doctor", *args, cwd=self.tmp_path, env={**self.env, **env})


def lines(result: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.split(":")[0].endswith(prefix)]


@pytest.fixture
def setup(tmp_path: Path, slack: SlackStandIn) -> Iterator[Setup]:
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", [Entry("w1", "One"), Entry("w2", "Two")]))
        database = f"sqlite:///{tmp_path / 'bot.db'}"
        Store(database).close()  # a database with the current schema
        env = {
            "CLAIMBOT_DATABASE_URL": database,
            "CLAIMBOT_CLAIMS_FILE": str(write_claims(tmp_path)),
            "CLAIMBOT_FEEDS_FILE": str(write_feeds(tmp_path, {
                "Wire": feeds.url("/wire.xml"), "Gone": feeds.url("/gone.xml"),
            })),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "CLAIMBOT_SLACK_API_URL": slack.base_url,
        }
        yield Setup(tmp_path, feeds, env)


def test_a_healthy_setup_is_all_ok_but_the_broken_feed(setup: Setup) -> None:
    result = setup.doctor()

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "OK   claims: " in out and "claims, " in out
    assert "OK   feeds: " in out and "2 feeds, 2 enabled" in out
    assert "schema revision 0005 (up to date)" in out
    assert "OK   slack: authenticated as claimbot in Claimbot Test" in out
    [wire] = lines(result, "feed Wire")
    assert wire.startswith("OK   feed Wire: HTTP 200, 2 items")
    gone = lines(result, "feed Gone")
    assert len(gone) == 1 and gone[0].startswith("WARN") and "404" in gone[0]
    assert "fix or remove its url" in gone[0]


def test_a_refused_token_fails_with_what_to_do(setup: Setup) -> None:
    result = setup.doctor("--feeds", "0", SLACK_BOT_TOKEN="xoxb-revoked")

    assert result.returncode == 1
    [slack] = lines(result, "slack")
    assert slack.startswith("FAIL slack: Slack refused SLACK_BOT_TOKEN (invalid_auth)")
    assert "OAuth & Permissions" in slack
    assert not lines(result, "feed Wire")  # --feeds 0 fetches none


def test_no_token_is_a_dry_run_warning(setup: Setup) -> None:
    env = {k: v for k, v in setup.env.items() if k != "SLACK_BOT_TOKEN"}
    result = claimbot("doctor", "--feeds", "1", cwd=setup.tmp_path, env=env)

    assert result.returncode == 0
    assert "WARN slack: dry run: no token" in result.stdout
    assert len(lines(result, "feed Wire")) == 1 and not lines(result, "feed Gone")


def test_slack_unreachable_fails(setup: Setup) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    result = setup.doctor("--feeds", "0", CLAIMBOT_SLACK_API_URL=nowhere)
    assert result.returncode == 1
    [slack] = lines(result, "slack")
    assert slack.startswith("FAIL slack: cannot reach http://127.0.0.1:")


def test_a_broken_claims_file_names_file_and_line(setup: Setup) -> None:
    write_claims(setup.tmp_path, "claims:\n  - id: ok\n    title: T\n    statement: S\n"
                                 "    query: a AND (b\n")
    result = setup.doctor("--feeds", "0")

    assert result.returncode == 1
    [claims] = lines(result, "claims")
    assert claims.startswith("FAIL claims: ")
    assert "claims.yaml:5" in claims
    assert "claimbot claims validate" in claims


def test_an_unreachable_database_fails(setup: Setup) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/claimbot"
    result = setup.doctor("--feeds", "0", CLAIMBOT_DATABASE_URL=url)

    assert result.returncode == 1
    [database] = lines(result, "database")
    assert database.startswith("FAIL database: database postgresql+psycopg://")
    assert "check CLAIMBOT_DATABASE_URL" in database


def test_a_missing_sqlite_file_is_reported_not_created(setup: Setup) -> None:
    missing = setup.tmp_path / "new" / "bot.db"
    result = setup.doctor("--feeds", "0", CLAIMBOT_DATABASE_URL=f"sqlite:///{missing}")

    assert result.returncode == 0
    assert "no database file yet" in result.stdout
    assert not missing.parent.exists()


def test_no_feed_readable_is_a_failure(setup: Setup) -> None:
    write_feeds(setup.tmp_path, {"Gone": setup.feeds.url("/gone.xml")})
    result = setup.doctor()

    assert result.returncode == 1
    assert "FAIL feeds: none of the 1 feeds tried could be read" in result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
