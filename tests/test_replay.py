"""Trying a claim on the stored items (``claimbot backtest --claim``, ``claims test --claim``):
items polled for real from a local feed server into an SQLite file (and PostgreSQL where
the machine has it), then the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings, load_claims, load_feeds
from bot.pipeline import Pipeline, Watchlist
from bot.store import Store
from tests.support.builders import TEST_CLAIMS, Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer

ENTRIES = [
    Entry("v1", "Venezuela says Russian S-300 batteries failed during the raid"),
    Entry("v2", "Caracas: Buk-M2 air defences failed to fire, officers say"),
    Entry("v3", "S-300 systems in Venezuela were never switched on, report says"),
    Entry("c1", "Havana says 32 Cuban agents were killed in the US raid"),
    Entry("x1", "Oil prices steady as markets wait for OPEC"),
]
# The stored claim alerts on v1 and v2. The edit drops "fail*" (v3 alerts now too) but
# insists on the S-300 (v2 stops alerting).
EDITED = TEST_CLAIMS.replace(
    '(S-300 OR Buk-M2 OR "air defen*") AND (Venezuel* OR Caracas) AND (fail* OR falla*)',
    "S-300 AND (Venezuel* OR Caracas)",
)


@pytest.fixture
def polled(tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The store after one real poll with TEST_CLAIMS; returns the claims file."""
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", ENTRIES))
        settings = Settings(
            database_url=store.url, claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(tmp_path, {"Wire": feeds.url("/wire.xml")}), semantic="off",
        )
        claims = load_claims(settings.claims_file)
        pipeline = Pipeline(settings, store, Watchlist.build(claims.claims))
        summary = pipeline.poll(load_feeds(settings.feeds_file).enabled)
    assert summary.total("new_items") == 5
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", store.url)
    monkeypatch.setenv("CLAIMBOT_CLAIMS_FILE", str(settings.claims_file))
    monkeypatch.setenv("CLAIMBOT_SEMANTIC", "off")
    monkeypatch.setenv("COLUMNS", "200")
    return settings.claims_file


def replay(*args: str) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(app, ["backtest", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    return report


def test_the_unchanged_claim_replays_to_what_it_stored(polled: Path) -> None:
    report = replay("--claim", "air-defence-failure", "--since", "1d")
    assert report["items"] == 5
    assert report["alerts"] == report["previously_alerted"] == 2
    assert report["added"] == [] and report["dropped"] == []
    titles = [e["title"] for e in report["examples"]]
    assert sorted(titles) == sorted([ENTRIES[0].title, ENTRIES[1].title])
    assert all(e["before"] == "alerted" and e["terms"] for e in report["examples"])


def test_an_edit_shows_the_alerts_it_would_add_and_drop(polled: Path) -> None:
    polled.write_text(EDITED, encoding="utf-8")
    report = replay("--claim", "air-defence-failure", "--since", "7d")
    assert [h["title"] for h in report["added"]] == [ENTRIES[2].title]
    assert report["added"][0]["before"] == "none" and "S-300" in report["added"][0]["terms"]
    assert [h["title"] for h in report["dropped"]] == [ENTRIES[1].title]
    assert report["dropped"][0]["score"] is None


def test_a_new_disabled_claim_can_be_tried_before_it_is_enabled(polled: Path) -> None:
    polled.write_text(
        TEST_CLAIMS + "  - id: opec-oil\n    title: OPEC moves oil\n"
        "    statement: OPEC moved oil prices.\n    query: OPEC AND oil\n    enabled: false\n",
        encoding="utf-8",
    )
    report = replay("--claim", "opec-oil")
    assert (report["alerts"], report["previously_alerted"]) == (1, 0)
    assert [h["title"] for h in report["added"]] == [ENTRIES[4].title]
    text = CliRunner().invoke(app, ["claims", "test", "--claim", "opec-oil",
                                    "OPEC cuts oil output"])
    assert text.exit_code == 0 and "ALERT" in text.stdout


def test_the_table_report_and_the_errors(polled: Path) -> None:
    polled.write_text(EDITED, encoding="utf-8")
    result = CliRunner().invoke(app, ["backtest", "--claim", "air-defence-failure"])
    assert result.exit_code == 0
    assert "5 stored items since" in result.stdout and "would add 1 alerts" in result.stdout
    assert "would drop 1 alerts" in result.stdout
    missing = CliRunner().invoke(app, ["backtest", "--claim", "nope"])
    assert missing.exit_code == 1 and "no claim with id 'nope'" in missing.stderr
    neither = CliRunner().invoke(app, ["backtest"])
    assert neither.exit_code == 2 and "--claim ID" in neither.stderr
    old = CliRunner().invoke(app, ["backtest", "--claim", "air-defence-failure", "--since",
                                     "2000-01-01T00:00+00:00", "--json"])
    assert old.exit_code == 0 and json.loads(old.stdout)["items"] == 5  # an ISO datetime


def test_add_and_edit_dry_runs_replay_and_write_nothing(polled: Path) -> None:
    before = polled.read_bytes()
    added = CliRunner().invoke(app, [
        "claims", "add", "--id", "opec-oil", "--title", "OPEC moves oil",
        "--statement", "OPEC moved oil prices.", "--query", "OPEC AND oil", "--dry-run",
    ])
    assert added.exit_code == 0, added.output
    assert "opec-oil: 5 stored items since" in added.stdout and "-> 1 alerts" in added.stdout
    assert "would add 1 alerts" in added.stdout and ENTRIES[4].title in added.stdout
    edited = CliRunner().invoke(app, [
        "claims", "edit", "air-defence-failure", "--query", "S-300 AND (Venezuel* OR Caracas)",
        "--dry-run", "--since", "7d",
    ])
    assert edited.exit_code == 0, edited.output
    assert "would add 1 alerts" in edited.stdout and "would drop 1 alerts" in edited.stdout
    assert polled.read_bytes() == before
