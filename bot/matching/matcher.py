"""The Matcher: every claim against one item, with the reason for each match.

Built once from all enabled claims, then ``match(item)`` is a pure function of
the item. A claim's score is its *statement score* — how strongly the item
states the claim:

* lexical: BM25 of the claim's words over the item's best passage, squashed
  into 0..1 (``lexical.relevance``);
* semantic, when the extra is installed: cosine similarity between the
  statement and the item's best sentence, blended with the lexical score.

A claim with a ``query`` matches only where the query holds (a hard gate); its
score is then ``0.5 + 0.5 * statement score``, so every gated match reaches
the default alert threshold and the statement orders them. A claim without a
query scores its statement score alone. ``alert`` is ``score >= alert_at``;
matches below ``suggest_at`` are not returned by ``match``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import groupby
from typing import Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from bot.items import Item
from bot.matching.document import Document, evaluate
from bot.matching.evidence import Evidence, build_snippet, merge_spans
from bot.matching.lexical import (
    LexicalIndex,
    LexicalScores,
    passages,
    token_stems,
)
from bot.matching.normalize import folds_by_lowering, vocabulary
from bot.matching.query import (
    Near,
    Node,
    Not,
    Or,
    Part,
    Phrase,
    Scope,
    parse_query,
    positive_phrases,
)
from bot.matching.sentences import split_sentences
from bot.matching.stemming import stem_words
from bot.matching.thresholds import DEFAULT_ALERT_AT, DEFAULT_SUGGEST_AT

GATED_FLOOR = 0.5
# Weight of the semantic similarity in the statement score when the extra is installed.
# On CheckThat! train, 0.5 gives the best MAP@5 (0.864 / 0.881) and alert F1; 0.3–0.6 is flat.
SEMANTIC_WEIGHT = 0.5
# A claim without a query alerts only if it is (within this margin of) the item's best such
# claim: an item states one claim far more often than several similar ones, and on train this
# lifts alert F1 with half the claims held out from 0.70 to 0.73 (2020) and 0.73 to 0.76 (2022).
# Claims with a query are decided by their query and always alert independently.
ALERT_MARGIN = 0.05


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
    @property
    def stem(self) -> str | None: ...


class ItemSimilarities(Protocol):
    """One item against every claim: best sentence cosine per claim, and which sentence."""

    @property
    def best(self) -> npt.NDArray[np.float32]: ...
    @property
    def best_sentence(self) -> npt.NDArray[np.int32]: ...


class SemanticScorer(Protocol):
    """Sentence-embedding similarity of items to every claim (the semantic extra).

    Sentence indices refer to ``split_sentences(text)`` of each item (the scorer
    may score only a prefix of them).
    """

    def score_items(self, texts: Sequence[str]) -> Sequence[ItemSimilarities]: ...


def claim_text(title: str, statement: str) -> str:
    """The text a claim is matched by: its title and its statement."""
    return f"{title}\n{statement}"


@dataclass(frozen=True, slots=True)
class Match:
    """One claim found in one item, with its score and evidence."""

    claim_id: str
    score: float
    alert: bool
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class _AllOf:
    """Met when every one of ``needs`` is."""

    needs: tuple[_Need, ...]


@dataclass(frozen=True, slots=True)
class _AnyOf:
    """Met by any of ``words`` or ``prefixes`` (plain parts, grouped for set tests) or ``needs``."""

    words: frozenset[str]
    prefixes: tuple[str, ...]
    needs: tuple[_Need, ...]


_Need: TypeAlias = Part | _AllOf | _AnyOf | bool
"""Which words an item must have for a query to be able to hold: a part must match one
of its words (its stem, for a stemmed part); ``True`` asks nothing, ``False`` never holds."""


def _need_of(node: Node) -> _Need:
    """What ``node`` needs of an item's words to hold (a necessary condition, not sufficient).

    A phrase needs each of its parts somewhere in the item; AND and NEAR need all their
    operands, OR one; a field scope needs what its term needs; NOT needs nothing (it holds
    when its term is absent). Order, distance and fields are ignored, so this may say yes
    when the query does not hold, never the reverse.
    """
    if isinstance(node, Phrase):
        return _all_of(node.parts)
    if isinstance(node, Not):
        return True
    if isinstance(node, Scope):
        return _need_of(node.child)
    if isinstance(node, Or):
        return _any_of([_need_of(child) for child in node.children])
    children = node.operands if isinstance(node, Near) else node.children
    return _all_of([_need_of(child) for child in children])


def _all_of(needs: Iterable[_Need]) -> _Need:
    kept: list[_Need] = []
    for need in needs:
        if need is False:
            return False
        for one in need.needs if isinstance(need, _AllOf) else (need,):
            if one is not True and one not in kept:
                kept.append(one)
    if not kept:
        return True
    # Cheapest tests first (an AND fails at its first unmet need): a set lookup, a set
    # test, then prefixes, nested groups and stems.
    kept.sort(key=_cost)
    return kept[0] if len(kept) == 1 else _AllOf(tuple(kept))


def _cost(need: _Need) -> int:
    """How much testing ``need`` costs, roughly, for ordering an AND's needs."""
    if isinstance(need, Part):
        return 0 if need.stem is None and not need.prefix else 4
    if isinstance(need, _AnyOf):
        return 1 if not need.prefixes and not need.needs else 2 if not need.needs else 3
    return 3 if isinstance(need, _AllOf) else 0


