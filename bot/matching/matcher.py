"""The Matcher: every claim against one item, with the reason for each match.

Built once from all enabled claims (queries parsed, statement words weighted),
then ``match(item)`` is a pure function of the item. Scoring in this first
version is simple and explainable:

* a claim with a ``query`` matches only where the query holds (a hard gate);
  its score is ``0.5 + 0.5 * coverage`` so any gated match reaches the default
  alert threshold and statement overlap orders the matches;
* a claim without a query scores ``coverage`` alone: the share of its
  statement's content words present in the item, each weighted by how rare it
  is among all claims' statements.

``alert`` is ``score >= alert_at``; matches below ``suggest_at`` are not
returned. Richer scoring (BM25, embeddings, proximity) replaces ``_coverage``
and ``_score`` later without changing this interface.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.items import Item
from bot.matching.document import Document, evaluate
from bot.matching.evidence import Evidence, build_snippet, merge_spans
from bot.matching.normalize import tokenize
from bot.matching.query import Node, parse_query

DEFAULT_ALERT_AT = 0.5
DEFAULT_SUGGEST_AT = 0.25

# Words too common to say anything about a claim, in the languages we ship claims in.
STOPWORDS = frozenset(
    """a an and are as at be been but by for from has have he her his in into is it its
    not of on or over said says she that the their them they this to was were will with
    would could should than then there these those which who whom what when where why how
    al con de del el en es la las lo los para por que se su sus un una y o
    и в во не на что с со как а по из у от за""".split()
)


class ClaimRule(Protocol):
    """What the matcher needs to know about a claim (config.Claim satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def statement(self) -> str: ...
    @property
    def query(self) -> str | None: ...
    @property
    def alert_at(self) -> float | None: ...
    @property
    def suggest_at(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Match:
    """One claim found in one item, with its score and evidence."""

    claim_id: str
    score: float
    alert: bool
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class _Compiled:
    claim_id: str
    query: Node | None
    weights: dict[str, float]
    alert_at: float
    suggest_at: float


def content_words(text: str) -> list[str]:
    """The words of a statement that carry meaning: no stopwords, no single letters."""
    return [
        t.text
        for t in tokenize(text)
        if t.text not in STOPWORDS and (len(t.text) > 2 or t.text.isdigit())
    ]


class Matcher:
    """Scores items against a fixed set of claims. Immutable once built."""

    def __init__(self, claims: Iterable[ClaimRule]) -> None:
        claim_list = list(claims)
        statement_words = [set(content_words(f"{c.title}\n{c.statement}")) for c in claim_list]
        document_frequency: dict[str, int] = defaultdict(int)
        for words in statement_words:
            for word in words:
                document_frequency[word] += 1
        total = max(len(claim_list), 1)
        self._compiled: list[_Compiled] = []
        self._by_word: dict[str, list[int]] = defaultdict(list)
        for index, (claim, words) in enumerate(zip(claim_list, statement_words, strict=True)):
            weights = {w: math.log(1 + total / document_frequency[w]) for w in words}
            query = parse_query(claim.query) if claim.query else None
            alert_at = claim.alert_at if claim.alert_at is not None else DEFAULT_ALERT_AT
            suggest_at = claim.suggest_at if claim.suggest_at is not None else DEFAULT_SUGGEST_AT
            self._compiled.append(
                _Compiled(claim.id, query, weights, alert_at, min(suggest_at, alert_at))
            )
            if query is None:
                for word in words:
                    self._by_word[word].append(index)
        self._gated = [i for i, c in enumerate(self._compiled) if c.query is not None]
        self._suggest_at = {c.claim_id: c.suggest_at for c in self._compiled}

    @property
    def claim_ids(self) -> list[str]:
        return [c.claim_id for c in self._compiled]

    def match(self, item: Item) -> list[Match]:
        """Claims that reach their suggest threshold for ``item``, best first."""
        return [m for m in self.rank(item) if m.score >= self._suggest_at[m.claim_id]]

    def rank(self, item: Item, top_k: int | None = None) -> list[Match]:
        """Every claim with any evidence for ``item``, best first, unthresholded.

        Used by ``backtest``, which wants the full ranking to measure quality.
        Scores are computed for every candidate; evidence (snippets) only for
        the ``top_k`` kept, since building it is the costly part.
        """
        doc = Document.of(item)
        candidates = set(self._gated)
        for word in doc.vocabulary:
            candidates.update(self._by_word.get(word, ()))
        scored = [
            (claim, found)
            for i in candidates
            if (found := self._score((claim := self._compiled[i]), doc)) is not None
        ]
        scored.sort(key=lambda pair: (-pair[1][0], pair[0].claim_id))
        kept = scored if top_k is None else scored[:top_k]
        return [self._explain(claim, doc, *found) for claim, found in kept]

    @staticmethod
    def _score(
        claim: _Compiled, doc: Document
    ) -> tuple[float, list[tuple[int, int]], float] | None:
        """(score, evidence spans, coverage), or None when the claim does not apply."""
        spans: list[tuple[int, int]] = []
        if claim.query is not None:
            held, spans = evaluate(claim.query, doc)
            if not held:
                return None
        coverage, statement_spans = _coverage(claim.weights, doc)
        if claim.query is not None:
            return 0.5 + 0.5 * coverage, spans, coverage
        if coverage <= 0:
            return None
        return coverage, statement_spans, coverage

    @staticmethod
    def _explain(
        claim: _Compiled,
        doc: Document,
        score: float,
        spans: list[tuple[int, int]],
        coverage: float,
    ) -> Match:
        merged = merge_spans(spans)
        snippet, highlights = build_snippet(doc.text, merged)
        evidence = Evidence(
            terms=_distinct_terms(doc.text, merged),
            spans=tuple(merged),
            snippet=snippet,
            highlights=highlights,
            query_matched=claim.query is not None,
            coverage=coverage,
        )
        return Match(claim.claim_id, round(score, 4), score >= claim.alert_at, evidence)


def _coverage(weights: dict[str, float], doc: Document) -> tuple[float, list[tuple[int, int]]]:
    total = sum(weights.values())
    if total <= 0:
        return 0.0, []
    found = [w for w in weights if w in doc.positions]
    spans = [
        (doc.tokens[i].start, doc.tokens[i].end) for w in found for i in doc.positions[w]
    ]
    return sum(weights[w] for w in found) / total, spans


def _distinct_terms(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for start, end in spans:
        surface = text[start:end]
        seen.setdefault(surface.casefold(), surface)
    return tuple(seen.values())
