"""Who said it: which sentences report an assertion, and whose.

A claim worth watching is something somebody asserted, so a sentence becomes a draft
only when a finder here recognises a report: ``according to X``, a trailing ``..., the
ministry said``, ``X said (that) ...``, a quotation with a speaker, or a hedge
(``reportedly``). The spans found keep the speaker out of the key terms, the outlet out
of the query and the reporting clause out of the title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.drafting.words import (
    _ACCORDING,
    _ADJUNCT_STARTS,
    _AND,
    _BE,
    _CLAUSE_VERBS,
    _CLAUSE_WORDS,
    _CONNECTORS,
    _DETERMINERS,
    _HEDGES,
    _PRONOUNS,
    _SAY_PREFIXES_RU,
    _SAY_VERBS,
    _SAY_VERBS_WITH_THAT,
    _SPEAKERS,
    _SUBJECT_TAIL,
    _THAT,
    _gap,
    _is_name,
    _Word,
)

_CLAUSE_BREAK = re.compile(r"[,;:—–()\"“”«»„]")
_QUOTED = re.compile(r"[“\"«„]([^”\"»“]+)[”\"»“]")


@dataclass(frozen=True)
class _Attribution:
    """Who said it, with character spans of the sentence: ``spans`` name the speaker
    (no key terms there), ``outlets`` the medium told (never a query term), ``cut``
    the reporting clause (left out of the title)."""

    source: str | None
    spans: tuple[tuple[int, int], ...] = ()
    cut: tuple[int, int] | None = None
    outlets: tuple[tuple[int, int], ...] = ()


def _is_say_verb(words: Sequence[_Word], index: int) -> bool:
    word = words[index].folded
    after = words[index + 1].folded if index + 1 < len(words) else ""
    if index == 1 and word == "said" and words[0].folded == "that":
        return False  # "That said, ..."
    if word in _SAY_VERBS or (word in _SAY_VERBS_WITH_THAT and after in _THAT):
        return True
    return word.startswith(_SAY_PREFIXES_RU)


def _phrase_text(sentence: str, words: Sequence[_Word]) -> str | None:
    if not words or all(w.folded in _PRONOUNS for w in words):
        return None
    return sentence[words[0].start : words[-1].end]


def _span(words: Sequence[_Word]) -> tuple[int, int]:
    return (words[0].start, words[-1].end)


def _according_to(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """``According to X, ...`` / ``..., according to X.`` / ``según X`` / ``по словам X``."""
    folded = [w.folded for w in words]
    for index in range(len(words)):
        marker = next((m for m in _ACCORDING if tuple(folded[index : index + len(m)]) == m), None)
        if marker is None:
            continue
        after = index + len(marker)
        source: list[_Word] = []
        while after < len(words) and len(source) < 8 and words[after].folded not in _THAT:
            if source and _CLAUSE_BREAK.search(_gap(sentence, words, after)):
                break
            if words[after].folded in ("who", "which", "quien", "который"):
                break
            source.append(words[after])
            after += 1
        if not source:
            continue
        start = 0 if index == 0 else words[index - 1].end
        end = words[after].start if after < len(words) and index == 0 else source[-1].end
        return _Attribution(_phrase_text(sentence, source), (_span(source),), (start, end))
    return None


def _trailing(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """``..., the ministry said (in a statement).`` or ``..., said the minister.``"""
    first = next(
        (i for i in range(len(words) - 1, 2, -1) if _CLAUSE_BREAK.search(_gap(sentence, words, i))),
        None,
    )
    if first is None or len(words) - first > 8:
        return None
    clause = words[first:]
    verb = next((i for i in range(len(clause)) if _is_say_verb(clause, i)), None)
    if verb is None or clause[verb].folded.endswith("ing"):
        return None  # "..., saying the plan failed": the speaker is the main clause's subject
    if verb == 0 and len(clause) > 1 and _names_someone(clause[1]):
        source = _until_adjunct(clause[1:])  # "said the minister", "заявил Песков"
    elif 0 < verb and len(clause) - verb <= 5 and not _passive(clause, verb):
        source = [w for w in clause[:verb] if w.folded not in _SUBJECT_TAIL | _CLAUSE_WORDS]
    else:
        return None
    spans = (_span(source),) if source else ()
    cut = (words[first - 1].end, len(sentence))
    return _Attribution(_phrase_text(sentence, source), spans, cut)


def _names_someone(word: _Word) -> bool:
    """Whether ``word`` can start a speaker's name after an inverted verb."""
    return word.text[0].isupper() or word.folded in _DETERMINERS or not word.text.isascii()


def _until_adjunct(words: Sequence[_Word]) -> list[_Word]:
    """``the minister`` of ``the minister in a statement on Monday``."""
    kept: list[_Word] = []
    for word in words:
        if kept and word.folded in _ADJUNCT_STARTS:
            break
        kept.append(word)
    return kept[:6]


def _passive(words: Sequence[_Word], verb: int) -> bool:
    """``was (also) described``: the subject is what was said, not who said it."""
    before = [
        w
        for w in words[:verb]
        if w.folded in _BE or not (w.folded in _SUBJECT_TAIL or w.folded.endswith("ly"))
    ]
    return bool(before) and before[-1].folded in _BE


