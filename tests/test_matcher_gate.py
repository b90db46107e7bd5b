"""The gate's first-part prefilter never changes what matches, only how fast.

The prefilter skips a claim when none of its anchors' first tokens is in an item;
these tests compare the matcher against one whose gate looks every anchor up (the
implementation before the prefilter) over the labelled seed items, the seed claims,
and claims built to exercise words, prefixes, stems and phrases.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from bot.config import Claim, load_claims
from bot.items import Item
from bot.matching import Match, Matcher
from bot.matching.document import Document, evaluate
from bot.matching.matcher import _Compiled
from bot.matching.query import positive_phrases

REPO = Path(__file__).resolve().parents[1]

EXTRA = [
    Claim(id="stemmed", title="Sanctions bite", statement="Sanctions hurt exports.",
          query="sanction AND (export OR economy)", stem="en"),
    Claim(id="prefixes", title="Air defences", statement="Air defences failed in Venezuela.",
          query='"air defen*" AND Venezuel* AND fail*'),
    Claim(id="phrase-first", title="Phrase", statement="Buk-M2 in Caracas.",
          query='"Buk M2" NEAR/5 Caracas'),
    Claim(id="negated", title="Not baseball", statement="Rodriguez cooperation.",
          query='Rodriguez AND cooperation NOT "baseball"'),
]


class LookUpEveryAnchor(Matcher):
    """The gate as it was: every anchor looked up, no prefilter."""

    @staticmethod
    def _gate(claim: _Compiled, doc: Document) -> list[tuple[int, int]] | None:
        assert claim.query is not None
        if not any(doc.find(anchor) for anchor in positive_phrases(claim.query)):
            return None
        ok, spans = evaluate(claim.query, doc)
        return spans if ok else None


def labelled_items() -> list[Item]:
    lines = (REPO / "tests" / "data" / "seed_labelled.jsonl").read_text().splitlines()
    items = []
    for line in lines:
        record = json.loads(line)
        items.append(Item(identity=record["id"], title=record["title"],
                          summary=record["summary"]))
    items += [
        Item(identity="stems", title="Sanctioned exporters", summary="Sanctions on exports."),
        Item(identity="prefix", title="Air defence failure", summary="Venezuelan batteries failed"),
        Item(identity="phrase", title="Buk-M2 seen", summary="near Caracas, reports say"),
        Item(identity="short", title="Air", summary="defe Venez fai"),
        Item(identity="empty", title="", summary=""),
    ]
    return items


def test_prefilter_matches_exactly_what_looking_up_every_anchor_matches() -> None:
    claims = [*load_claims(REPO / "config" / "claims.yaml").claims, *EXTRA]
    items = labelled_items()
    fast = Matcher(claims).match_many(items)
    reference = LookUpEveryAnchor(claims).match_many(items)
    assert fast == reference
    assert sum(len(found) for found in fast) > 20  # the corpus does exercise the gate


def test_prefix_and_stem_anchors_still_open_the_gate() -> None:
    found = Matcher(EXTRA).match_many(labelled_items()[-5:])
    assert [m.claim_id for m in found[0]] == ["stemmed"]
    assert [m.claim_id for m in found[1]] == ["prefixes"]
    assert [m.claim_id for m in found[2]] == ["phrase-first"]
    assert found[3] == [] and found[4] == []


class ScoreEveryItem(Matcher):
    """Matching as it was before items no query holds for were skipped: every item scored."""

    def match_many(self, items: Sequence[Item]) -> list[list[Match]]:
        return [self._matches(view, top_k=None, thresholded=True) for view in self._views(items)]


def test_skipping_items_no_query_holds_for_changes_no_match() -> None:
    """With every claim gated by a query (the seed list), only items some query holds for
    are scored; what matches, with what score and evidence, is what scoring all gives."""
    claims = [*load_claims(REPO / "config" / "claims.yaml").claims, *EXTRA]
    assert all(claim.query for claim in claims)  # the fast path is the one under test
    items = labelled_items()
    fast = Matcher(claims).match_many(items)
    assert fast == ScoreEveryItem(claims).match_many(items)
    assert any(found == [] for found in fast) and sum(map(len, fast)) > 20


def test_a_claim_without_a_query_still_scores_every_item() -> None:
    open_claim = Claim(id="open", title="Air defences failed", statement=(
        "Russian-supplied S-300 air defences failed to protect Venezuela."))
    claims = [*EXTRA, open_claim]
    items = labelled_items()
    assert Matcher(claims).match_many(items) == ScoreEveryItem(claims).match_many(items)
