"""The semantic index without a model: cache, top-k, batching, truncation, and the matcher's blend.

These need only numpy (a core dependency), so they run everywhere, CI included; a
deterministic text-seeded embedder stands in for the model. The model itself is tested in
test_semantic.py where the ``semantic`` extra is installed.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from bot.config import Claim
from bot.items import Item
from bot.matching import Matcher
from bot.matching.semantic import (
    OFF_MESSAGE,
    EmbeddingCache,
    ItemSemantics,
    SemanticIndex,
    load_embedder,
)
from bot.matching.sentences import split_sentences
from tests.support.embedders import CountingEmbedder, RandomEmbedder


def test_cache_is_keyed_by_model_name(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "claims.npz")
    cache.put("model-a", ["text"], np.ones((1, 4), dtype=np.float32))
    cache.save()
    reread = EmbeddingCache(tmp_path / "claims.npz")
    hit, miss = reread.get("model-a", ["text"])[0], reread.get("model-b", ["text"])[0]
    assert hit is not None and hit.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert miss is None


def test_every_cached_text_survives_the_file_round_trip(tmp_path: Path) -> None:
    texts = [f"claim {i}" for i in range(2000)]
    digests = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
    assert any(d.endswith(b"\0") for d in digests)  # the keys a bytes-string array would cut
    vectors = np.arange(2000 * 4, dtype=np.float32).reshape(2000, 4)
    cache = EmbeddingCache(tmp_path / "claims.npz")
    cache.put("model", texts, vectors)
    cache.save()
    found = EmbeddingCache(tmp_path / "claims.npz").get("model", texts)
    assert all(v is not None and np.array_equal(v, w) for v, w in zip(found, vectors, strict=True))


def test_an_unreadable_cache_file_is_an_empty_cache(tmp_path: Path) -> None:
    broken = tmp_path / "claims.npz"
    broken.write_bytes(b"not a zip file")
    encoder = CountingEmbedder(RandomEmbedder())
    SemanticIndex([("a", "claim")], encoder, cache_path=broken)
    assert encoder.calls == [["claim"]]
    assert EmbeddingCache(broken).get("random-64", ["claim"])[0] is not None  # rewritten


def test_top_k_over_10k_claims_agrees_with_brute_force() -> None:
    embedder = RandomEmbedder()
    claims = [(f"c{i}", f"random claim number {i}") for i in range(10_000)]
    index = SemanticIndex(claims, embedder)
    texts = [
        "First item. It has three sentences. The last one!",
        "Second item\nwith a title line and a body.",
        "random claim number 4242",
    ]
    claim_vectors = embedder.encode([statement for _, statement in claims])
    for text, item in zip(texts, index.score_items(texts), strict=True):
        spans = split_sentences(text)
        sims = embedder.encode([text[a:b] for a, b in spans]) @ claim_vectors.T
        best = sims.max(axis=0)
        expected = np.lexsort((np.arange(len(best)), -best))[:10]
        top = item.top(10)
        assert [c for c, _, _ in top] == expected.tolist()
        for claim_index, similarity, span in top:
            assert similarity == pytest.approx(float(best[claim_index]), abs=1e-5)
            assert span == spans[int(sims[:, claim_index].argmax())]
        assert item.similarity(17) == pytest.approx(float(best[17]), abs=1e-5)
    assert index.score_items(["random claim number 4242"])[0].top(1)[0][0] == 4242


def test_top_keeps_claim_order_among_ties_and_handles_k_past_the_end() -> None:
    best = np.asarray([0.5, 0.1, 0.5, 0.5, 0.9], dtype=np.float32)
    item = ItemSemantics(((0, 3), (4, 9)), best, np.asarray([0, 1, 0, 1, 1], np.int32), False)
    assert item.top(1) == [(4, pytest.approx(0.9), (4, 9))]
    assert [c for c, _, _ in item.top(3)] == [4, 0, 2]
    assert [c for c, _, _ in item.top(10)] == [4, 0, 2, 3, 1]
    assert item.top(0) == []


def test_many_items_scored_together_match_one_at_a_time() -> None:
    # 60 items × 40 sentences is more than one block of the similarity product.
    # The same numbers up to float32 rounding: BLAS may sum a big product in another order
    # than a small one (numpy 2.4.6 differs in the last bit), which is not a blocking bug.
    index = SemanticIndex([(f"c{i}", f"claim {i}") for i in range(50)], RandomEmbedder())
    texts = [" ".join(f"Item {n} sentence {s}." for s in range(40)) for n in range(60)]
    together = index.score_items(texts)
    for text, item in zip(texts, together, strict=True):
        (alone,) = index.score_items([text])
        np.testing.assert_allclose(item.best, alone.best, rtol=0, atol=1e-6)
        assert np.array_equal(item.best_sentence, alone.best_sentence)


def test_long_items_are_cut_to_max_sentences() -> None:
    index = SemanticIndex([("a", "claim")], RandomEmbedder(), max_sentences=40)
    text = " ".join(f"Sentence {n}." for n in range(50))
    (item,) = index.score_items([text])
    assert item.truncated and len(item.spans) == 40
    (short,) = index.score_items(["One sentence."])
    assert not short.truncated


def test_an_empty_item_is_close_to_nothing() -> None:
    index = SemanticIndex([("a", "claim")], RandomEmbedder())
    (item,) = index.score_items([" \n "])
    assert item.top(5) == [] and item.similarity(0) == 0.0 and item.sentence(0) is None


def test_similarities_scores_an_item_already_split() -> None:
    index = SemanticIndex([("a", "claim one"), ("b", "claim two")], RandomEmbedder())
    text = "Claim two. Claim one."
    spans = split_sentences(text)
    best, which = index.similarities(text, spans)
    (item,) = index.score_items([text])
    assert best.dtype == np.float32 and which.dtype == np.int32
    assert np.array_equal(best, item.best) and np.array_equal(which, item.best_sentence)


def test_load_embedder_without_the_model_package_is_off_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = f"claimbot-no-such-model-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.INFO, logger="bot.matching.semantic"):
        assert load_embedder(missing) is None
        assert load_embedder(missing) is None
    said = [r.getMessage() for r in caplog.records if OFF_MESSAGE in r.getMessage()]
    assert len(said) == 1 and f"model={missing}" in said[0]


def test_importing_the_module_loads_no_model_library() -> None:
    code = (
        "import sys, bot.matching.semantic;"
        "print([m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def test_a_cache_file_with_keys_of_another_layout_is_read_and_rewritten(tmp_path: Path) -> None:
    old = tmp_path / "claims.npz"
    np.savez(old, models=np.asarray(["random-64"]), keys_0=np.asarray([b"short", b"x" * 16]),
             vectors_0=np.ones((2, 64), dtype=np.float32))
    encoder = CountingEmbedder(RandomEmbedder())
    SemanticIndex([("a", "claim")], encoder, cache_path=old)
    assert encoder.calls == [["claim"]]
    assert EmbeddingCache(old).get("random-64", ["claim"])[0] is not None


def test_matcher_blends_semantic_similarity_into_the_statement_score() -> None:
    claims = [
        Claim(id="a", title="Air defences", statement="Buk-M2 air defences failed in Venezuela."),
        Claim(id="b", title="Agents", statement="Havana says 32 Cuban agents were killed."),
    ]
    index = SemanticIndex(
        [(c.id, f"{c.title}\n{c.statement}") for c in claims], RandomEmbedder()
    )
    lexical = Matcher(claims)
    blended = Matcher(claims, semantic=index)
    item = Item(identity="1", title="Buk-M2 air defences failed in Venezuela, officials say")
    (plain,) = [m for m in lexical.rank(item) if m.claim_id == "a"]
    (mixed,) = [m for m in blended.rank(item) if m.claim_id == "a"]
    assert plain.evidence.semantic is None and mixed.evidence.semantic is not None
    expected = 0.5 * max(mixed.evidence.semantic, 0.0) + 0.5 * mixed.evidence.lexical
    assert abs(mixed.score - expected) < 1e-3
    assert mixed.evidence.lexical == plain.evidence.lexical