def _any_of(needs: Iterable[_Need]) -> _Need:
    words: set[str] = set()
    prefixes: set[str] = set()
    kept: list[_Need] = []
    for need in needs:
        if need is True:
            return True
        if isinstance(need, _AnyOf):
            words |= need.words
            prefixes.update(need.prefixes)
            kept.extend(n for n in need.needs if n not in kept)
        elif isinstance(need, Part) and need.stem is None:
            (prefixes if need.prefix else words).add(need.text)
        elif need is not False and need not in kept:
            kept.append(need)
    count = len(words) + len(prefixes) + len(kept)
    if count == 0:
        return False
    if count == 1 and words:
        return Part(words.pop())
    if count == 1 and prefixes:
        return Part(prefixes.pop(), prefix=True)
    if count == 1:
        return kept[0]
    return _AnyOf(frozenset(words), tuple(sorted(prefixes)), tuple(kept))


def _anchors_of(need: _Need) -> tuple[set[str], set[str]] | None:
    """Words and prefixes one of which every item meeting ``need`` has among its words
    (None: no such set, as for a stemmed part, whose stem may not be a prefix of its word).

    Of an AND's operands one is enough, since each is needed: the one with the fewest
    anchors, of those whose anchors are all three letters or more (a one-letter word is in
    most texts).
    """
    if need is True:
        return None
    if need is False:
        return set(), set()
    if isinstance(need, Part):
        if need.stem is not None:
            return None
        return (set(), {need.text}) if need.prefix else ({need.text}, set())
    if isinstance(need, _AnyOf):
        words, prefixes = set(need.words), set(need.prefixes)
        for child in need.needs:
            found = _anchors_of(child)
            if found is None:
                return None
            words |= found[0]
            prefixes |= found[1]
        return words, prefixes
    options = [found for child in need.needs if (found := _anchors_of(child)) is not None]
    if not options:
        return None
    return max(options, key=lambda found: (
        min(map(len, found[0] | found[1]), default=3) >= 3, -len(found[0]) - len(found[1])
    ))


def _anchor_pattern(needs: Iterable[_Need]) -> re.Pattern[str] | None:
    """A regex that finds, in a lower-cased text that ``folds_by_lowering``, a word that
    some need's anchors (``_anchors_of``) hold: absent, no need can be met.

    Why: most news items mention nothing a claim is about, and one search in C rules them
    out before their words are collected and tested (``vocabulary`` and ``_Words.meet``
    were 30% of a first pass in bench/ingest.py). None when some need has no anchors.
    Only ASCII anchors count: such a text has no other words. Its words are its runs of
    letters and of digits, so a word starts after a character of the other kinds and ends
    before one.
    """
    words: set[str] = set()
    prefixes: set[str] = set()
    for need in needs:
        found = _anchors_of(need)
        if found is None:
            return None
        words |= {a for a in found[0] if a.isascii()}
        prefixes |= {a for a in found[1] if a.isascii()}
    # What a shorter prefix finds already need not be searched for.
    prefixes = {p for p in prefixes if not any(q != p and p.startswith(q) for q in prefixes)}
    words = {w for w in words if not any(w.startswith(q) for q in prefixes)}
    # One branch per first character, each opening with that character as a literal: the
    # regex engine then skips to the next position holding one of them (a pattern that
    # opened with a lookbehind was tried at every position, twice as slow). Only then is
    # the character before it checked, by a two-character lookbehind.
    entries = sorted([(w, True) for w in words] + [(p, False) for p in prefixes])
    branches = []
    for first, group in groupby(entries, key=lambda entry: entry[0][0]):
        kind = "a-z" if first.isalpha() else "0-9" if first.isdigit() else None
        if kind is None:
            continue
        tails = "|".join(
            re.escape(anchor[1:]) + (f"(?![{kind}])" if exact else "")
            for anchor, exact in group
            if (anchor.isalpha() if kind == "a-z" else anchor.isdigit())
        )
        if tails:
            branches.append(f"{re.escape(first)}(?<![{kind}].)(?:{tails})")
    # Anchors of neither kind cannot be a word here; an empty pattern never finds one.
    return re.compile("|".join(branches) or "(?!)")


