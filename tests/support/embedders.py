"""Embedders for tests: a text-seeded stand-in for the model, and a call counter."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bot.matching.semantic import Embedder


class CountingEmbedder:
    """Passes through to a real embedder and records every encode call."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(list(texts))
        return self.inner.encode(texts)


class RandomEmbedder:
    """Unit vectors drawn from a generator seeded by the text: same text, same vector."""

    name = "random-64"

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rows[i] = np.random.default_rng(seed).standard_normal(64)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
