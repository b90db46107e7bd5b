"""``claimbot matches`` and ``claimbot feeds status`` through the CLI runner, on a real
database (an SQLite file, and PostgreSQL where the machine has it)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.store import PollFailure, Store
from bot.when import utc_now
from tests.support.builders import write_feeds
from tests.test_history import DESK, WIRE, item, matched, poll

DOWN = "https://down.example/rss"
GONE = "https://gone.example/rss"


@pytest.fixture
def env(store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    """The store, filled, with the CLI pointed at the same database and a feeds.yaml that
    lists every stored feed but GONE (removed from it since)."""
    now = utc_now()
    poll(store, GONE, now - timedelta(days=20), matched(item("g1", "Old news"), "c"),
         name="Gone Gazette")
    poll(store, WIRE, now - timedelta(days=10),
         matched(item("w1", "Venezuela says S-300 <!channel> batteries failed"), "air-defence"),
         name="World Wire")
    poll(store, DESK, now - timedelta(days=2),
         matched(item("d1", "Cuban agents killed, Havana says"), "cuban-agents", 0.9),
         matched(item("d2", "Iran weighs jets", 'A "quoted", comma summary'), "air-defence",
                 0.4, alert=False),
         name="Eurasia Desk")
    poll(store, DESK, now - timedelta(hours=1),
         matched(item("d3", "S-300 doubts grow in Caracas"), "air-defence", 0.7))
    store.record_failure(PollFailure(url=DOWN, polled_at=now,
                                     next_poll_at=now, error="HTTP 503: unavailable",
                                     http_status=503))
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", store.url)
    monkeypatch.setenv("CLAIMBOT_FEEDS_FILE", str(write_feeds(
        tmp_path, {"World Wire": WIRE, "Eurasia Desk": DESK, "Down": DOWN}
    )))
    monkeypatch.setenv("COLUMNS", "200")
    return store


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_jsonl_with_filters(env: Store) -> None:
    code, out, _ = run("matches", "--claim", "air-defence", "--since", "7d", "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["title"] for r in rows] == ["S-300 doubts grow in Caracas", "Iran weighs jets"]
    assert rows[1]["alert"] is False and rows[1]["summary"] == 'A "quoted", comma summary'


def test_search_status_feed_and_min_score(env: Store) -> None:
    code, out, _ = run("matches", "--search", "s-300", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run("matches", "--status", "suggested", "--json")
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["Iran weighs jets"]
    code, out, _ = run("matches", "--feed", "World Wire", "--format", "jsonl")
    assert [json.loads(line)["feed"] for line in out.splitlines()] == ["World Wire"]
    code, out, _ = run("matches", "--min-score", "0.85", "--format", "jsonl")
    assert [json.loads(line)["claim_id"] for line in out.splitlines()] == ["cuban-agents"]


def test_csv_round_trips_through_a_csv_reader(env: Store) -> None:
    code, out, _ = run("matches", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5
    quoted = next(r for r in rows if r["title"] == "Iran weighs jets")
    assert quoted["summary"] == 'A "quoted", comma summary' and quoted["terms"] == "s-300"


def test_table_pages_with_a_cursor(env: Store) -> None:
    code, out, err = run("matches", "--limit", "2")
    assert code == 0 and "S-300 doubts grow in Caracas" in out
    assert "Iran weighs jets" in out and "<!channel>" not in out  # only the two newest
    cursor = err.split("--after ")[1].split()[0]
    code, out, err = run("matches", "--limit", "2", "--after", cursor)
    # Same stored time: newer id first, so the second page starts at the older twin.
    assert "S-300 <!channel> batteries failed" in out  # printed as text, as stored
    assert "Cuban agents" in out
    assert "doubts grow" not in out and "Iran weighs" not in out


def test_bad_input_is_one_clear_line(env: Store) -> None:
    code, _, err = run("matches", "--since", "last tuesday")
    assert code == 2 and "not a time" in err
    code, _, err = run("matches", "--status", "maybe")
    assert code == 2 and "alerted, suggested" in err
    code, _, err = run("matches", "--feed", "Nope")
    assert code == 1 and "error: no stored feed has the url or name 'Nope'" in err
    code, _, err = run("matches", "--search", "!!")
    assert code == 1 and "at least one word" in err


def test_feeds_status_shows_health(env: Store) -> None:
    code, out, _ = run("feeds", "status", "--json", "--silent", "5d")
    assert code == 0
    health = {row["url"]: row for row in map(json.loads, out.splitlines())}
    assert health["https://down.example/rss"]["health"] == "failing ×1"
    assert health["https://down.example/rss"]["last_http_status"] == 503
    assert health[DESK]["health"] == "ok" and health[DESK]["items_per_day"] == 0.43  # 3 in 7 days
    assert health[WIRE]["health"] == "silent"  # published 10 days ago, nothing since
    assert health[GONE]["health"] == "removed"  # no longer in feeds.yaml: not silent
    code, out, _ = run("feeds", "status", "--problems")
    assert code == 0 and "down.example" in out and "World Wire" in out
    assert "Eurasia Desk" not in out and "Gone Gazette" not in out


def test_help_has_examples() -> None:
    for command in (["matches"], ["feeds", "status"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "Example: claimbot" in out


def test_feeds_status_on_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    code, out, _ = run("feeds", "status")
    assert code == 0 and "no feeds polled yet" in out


def test_machine_formats_print_feed_text_exactly_and_csv_cells_stay_inert(env: Store) -> None:
    poll(env, DESK, utc_now(), matched(
        item("x1", "=HYPERLINK(\"http://evil.example\") crowd cheers :smile: in Caracas"),
        "air-defence",
    ))
    code, out, _ = run("matches", "--search", "crowd", "--format", "jsonl")
    assert code == 0 and json.loads(out)["title"].startswith('=HYPERLINK("http://evil')
    assert ":smile:" in out  # not turned into an emoji
    code, out, _ = run("matches", "--search", "crowd", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(out))
    assert row["title"].startswith("'=HYPERLINK(")  # a spreadsheet shows it, never runs it
