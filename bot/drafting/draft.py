"""Draft claims from an article: one per attributed statement, with an id, title and query.

The one place that runs the steps in order (sentences -> attribution -> entities and key
terms -> ``DraftClaim``) and decides which sentences become drafts: attributed, long
enough, not a near-repeat of an earlier one, and with a query that holds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.drafting.attribution import _Attribution, _find_attribution
from bot.drafting.markdown import article_sentences
from bot.drafting.terms import (
    _draft_query,
    _entities,
    _key_terms,
    _known_names,
    _language,
    _Sentence,
    _stem_frequency,
    _Term,
)
from bot.drafting.words import _OUTLETS, _words
from bot.matching.normalize import fold, normalize

MAX_ID_LENGTH = 50
MAX_TITLE_LENGTH = 80
# Sentences this alike (Jaccard of their folded words) are one statement told twice.
DUPLICATE_SIMILARITY = 0.8
MIN_SENTENCE_WORDS = 6
_TRANSLIT = dict(
    zip(
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e zh z i i k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
) | {"ъ": "", "ь": ""}


@dataclass(frozen=True)
class DraftClaim:
    """One proposed claim: an attributed sentence of the article and a query for it.

    ``line`` is the 1-based line of the article where the sentence starts;
    ``source`` is who it is attributed to, when the sentence names them.
    """

    id: str
    title: str
    statement: str
    source: str | None
    entities: tuple[str, ...]
    query: str
    line: int


def _slug(text: str) -> str:
    folded = "".join(_TRANSLIT.get(ch, ch) for ch in fold(text))
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _draft_id(parts: Sequence[str], taken: set[str]) -> str:
    """A lowercase-hyphenated id from the key words, unique among ``taken``."""
    pieces: list[str] = []
    for part in parts:
        piece = _slug(part)
        if piece and piece not in pieces:
            pieces.append(piece)
    base = ""
    for piece in pieces:
        candidate = f"{base}-{piece}" if base else piece
        if len(candidate) > MAX_ID_LENGTH:
            break
        base = candidate
    base = base or (pieces[0][:MAX_ID_LENGTH].strip("-") if pieces else "") or "draft"
    draft_id, number = base, 1
    while draft_id in taken:
        number += 1
        suffix = f"-{number}"
        draft_id = base[: MAX_ID_LENGTH - len(suffix)].rstrip("-") + suffix
    return draft_id


_EDGE_PUNCTUATION = " ,;:—–-\"“”«»'’"


def _title(sentence: str, attribution: _Attribution) -> str:
    """The sentence without its reporting clause (``..., Bloomberg reported``), shortened:
    the claim itself is the best label a human can start from."""
    text = sentence
    if attribution.cut:
        start, end = attribution.cut
        text = sentence[:start] + sentence[end:]
    text = " ".join(text.split()).strip(_EDGE_PUNCTUATION).rstrip(".!?…").strip(_EDGE_PUNCTUATION)
    if len(text.split()) < 3:
        text = sentence.rstrip(".!?…")
    text = text[:1].upper() + text[1:]
    if len(text) <= MAX_TITLE_LENGTH:
        return text
    cut = text[: MAX_TITLE_LENGTH - 1]
    cut = cut[: cut.rfind(" ")] if " " in cut else cut
    return cut.rstrip(_EDGE_PUNCTUATION) + "…"


def _is_duplicate(words: frozenset[str], kept: Sequence[frozenset[str]]) -> bool:
    return any(
        len(words & other) / max(1, len(words | other)) >= DUPLICATE_SIMILARITY for other in kept
    )


def draft_claims(text: str, *, max_drafts: int = 30) -> list[DraftClaim]:
    """One draft claim per attributed statement of ``text``, in article order.

    Sentences that report no assertion, very short ones and near-repeats of an
    earlier draft are skipped, as is a sentence too thin for a two-group query.
    """
    sentences = [
        _Sentence(line, sentence, tuple(words), _language(sentence, words))
        for line, sentence in article_sentences(text)
        for words in (_words(sentence),)
    ]
    known = _known_names(sentences)
    frequency = _stem_frequency(sentences)
    drafts: list[DraftClaim] = []
    kept: list[frozenset[str]] = []
    for sentence in sentences:
        if len(drafts) >= max_drafts:
            break
        words = frozenset(normalize(sentence.text).split())
        if len(sentence.words) < MIN_SENTENCE_WORDS or _is_duplicate(words, kept):
            continue
        attribution = _find_attribution(sentence.text, sentence.words)
        if attribution is None:
            continue
        draft = _draft(sentence, attribution, known, frequency, {d.id for d in drafts})
        if draft is not None:
            drafts.append(draft)
            kept.append(words)
    return drafts


def _draft(
    sentence: _Sentence,
    attribution: _Attribution,
    known: frozenset[str],
    frequency: Counter[str],
    taken_ids: set[str],
) -> DraftClaim | None:
    entities = _entities(sentence, known)
    excluded = [*attribution.spans, *([attribution.cut] if attribution.cut else [])]
    subjects = _query_entities(entities, attribution)
    keys = _key_terms(sentence, excluded, frequency)
    query = _draft_query(subjects, keys, sentence.text)
    if query is None:
        return None
    parts = [e.exact for e in subjects[:2]] + [k.exact for k in keys[:2]]
    return DraftClaim(
        id=_draft_id(parts, taken_ids),
        title=_title(sentence.text, attribution),
        statement=sentence.text,
        source=attribution.source,
        entities=tuple(e.exact for e in entities),
        query=query,
        line=sentence.line,
    )


def _query_entities(entities: Sequence[_Term], attribution: _Attribution) -> list[_Term]:
    """Entities for the query: what the sentence is about first, then the speaker's (in
    "Putin said ..." the name matters), news outlets never (they are only the messenger)."""

    def within(term: _Term, spans: Sequence[tuple[int, int]]) -> bool:
        return any(start <= term.start < end for start, end in spans)

    usable = [
        e for e in entities if fold(e.exact) not in _OUTLETS and not within(e, attribution.outlets)
    ]
    return [e for e in usable if not within(e, attribution.spans)] + [
        e for e in usable if within(e, attribution.spans)
    ]
