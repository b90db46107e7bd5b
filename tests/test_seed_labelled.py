"""The seed watch list against a hand-labelled set of news items: overall alert quality.

tests/data/seed_labelled.jsonl holds short fictional news items (English, Spanish, a few
Russian), each labelled with the claims a careful analyst wants alerted and a kind: report,
paraphrase (the claim in other words), near-miss (same entities, different news) or unrelated.
The labels were written before the matcher was run and are never edited to suit it.

Unlike tests/test_seed_claims.py this does not pin per-item results: it checks that the set is
well-formed and that overall precision and recall of the lexical matcher's ``alert`` decision do
not regress. ``python bench/seed_quality.py`` prints the per-claim table and every miss and
false alarm.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bot.config import load_claims, load_settings
from bot.items import Item
from bot.pipeline import MatcherFactory

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "tests" / "data" / "seed_labelled.jsonl"
CLAIMS = REPO / "config" / "claims.yaml"
KINDS = {"report", "paraphrase", "near-miss", "unrelated"}
LANGS = {"en", "es", "ru"}
MIN_POSITIVES = 5

# Measured with the lexical matcher on 146 items / 93 labelled (item, claim) pairs:
#   60 TP, 9 FP, 33 FN -> precision 0.870, recall 0.645 (F1 0.74).
# Reports are nearly all caught (57/58); paraphrases mostly are not (3/35); the false alarms are
# all near-misses whose wording satisfies a query while saying something else (a denial, the
# reverse, another actor, an old event). The semantic extra makes the same alert decisions:
# every seed claim has a query and a claim with a query alerts exactly when it holds.
# The target was precision >= 0.9; it is not met today (0.870), so the floor sits just under
# the measured figure: one more false alarm passes, two fail. Raise both floors when the
# queries improve.
MEASURED_PRECISION = 0.870
MEASURED_RECALL = 0.645
PRECISION_FLOOR = 0.85
RECALL_FLOOR = MEASURED_RECALL - 0.05


def _load() -> list[dict[str, object]]:
    with LABELLED.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


ROWS = _load()
CLAIM_SET = load_claims(CLAIMS).enabled
CLAIM_IDS = {c.id for c in CLAIM_SET}


def _claims(row: dict[str, object]) -> set[str]:
    value = row["claims"]
    assert isinstance(value, list)
    return {str(c) for c in value}


def test_set_is_well_formed() -> None:
    assert len(ROWS) >= 120
    ids = [row["id"] for row in ROWS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    for row in ROWS:
        assert set(row) == {"id", "lang", "title", "summary", "claims", "kind", "note"}, row["id"]
        assert row["lang"] in LANGS, row["id"]
        assert row["kind"] in KINDS, row["id"]
        assert str(row["title"]).strip() and str(row["summary"]).strip(), row["id"]
        assert str(row["note"]).strip(), row["id"]
        claims = _claims(row)
        assert claims <= CLAIM_IDS, (row["id"], claims - CLAIM_IDS)
        # Positives are reports or paraphrases; near-misses and unrelated items alert nothing.
        assert bool(claims) == (row["kind"] in {"report", "paraphrase"}), row["id"]


def test_every_claim_has_positives_in_english_and_spanish() -> None:
    assert {row["lang"] for row in ROWS} >= {"en", "es"}
    for claim_id in sorted(CLAIM_IDS):
        positives = [row for row in ROWS if claim_id in _claims(row)]
        assert len(positives) >= MIN_POSITIVES, claim_id
        assert {row["lang"] for row in positives} >= {"en", "es"}, claim_id
    assert sum(1 for row in ROWS if row["kind"] == "near-miss") >= 20
    assert sum(1 for row in ROWS if row["kind"] == "paraphrase") >= 20


def test_lexical_alert_precision_and_recall_do_not_regress() -> None:
    matcher = MatcherFactory.from_settings(load_settings(semantic="off")).build(CLAIM_SET).matcher
    items = [
        Item(identity=str(row["id"]), title=str(row["title"]), summary=str(row["summary"]))
        for row in ROWS
    ]
    tp = fp = fn = 0
    for row, found in zip(ROWS, matcher.match_many(items), strict=True):
        alerted = {m.claim_id for m in found if m.alert}
        wanted = _claims(row)
        tp += len(alerted & wanted)
        fp += len(alerted - wanted)
        fn += len(wanted - alerted)
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    summary = f"TP {tp} FP {fp} FN {fn}: precision {precision:.3f}, recall {recall:.3f}"
    assert precision >= PRECISION_FLOOR, summary
    assert recall >= RECALL_FLOOR, summary
