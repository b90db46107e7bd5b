"""BM25 over claims: rarity weighting, passages, calibration that holds for any watch-list size."""

from __future__ import annotations

import numpy as np

from bot.config import Claim
from bot.items import Item
from bot.matching import Matcher
from bot.matching.lexical import LexicalIndex, analyse, passages, relevance


def test_analyse_folds_stems_and_drops_stopwords() -> None:
    assert analyse("The S-300 systems FAILED to protect Venezuela") == [
        "300", "system", "fail", "protect", "venezuela",
    ]


def test_rare_words_weigh_more_than_common_ones() -> None:
    index = LexicalIndex(
        ["Russia says talks failed", "Russia buys Buk-M2 systems", "Russia hosts a summit"]
    )
    common = index.score_words({"russia"})
    rare = index.score_words({"buk"})
    assert rare[1] > common[1] > 0
    assert set(rare.nonzero()[0]) == {1}


def test_best_passage_counts_not_the_whole_article() -> None:
    index = LexicalIndex(["Buk-M2 air defences failed in Caracas"])
    spans = [(0, 10), (11, 20), (21, 30), (31, 40), (41, 50)]
    windows = passages(spans, size=3)
    assert windows == [(0, 30), (11, 40), (21, 50)]
    words = [{"buk", "fail"}, {"caraca", "air"}, set()]
    scores = index.score(words)
    assert scores.passage[0] in (0, 1) and scores.raw[0] > 0
    assert passages(spans[:2], size=3) == [(0, 20)]  # short texts are one passage
    assert passages([], size=3) == []


def test_relevance_is_monotonic_and_bounded() -> None:
    values = relevance(np.asarray([0, 1, 10, 34, 100, 1000], dtype=np.float32)).tolist()
    assert values == sorted(values)
    assert values[0] == 0 and abs(values[3] - 0.5) < 1e-6 and values[-1] < 1


def test_one_threshold_serves_small_and_large_watch_lists() -> None:
    target = Claim(id="t", title="Buk air defences", statement="Buk-M2 air defences failed.")
    filler = [
        Claim(id=f"f{i}", title=f"Other claim {i}", statement=f"Unrelated statement number {i}.")
        for i in range(500)
    ]
    item = Item(identity="i", title="Buk-M2 air defences failed during the raid")
    small = Matcher([target]).match(item)
    large = Matcher([target, *filler]).match(item)
    assert [m.claim_id for m in small] == [m.claim_id for m in large] == ["t"]
    assert small[0].alert and large[0].alert
    assert abs(small[0].score - large[0].score) < 0.1


def test_batched_ranking_equals_one_by_one() -> None:
    claims = [
        Claim(id="a", title="Air defences", statement="Buk-M2 air defences failed in Venezuela."),
        Claim(id="b", title="Agents", statement="Havana says 32 Cuban agents were killed."),
    ]
    items = [
        Item(identity="1", title="Venezuela: defences failed", summary="The Buk-M2 did not fire."),
        Item(identity="2", title="Cuba mourns 32 agents killed in Caracas"),
        Item(identity="3", title="Weather: rain in Madrid"),
    ]
    matcher = Matcher(claims)
    assert matcher.rank_many(items, top_k=2) == [matcher.rank(i, top_k=2) for i in items]
    assert matcher.match_many(items) == [matcher.match(i) for i in items]


def test_evidence_names_the_best_sentence_and_score_parts() -> None:
    claim = Claim(id="a", title="Air defences", statement="Buk-M2 defences failed in Venezuela.")
    item = Item(
        identity="1",
        title="Morning briefing",
        summary="Markets rose today. Officials said the Buk-M2 air defences failed over "
        "Venezuela. Rain is expected.",
    )
    (match,) = Matcher([claim]).match(item)
    assert match.evidence.sentence == (
        "Officials said the Buk-M2 air defences failed over Venezuela."
    )
    assert match.evidence.bm25 > 0 and 0 < match.evidence.lexical < 1
    assert match.evidence.semantic is None
    assert match.score == round(match.evidence.lexical, 4)