class _Words:
    """An item's distinct folded words (``normalize.vocabulary``), for testing needs.

    The sorted list (for prefixes) and the stems are made only when a need asks for them.
    Stems come from the same ``stem_words`` a ``Document`` uses, so a stemmed part is found
    here exactly when ``Document.stems`` would find it.
    """

    __slots__ = ("_forms", "_sorted", "_words")

    def __init__(self, words: AbstractSet[str]) -> None:
        self._words = words
        self._forms: dict[str, set[str]] = {}
        self._sorted: dict[str | None, list[str]] = {}

    def have(self, part: Part) -> bool:
        """Whether some word (or its stem, for a stemmed part) matches ``part``."""
        if part.prefix:
            return self._have_prefix(part.text, part.stem)
        forms = self._words if part.stem is None else self._stems(part.stem)
        return part.text in forms

    def _have_prefix(self, prefix: str, algorithm: str | None) -> bool:
        ordered = self._sorted.get(algorithm)
        if ordered is None:
            forms = self._words if algorithm is None else self._stems(algorithm)
            ordered = self._sorted[algorithm] = sorted(forms)
        at = bisect_left(ordered, prefix)
        return at < len(ordered) and ordered[at].startswith(prefix)

    def _stems(self, algorithm: str) -> set[str]:
        found = self._forms.get(algorithm)
        if found is None:
            found = self._forms[algorithm] = set(stem_words(algorithm, list(self._words)))
        return found

    def meet(self, need: _Need) -> bool:
        """Whether these words satisfy ``need``."""
        if isinstance(need, Part):
            return self.have(need)
        if isinstance(need, _AnyOf):
            return (
                not need.words.isdisjoint(self._words)
                or any(self._have_prefix(prefix, None) for prefix in need.prefixes)
                or any(self.meet(n) for n in need.needs)
            )
        if isinstance(need, _AllOf):
            return all(self.meet(n) for n in need.needs)
        return need


@dataclass(frozen=True, slots=True)
class _Compiled:
    claim_id: str
    query: Node | None
    alert_at: float
    suggest_at: float
    # What the item's words must include for the gate to open (False: never).
    need: _Need


_Semantic = tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]


@dataclass(frozen=True)
class _ItemView:
    """One item prepared for scoring: its document, sentences, passages and scores."""

    doc: Document
    stems: list[str | None]  # per token of ``doc``: its stem, None for stopwords
    sentences: list[tuple[int, int]]
    passages: list[tuple[int, int]]
    lexical: LexicalScores
    semantic: _Semantic | None


