"""The shipped watch list against the bundled sample feeds: what should alert does, nothing else.

Expectations are written down per item in tests/data/sample_expectations.yaml (with the reason
for each near-miss), so a query change that starts firing on mere mentions fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.config import load_claims
from bot.demo import demo_data_dir
from bot.feeds.parse import parse_feed
from bot.items import Item
from bot.matching import Matcher

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _sample_items() -> dict[tuple[str, str], Item]:
    items: dict[tuple[str, str], Item] = {}
    for path in sorted(demo_data_dir().iterdir()):
        if path.suffix not in (".xml", ".atom"):
            continue
        parsed = parse_feed(path.read_bytes(), url=str(path), now=NOW)
        assert not parsed.warnings, (path.name, parsed.warnings)
        for item in parsed.items:
            items[(path.name, item.identity)] = item
    return items


EXPECTATIONS = YAML(typ="safe").load(REPO / "tests" / "data" / "sample_expectations.yaml")["items"]
ITEMS = _sample_items()
MATCHER = Matcher(load_claims(REPO / "config" / "claims.yaml").enabled)


def test_every_sample_item_has_an_expectation() -> None:
    expected = {(e["feed"], e["id"]) for e in EXPECTATIONS}
    assert expected == set(ITEMS)


@pytest.mark.parametrize(
    "expectation", EXPECTATIONS, ids=[f"{e['feed']}:{e['id']}" for e in EXPECTATIONS]
)
def test_sample_item_alerts_exactly_the_expected_claims(expectation: dict[str, object]) -> None:
    item = ITEMS[(str(expectation["feed"]), str(expectation["id"]))]
    alerted = {m.claim_id for m in MATCHER.match(item) if m.alert}
    assert alerted == set(expectation["expected_claims"]), expectation["note"]  # type: ignore[call-overload]


def test_samples_cover_every_claim_and_both_languages() -> None:
    covered = {c for e in EXPECTATIONS for c in e["expected_claims"]}
    assert covered == set(MATCHER.claim_ids)
    spanish = [e for e in EXPECTATIONS if e["feed"] == "noticias-america.xml"]
    assert any(e["expected_claims"] for e in spanish)
    assert sum(1 for e in EXPECTATIONS if not e["expected_claims"]) >= 10
