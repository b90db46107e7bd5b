"""The ``claimbot`` command, run as a real process against local servers and a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.builders import Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn

REPO = Path(__file__).resolve().parents[1]


def claimbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMBOT_", "SLACK_"))}
    clean["COLUMNS"] = "200"
    # Deterministic whatever is installed: the semantic extra has its own tests.
    clean["CLAIMBOT_SEMANTIC"] = "off"
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version(tmp_path: Path) -> None:
    result = claimbot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "claimbot 0.1.0"


def test_validate_reports_file_line_and_problem(tmp_path: Path) -> None:
    broken = write_claims(
        tmp_path,
        "claims:\n  - id: ok-claim\n    title: T\n    statement: S\n    query: a AND (b OR c\n",
    )
    result = claimbot("claims", "validate", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {broken}:5: claims[0].query: unbalanced parenthesis at column 7"
    )
    good = claimbot("claims", "validate", str(REPO / "config" / "claims.yaml"), cwd=tmp_path)
    assert good.returncode == 0 and "11 claims OK" in good.stdout


def test_backtest_prints_the_contract_json_lines(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"id": "a", "title": "Havana says 32 Cuban agents were killed by US forces"})
        + "\n"
        + json.dumps({"id": "b", "title": "Weather: sunny", "summary": "Nothing else"})
        + "\n",
        encoding="utf-8",
    )
    result = claimbot(
        "backtest", "--claims", str(REPO / "config" / "claims.yaml"), "--items", str(items),
        "--top-k", "3", cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["item_id"] for line in lines] == ["a", "b"]
    first = lines[0]["matches"][0]
    assert first["claim_id"] == "cuban-agents-killed"
    assert first["alert"] is True and first["score"] >= 0.5
    assert "Cuban" in first["evidence"]["terms"]
    assert lines[1]["matches"] == []


def test_backtest_with_statement_only_claims_jsonl(tmp_path: Path) -> None:
    claims = tmp_path / "claims.jsonl"
    claims.write_text(
        json.dumps({"id": "vc1", "title": "Moon landing staged",
                    "statement": "The moon landing was staged in a film studio."}) + "\n"
        + json.dumps({"id": "vc2", "title": "Vaccines and chips",
                      "statement": "Vaccines contain tracking microchips."}) + "\n",
        encoding="utf-8",
    )
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"id": "t1", "title": "The moon landing was staged in a studio, says a post"})
        + "\n",
        encoding="utf-8",
    )
    result = claimbot(
        "backtest", "--claims", str(claims), "--items", str(items), cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (line,) = [json.loads(raw) for raw in result.stdout.splitlines()]
    best = line["matches"][0]
    assert best["claim_id"] == "vc1" and best["alert"] is True
    assert best["evidence"]["query_matched"] is False and best["evidence"]["lexical"] > 0.5
    assert [m["claim_id"] for m in line["matches"]] == ["vc1"]


def test_backtest_bad_items_line_names_it(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a", "title": "x"}\n{"title": "no id"}\n', encoding="utf-8")
    result = claimbot(
        "backtest", "--claims", str(REPO / "config" / "claims.yaml"), "--items", str(items),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert f"{items}:2: each line needs 'id' and 'title'" in result.stderr


def test_claims_test_explains_every_claim(tmp_path: Path) -> None:
    result = claimbot(
        "claims", "test", "Venezuela says the Russian S-300 air defences failed in Caracas",
        cwd=tmp_path, env={"CLAIMBOT_CLAIMS_FILE": str(REPO / "config" / "claims.yaml")},
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines()
            if line.startswith("│")}
    assert "ALERT" in rows["air-defence-failure"]
    assert "no match" in rows["cuban-agents-killed"]
    assert len(rows) == 11


def bot_env(tmp_path: Path, feeds: dict[str, str], **extra: str) -> dict[str, str]:
    """Settings for a bot on a fresh SQLite file, the test claims and the given feeds."""
    return {
        "CLAIMBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "CLAIMBOT_CLAIMS_FILE": str(write_claims(tmp_path)),
        "CLAIMBOT_FEEDS_FILE": str(write_feeds(tmp_path, feeds)),
        **extra,
    }


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, SlackStandIn]]:
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.add("/wire.xml", rss("Wire", [
            Entry("w1", "Venezuela says Russian S-300 batteries failed during US raid"),
            Entry("w2", "<!channel> Havana confirms 32 Cuban agents killed in US operation"),
        ]))
        feeds.add("/broken.xml", status=404)
        slack.add_channel("#cuba")
        yield feeds, slack


def test_poll_once_posts_each_alert_once_across_runs(
    tmp_path: Path, servers: tuple[FeedServer, SlackStandIn]
) -> None:
    feeds, slack = servers
    env = bot_env(
        tmp_path,
        {"Wire": feeds.url("/wire.xml"), "Broken": feeds.url("/broken.xml")},
        SLACK_BOT_TOKEN="xoxb-test",
        CLAIMBOT_SLACK_API_URL=slack.base_url,
    )
    first = claimbot("poll", "--once", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "2 feeds polled, 1 failed" in first.stdout
    assert "alerts: 2 delivered, 0 failed, 0 pending" in first.stdout
    assert "HTTP 404" in first.stdout
    assert len(slack.messages) == 2
    assert all("<!channel>" not in (m.text or "") for m in slack.messages)

    again = claimbot("poll", "--once", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "alerts: 0 delivered" in again.stdout
    assert len(slack.messages) == 2

    listed = claimbot("matches", "--json", cwd=tmp_path, env=env)
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["claim_id"] for r in records) == ["air-defence-failure", "cuban-agents-killed"]
    assert {r["alert_status"] for r in records} == {"sent"}


def test_poll_without_token_is_a_dry_run_that_says_so(
    tmp_path: Path, servers: tuple[FeedServer, SlackStandIn]
) -> None:
    feeds, slack = servers
    env = bot_env(tmp_path, {"Wire": feeds.url("/wire.xml")})
    result = claimbot("poll", "--once", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "dry run: SLACK_BOT_TOKEN is not set" in result.stderr
    assert result.stdout.count("ALERT → ") == 2
    assert slack.messages == []


def test_poll_cannot_run_without_config(tmp_path: Path) -> None:
    result = claimbot("poll", "--once", cwd=tmp_path)
    assert result.returncode == 1
    assert "config/claims.yaml: file not found" in result.stderr


def test_demo_shows_alerts_and_stops_by_itself(tmp_path: Path) -> None:
    result = claimbot(
        "demo", cwd=tmp_path, env={"CLAIMBOT_CLAIMS_FILE": str(REPO / "config" / "claims.yaml")}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ALERT → ") >= 3
    # The bundled syndicated copy (reworded headline) is one story: a reply, not an alert.
    assert "also reported by" in result.stdout
    assert "(+1 copy of a story, in its thread)" in result.stdout
    assert "second pass: 3 of 3 feeds unchanged (304), 0 new items, 0 new alerts" in result.stdout