class Matcher:
    """Scores items against a fixed set of claims. Immutable once built."""

    def __init__(
        self,
        claims: Iterable[ClaimRule],
        *,
        aliases: Mapping[str, Node] | None = None,
        semantic: SemanticScorer | None = None,
    ) -> None:
        claim_list = list(claims)
        self._lexical = LexicalIndex([claim_text(c.title, c.statement) for c in claim_list])
        self._semantic = semantic
        self._compiled: list[_Compiled] = []
        for claim in claim_list:
            query = parse_query(claim.query, aliases, stem=claim.stem) if claim.query else None
            alert_at = claim.alert_at if claim.alert_at is not None else DEFAULT_ALERT_AT
            suggest_at = claim.suggest_at if claim.suggest_at is not None else DEFAULT_SUGGEST_AT
            anchors = tuple(positive_phrases(query)) if query is not None else ()
            # The gate opens only when an anchor occurs and the query holds.
            need = _need_of(query) if query is not None and anchors else False
            self._compiled.append(
                _Compiled(
                    claim.id, query, alert_at, min(suggest_at, alert_at), need,
                )
            )
        self._gated = [i for i, c in enumerate(self._compiled) if c.query is not None]
        self._anchors = _anchor_pattern(c.need for c in self._compiled)
        self._open = np.asarray([c.query is None for c in self._compiled], dtype=bool)
        self._suggest_at = np.asarray([c.suggest_at for c in self._compiled], dtype=np.float32)

    @property
    def uses_embeddings(self) -> bool:
        """Whether scores depend on an embedding model, not on the claims alone."""
        return self._semantic is not None

    @property
    def claim_ids(self) -> list[str]:
        return [c.claim_id for c in self._compiled]

    def match(self, item: Item) -> list[Match]:
        """Claims that reach their suggest threshold for ``item``, best first."""
        return self.match_many([item])[0]

    def rank(self, item: Item, top_k: int | None = None) -> list[Match]:
        """Every claim with any evidence for ``item``, best first, unthresholded.

        Used by ``backtest`` and ``claims test``, which want the full ranking.
        Evidence is built only for the ``top_k`` kept, since that is the costly part.
        """
        return self.rank_many([item], top_k)[0]

    def rank_many(self, items: Sequence[Item], top_k: int | None = None) -> list[list[Match]]:
        """``rank`` for many items; the semantic extra encodes them in one batch."""
        return [self._matches(view, top_k=top_k, thresholded=False) for view in self._views(items)]

    def match_many(self, items: Sequence[Item]) -> list[list[Match]]:
        """``match`` for many items; the semantic extra encodes them in one batch.

        When every claim has a query, an item whose text holds none of them
        cannot match: only the items some query holds for are scored (their
        sentences, passages, BM25 and embeddings), which is most of matching's
        cost and most items of a news feed. The result is the same.

        Before that, the item's distinct words alone (no ``Document``) rule out
        the claims whose query needs a word it lacks (``_need_of``); an item
        left with none is skipped unindexed. Indexing every item was 40% of a
        poll's CPU (bench/ingest.py, py-spy), and on the real-2026 feeds the
        seed claims' words rule out all but 17 of 6,554 items.
        """
        if not self._compiled or self._open.any():
            docs = [Document.of(item) for item in items]
            return [
                self._matches(view, top_k=None, thresholded=True) for view in self._views_of(docs)
            ]
        held: list[int] = []
        held_docs: list[Document] = []
        anchors = self._anchors
        for i, item in enumerate(items):
            text = item.text
            if (
                anchors is not None
                and folds_by_lowering(text)
                and anchors.search(text.lower()) is None
            ):
                continue  # none of the words a claim needs first is in it
            words = _Words(vocabulary(text))
            maybe = [c for c in self._gated if words.meet(self._compiled[c].need)]
            if not maybe:
                continue
            doc = Document.of(item)
            if any(self._gate(self._compiled[c], doc, words) is not None for c in maybe):
                held.append(i)
                held_docs.append(doc)
        found: list[list[Match]] = [[] for _ in items]
        for i, view in zip(held, self._views_of(held_docs), strict=True):
            found[i] = self._matches(view, top_k=None, thresholded=True)
        return found

    def _views(self, items: Sequence[Item]) -> list[_ItemView]:
        return self._views_of([Document.of(item) for item in items])

    def _views_of(self, docs: Sequence[Document]) -> list[_ItemView]:
        sentences = [split_sentences(doc.text) for doc in docs]
        semantic: list[_Semantic | None] = [None] * len(docs)
        if self._semantic is not None and docs:
            scored = self._semantic.score_items([doc.text for doc in docs])
            semantic = [(found.best, found.best_sentence) for found in scored]
        return [
            self._view(doc, spans, found)
            for doc, spans, found in zip(docs, sentences, semantic, strict=True)
        ]

    def _view(
        self, doc: Document, sentences: list[tuple[int, int]], semantic: _Semantic | None
    ) -> _ItemView:
        spans = passages(sentences)
        stems = token_stems([token.text for token in doc.tokens])
        words = [_words_within(doc, stems, span) for span in spans]
        return _ItemView(doc, stems, sentences, spans, self._lexical.score(words), semantic)

    @staticmethod
    def _statement_scores(
        view: _ItemView, lexical: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        if view.semantic is None:
            return lexical
        semantic = np.clip(view.semantic[0], 0.0, 1.0)
        return (SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical).astype(np.float32)

    def _matches(self, view: _ItemView, *, top_k: int | None, thresholded: bool) -> list[Match]:
        lexical = view.lexical.relevance
        statement = self._statement_scores(view, lexical)
        scores = np.where(self._open, statement, 0.0).astype(np.float32)
        held: dict[int, list[tuple[int, int]]] = {}
        words = _Words(view.doc.vocabulary)
        for index in self._gated:
            spans = self._gate(self._compiled[index], view.doc, words)
            if spans is not None:
                held[index] = spans
                scores[index] = GATED_FLOOR + (1 - GATED_FLOOR) * statement[index]
        if thresholded:
            keep = np.flatnonzero((scores >= self._suggest_at) & (scores > 0))
        else:
            keep = np.flatnonzero(scores > 0)
        # Best first; ties in file order, so results are stable run to run.
        ordered = keep[np.lexsort((keep, -scores[keep]))][:top_k].tolist()
        open_scores = scores[self._open]
        runner_up_floor = float(open_scores.max()) - ALERT_MARGIN if open_scores.size else 0.0
        return [
            self._explain(
                i,
                float(scores[i]),
                float(lexical[i]),
                view,
                held.get(i),
                i in held or bool(scores[i] >= runner_up_floor),
            )
            for i in ordered
        ]

    @staticmethod
    def _gate(
        claim: _Compiled, doc: Document, words: _Words | None = None
    ) -> list[tuple[int, int]] | None:
        """The query's evidence spans when it holds, else None.

        A query can only hold if the item has the words it needs (``_need_of``), so
        claims lacking them are skipped without evaluation. ``words`` are ``doc``'s.
        """
        assert claim.query is not None
        if not (words or _Words(doc.vocabulary)).meet(claim.need):
            return None
        ok, spans = evaluate(claim.query, doc)
        return spans if ok else None

    def _explain(
        self,
        index: int,
        score: float,
        lexical: float,
        view: _ItemView,
        query_spans: list[tuple[int, int]] | None,
        may_alert: bool,
    ) -> Match:
        claim = self._compiled[index]
        raw = float(view.lexical.raw[index])
        semantic = float(view.semantic[0][index]) if view.semantic is not None else None
        sentence = self._best_sentence(index, view)
        terms = self._lexical.terms[index]
        word_spans = [
            (token.start, token.end)
            for token, stem in zip(view.doc.tokens, view.stems, strict=True)
            if stem in terms
        ]
        spans = merge_spans(query_spans if query_spans is not None else word_spans)
        focus = [s for s in spans if s[0] >= sentence[0] and s[1] <= sentence[1]] or spans
        snippet, highlights = build_snippet(view.doc.text, focus or [sentence])
        evidence = Evidence(
            terms=_distinct_terms(view.doc.text, spans),
            spans=tuple(spans),
            snippet=snippet,
            highlights=highlights,
            query_matched=query_spans is not None,
            sentence=" ".join(view.doc.text[sentence[0] : sentence[1]].split()),
            lexical=round(lexical, 4),
            semantic=None if semantic is None else round(semantic, 4),
            bm25=round(raw, 3),
        )
        alert = may_alert and score >= claim.alert_at
        return Match(claim.claim_id, round(score, 4), alert, evidence)

    def _best_sentence(self, index: int, view: _ItemView) -> tuple[int, int]:
        """The sentence that states the claim best: semantic pick, else most claim words."""
        if not view.sentences:
            return (0, len(view.doc.text))
        if view.semantic is not None:
            return view.sentences[int(view.semantic[1][index])]
        terms = self._lexical.terms[index]
        start, end = view.passages[int(view.lexical.passage[index])] if view.passages else (
            0,
            len(view.doc.text),
        )
        inside = [s for s in view.sentences if s[0] >= start and s[1] <= end] or view.sentences
        return max(inside, key=lambda s: len(terms & _words_within(view.doc, view.stems, s)))


def _words_within(doc: Document, stems: list[str | None], span: tuple[int, int]) -> set[str]:
    """The stems of the tokens inside a character span (tokens are in text order)."""
    first = bisect_left(doc.starts, span[0])
    last = bisect_left(doc.starts, span[1])
    return {stem for stem in stems[first:last] if stem is not None}


def _distinct_terms(text: str, spans: Sequence[tuple[int, int]]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for start, end in spans:
        surface = text[start:end]
        seen.setdefault(surface.casefold(), surface)
    return tuple(seen.values())
