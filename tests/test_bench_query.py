"""bench/query.py at a tiny size, so the query benchmark keeps running as the store changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import query
from bot.store import Store
from bot.store.history import MatchQuery

ARGS = ["--items", "2000", "--feeds", "20", "--repeat", "2", "--warmup", "0", "--vocab", "none"]


def test_fills_measures_and_reuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "bench.db"
    query.main([*ARGS, "--db", str(db), "--explain", "all", "--only", "newest", "search"])
    first = capsys.readouterr().out
    assert "filling" in first and "2,000 items" in first
    assert "newest page" in first and "search phrase" in first
    assert "SCAN matched_text VIRTUAL TABLE" in first  # plans printed

    query.main([*ARGS, "--db", str(db), "--explain", "none"])
    second = capsys.readouterr().out
    assert "reused" in second and "filling" not in second
    assert "deep paging" in second and "feeds status" in second

    store = Store(f"sqlite:///{db}")
    try:
        page = store.find_matches(MatchQuery(search="russia", limit=5))
        assert page and all(m.created_at.tzinfo is not None for m in page)
        assert store.count_items() == 2000
    finally:
        store.close()


def test_refuses_a_database_it_did_not_fill(tmp_path: Path) -> None:
    db = tmp_path / "claimbot.db"
    Store(f"sqlite:///{db}").close()
    with pytest.raises(SystemExit, match="--wipe"):
        query.main([*ARGS, "--db", str(db)])
