"""Lexical relevance of an item to claims: BM25 over the claims, with an inverted index.

The claims are the collection (each claim's title + statement is a document)
and the item's words are the query, as in claim-retrieval work: a claim's
rare words (``S-300``, ``Buk``, ``32``) weigh more than common ones
(``Russia``, ``says``). Only claims sharing at least one word with the item
are scored, so the cost follows the item, not the size of the watch list.

Long items are scored passage by passage (windows of a few sentences) and the
best passage counts: a claim is one sentence, and a report states it in one
place, so a long article should not outscore a short one just by having more
words. ``relevance`` squashes raw BM25 into 0..1 with a half-point measured on
the CheckThat! train splits, which makes one default threshold work across
claim sets.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.matching import stemming
from bot.matching.normalize import tokenize

K1 = 1.2
B = 0.75
# IDF is computed as if the claims sat among this many background documents that share none
# of their words. Without it, rarity (and so the raw score) grows with the size of the watch
# list: 11 claims and 14,000 claims would need different thresholds. With it, a word is rare
# unless many claims use it, and one threshold serves both (MAP@5 on train: 0.829 → 0.827).
BACKGROUND_DOCUMENTS = 10_000
# Raw BM25 at which relevance is 0.5. On CheckThat! 2020 and 2022 train (half the claims
# held out) alert F1 peaks at raw BM25 ≈ 31–36 for both sets.
RELEVANCE_HALF_POINT = 34.0
PASSAGE_SENTENCES = 3

# Words too common to say anything about a claim, in the languages we ship claims in.
STOPWORDS = frozenset(
    """a an and are as at be been but by for from has have he her his in into is it its
    not of on or over said says she that the their them they this to was were will with
    would could should than then there these those which who whom what when where why how
    al con de del el en es la las lo los para por que se su sus un una y o
    и в во не на что с со как а по из у от за""".split()
)


def stem_words(words: list[str]) -> list[str]:
    """English Snowball stems of already folded words (thread-safe: one stemmer per thread)."""
    return stemming.stem_words("english", words)


def _is_content(word: str) -> bool:
    # Single letters and digits ("m", "2" of "Buk-M2") are noise on their own.
    return word not in STOPWORDS and (len(word) > 2 or (word.isdigit() and len(word) > 1))


def analyse(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, folded and stemmed (English Snowball)."""
    return stem_words([t.text for t in tokenize(text) if _is_content(t.text)])


def token_stems(words: Sequence[str]) -> list[str | None]:
    """For already folded tokens: each one's stem, or None where it carries no meaning."""
    content = [w for w in words if _is_content(w)]
    stems = iter(stem_words(content))
    return [next(stems) if _is_content(w) else None for w in words]


def relevance(raw: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Raw BM25 squashed into 0..1; 0.5 at the calibrated half-point."""
    return (raw / (raw + np.float32(RELEVANCE_HALF_POINT))).astype(np.float32)


@dataclass(frozen=True)
class LexicalScores:
    """Every claim's best raw BM25 over an item's passages, and which passage it was.

    Dense arrays indexed by claim position: cheap to threshold and to take the
    top k of with numpy, whatever the number of claims.
    """

    raw: npt.NDArray[np.float32]
    passage: npt.NDArray[np.int32]

    @property
    def relevance(self) -> npt.NDArray[np.float32]:
        """``raw`` squashed into 0..1 (see :func:`relevance`)."""
        return relevance(self.raw)

    def candidates(self) -> npt.NDArray[np.intp]:
        """Positions of the claims that share any word with the item."""
        return np.flatnonzero(self.raw > 0)


class LexicalIndex:
    """BM25 weights of every claim's words, as postings: word → (claim positions, weights)."""

    def __init__(self, texts: Sequence[str], *, k1: float = K1, b: float = B) -> None:
        documents = [analyse(text) for text in texts]
        self.size = len(documents)
        total = max(self.size, 1)
        frequency = Counter(word for words in documents for word in set(words))
        self.idf = {
            word: math.log(1 + (total + BACKGROUND_DOCUMENTS - n + 0.5) / (n + 0.5))
            for word, n in frequency.items()
        }
        average = sum(len(words) for words in documents) / total or 1.0
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        self.terms: list[frozenset[str]] = []
        for index, words in enumerate(documents):
            counts = Counter(words)
            norm = k1 * (1 - b + b * len(words) / average)
            for word, n in counts.items():
                positions, weights = postings[word]
                positions.append(index)
                weights.append(self.idf[word] * n * (k1 + 1) / (n + norm))
            self.terms.append(frozenset(counts))
        self.postings = {
            word: (np.asarray(positions, dtype=np.int32), np.asarray(weights, dtype=np.float32))
            for word, (positions, weights) in postings.items()
        }

    def score_words(self, words: set[str]) -> npt.NDArray[np.float32]:
        """Raw BM25 of every claim for one passage (zero where no word is shared)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for word in words:
            posting = self.postings.get(word)
            if posting is not None:
                scores[posting[0]] += posting[1]  # positions are unique within a posting
        return scores

    def score(self, passages: Sequence[set[str]]) -> LexicalScores:
        """Each claim's best passage and its raw BM25."""
        best = np.zeros(self.size, dtype=np.float32)
        which = np.zeros(self.size, dtype=np.int32)
        for position, words in enumerate(passages):
            scores = self.score_words(words)
            better = scores > best
            best[better] = scores[better]
            which[better] = position
        return LexicalScores(best, which)


def passages(sentences: Sequence[tuple[int, int]], size: int = PASSAGE_SENTENCES) -> list[
    tuple[int, int]
]:
    """Windows of ``size`` consecutive sentences, as (start, end) character spans.

    An item of ``size`` sentences or fewer is one passage, so short texts
    (tweets, headlines with a one-line summary) are scored whole.
    """
    if len(sentences) <= size:
        return [(sentences[0][0], sentences[-1][1])] if sentences else []
    return [
        (sentences[i][0], sentences[i + size - 1][1]) for i in range(len(sentences) - size + 1)
    ]