def _subject_verb(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """``X said (that) ...``, ``X told Bloomberg that ...``, ``after Havana announced ...``."""
    verb = next((i for i in range(len(words)) if _is_say_verb(words, i)), None)
    if verb is None:
        return None
    if _passive(words, verb):
        return _Attribution(None)
    start = verb
    while start > 0 and verb - start < 9 and not _subject_starts(sentence, words, start):
        start -= 1
    subject = list(words[start:verb])
    while subject and (subject[-1].folded in _SUBJECT_TAIL or subject[-1].folded.endswith("ly")):
        subject.pop()
    if len(subject) > 8:
        subject = []
    if not subject and not words[verb].folded.endswith("ing"):
        subject, start = _apposition(sentence, words, verb)
    if not subject:
        return _Attribution(None)
    source = _phrase_text(sentence, subject)
    outlets: tuple[tuple[int, int], ...] = ()
    listener = words[verb + 1] if verb + 1 < len(words) else None
    told = words[verb].folded in ("told", "tells")
    if told and listener and listener.text[0].isupper() and listener.folded not in _PRONOUNS:
        outlets = (_span([listener]),)
        source = f"{source} (to {listener.text})" if source else listener.text
    cut = _reporting_clause(sentence, words, start, verb)
    return _Attribution(source, (_span(subject), *outlets), cut, outlets)


def _apposition(sentence: str, words: Sequence[_Word], verb: int) -> tuple[list[_Word], int]:
    """The name set off by commas just before the verb (``the minister, Carlos Pérez, said``),
    and where it starts; nothing when that piece is not a name."""
    start = verb
    while start > 0 and verb - start < 4:
        start -= 1
        if _CLAUSE_BREAK.search(_gap(sentence, words, start)):
            break
    piece = list(words[start:verb])
    if piece and all(_is_name(w) or w.folded in _CONNECTORS for w in piece):
        return piece, start
    return [], verb


def _subject_starts(sentence: str, words: Sequence[_Word], start: int) -> bool:
    """Whether the subject of a verb starts at word ``start`` (word ``start - 1`` is outside)."""
    if _CLAUSE_BREAK.search(_gap(sentence, words, start)):
        return True
    previous = words[start - 1].folded
    if previous in _AND:
        # "Russia and China said": an "and" between two names belongs to the subject.
        names = start > 1 and words[start - 2].text[0].isupper() and words[start].text[0].isupper()
        return not names
    return previous in _CLAUSE_WORDS


def _reporting_clause(
    sentence: str, words: Sequence[_Word], start: int, verb: int
) -> tuple[int, int] | None:
    """The span of ``X said (that)`` when it heads the sentence, after at most one short
    leading phrase (``On Monday, the ministry said that ...``)."""
    breaks = [i for i in range(1, start + 1) if _CLAUSE_BREAK.search(_gap(sentence, words, i))]
    if start > 0 and (breaks != [start] or start > 5):
        return None
    body = verb + 1
    if words[verb].folded in ("told", "tells", "tell"):
        that = next(
            (i for i in range(body, min(body + 5, len(words))) if words[i].folded in _THAT), None
        )
        body = that if that is not None else body + 1  # skip the listener
    elif body < len(words) and words[body].folded not in _THAT:
        if words[verb].folded not in _CLAUSE_VERBS:
            return None  # "X criticised the plan": the object is not a claim on its own
    while body < len(words) and words[body].folded in _THAT:
        body += 1
    return (0, words[body].start) if body < len(words) else None


def _quoted_speaker(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """A quotation of two words or more, and a speaker in the sentence (``officials``)."""
    quotes = [m for m in _QUOTED.finditer(sentence) if len(m.group(1).split()) >= 2]
    if not quotes:
        return None
    inside = [(m.start(), m.end()) for m in quotes]
    for index, word in enumerate(words):
        if word.folded not in _SPEAKERS or any(a <= word.start < b for a, b in inside):
            continue
        first = index
        while first > 0 and words[first - 1].text[0].isupper() and index - first < 3:
            if _CLAUSE_BREAK.search(_gap(sentence, words, first)):
                break
            first -= 1
        speaker = words[first : index + 1]
        return _Attribution(_phrase_text(sentence, speaker), (_span(speaker),))
    return None


def _hedged(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """``reportedly``, ``allegedly``, ``is said to``: reported, by nobody named."""
    folded = [w.folded for w in words]
    if any(w in _HEDGES for w in folded):
        return _Attribution(None)
    said_to = any(
        folded[i] in _BE and folded[i + 1] in ("said", "quoted") for i in range(len(folded) - 1)
    )
    return _Attribution(None) if said_to else None


_FINDERS = (_according_to, _trailing, _subject_verb, _quoted_speaker, _hedged)


def _find_attribution(sentence: str, words: Sequence[_Word]) -> _Attribution | None:
    """Who ``sentence`` is attributed to, or None when it reports no assertion.

    The finders run from the most to the least specific; the first that names a
    speaker wins, else the first that found an attribution at all.
    """
    found = [a for a in (finder(sentence, words) for finder in _FINDERS) if a is not None]
    return next((a for a in found if a.source), found[0] if found else None)
