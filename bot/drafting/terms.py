"""What a sentence is about: its entities and key terms, and the query made of them.

Capitalised spans are entities, the rarest longer lower-case words are key terms, and a
Snowball stem gives their wildcards. Every query is parsed with the claim query parser
and checked to hold on its own sentence before it is offered.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.drafting.attribution import _is_say_verb
from bot.drafting.words import (
    _CALENDAR,
    _CAP_STOP,
    _CONNECTORS,
    _HEDGES,
    _POSSESSIVE,
    _SPEAKERS,
    _STOPWORDS,
    _base,
    _gap,
    _is_code,
    _is_name,
    _Word,
)
from bot.matching.document import Document, evaluate
from bot.matching.normalize import fold, normalize
from bot.matching.query import QueryError, parse_query
from bot.matching.stemming import stem_words

# Wildcard prefixes shorter than this catch too many unrelated words (``Cub*``: cube, cubicle).
MIN_WILDCARD = 4
_ENTITY_TERMS = 3
_KEY_TERMS = 4
_DOTTED = re.compile(r"(?:[^\W\d_]{1,3}\.)+[^\W\d_]{1,3}")


@dataclass(frozen=True)
class _Sentence:
    line: int
    text: str
    words: tuple[_Word, ...]
    language: str  # Snowball algorithm for the key terms' wildcards


@dataclass(frozen=True)
class _Term:
    """One query term: ``wild`` with a prefix wildcard where sensible, ``exact`` without."""

    wild: str
    exact: str
    start: int = 0
    end: int = 0


_SPANISH_HINTS = frozenset("el los las del que segun una por para con dijo afirmo pero".split())


def _language(sentence: str, words: Sequence[_Word]) -> str:
    if any("\u0400" <= ch <= "\u04ff" for ch in sentence):
        return "russian"
    hints = sum(w.folded in _SPANISH_HINTS for w in words)
    return "spanish" if hints >= 2 or any(ch in "ñ¿¡" for ch in sentence) else "english"


def _known_names(sentences: Sequence[_Sentence]) -> frozenset[str]:
    """Words written with a capital in mid-sentence somewhere in the article: proper
    names, so the same word opening a sentence is a name too (``Iran presents ...``)."""
    return frozenset(
        _base(word) for s in sentences for word in s.words[1:] if word.text[0].isupper()
    )


def _name_runs(sentence: str, words: Sequence[_Word]) -> list[list[_Word]]:
    """Capitalised words (and codes) in a row, joined by spaces or by ``of``/``de``."""
    runs: list[list[_Word]] = []
    run: list[_Word] = []
    for index, word in enumerate(words):
        joined = _gap(sentence, words, index).isspace() and not _POSSESSIVE.search(
            run[-1].text if run else ""
        )
        if run and not joined:
            runs.append(run)
            run = []
        following = words[index + 1] if index + 1 < len(words) else None
        if _is_name(word):
            run.append(word)
        elif run and word.folded in _CONNECTORS and following and _is_name(following):
            run.append(word)
        elif run:
            runs.append(run)
            run = []
    return [*runs, run] if run else runs


def _entities(sentence: _Sentence, known: frozenset[str]) -> list[_Term]:
    """Named entities of the sentence, each once, in order of appearance."""
    found: dict[str, _Term] = {}
    for run in _name_runs(sentence.text, sentence.words):
        if run[0] is sentence.words[0] and not _is_known(run[0], known):
            run = run[1:]  # "Growing Russian influence": only "Russian" is a name
            while run and not _is_name(run[0]):
                run = run[1:]
        if not run or _is_common(run):
            continue
        text = _POSSESSIVE.sub("", sentence.text[run[0].start : run[-1].end])
        head, _, tail = text.partition("-")
        if len(run) == 1 and head.isalpha() and tail.isalpha() and tail[0].islower():
            text = head  # Russian-supplied: Russian
        if _DOTTED.fullmatch(text) and sentence.text[run[-1].end : run[-1].end + 1] == ".":
            text += "."  # U.S. (the word pattern leaves the last dot to the sentence)
        wild = _name_wildcard(text) if len(run) == 1 else text
        found.setdefault(fold(text), _Term(wild, text, run[0].start, run[-1].end))
    return list(found.values())


def _is_known(word: _Word, known: frozenset[str]) -> bool:
    """Whether a sentence's first word is a name: a code, or capitalised mid-sentence
    elsewhere in the article (``Iran presents ...``), and no common capitalised word."""
    return _is_code(word.text) or (_base(word) in known and word.folded not in _CAP_STOP)


def _is_common(run: Sequence[_Word]) -> bool:
    """A lone capitalised word that is no name: a weekday or month, ``The`` after a
    quotation mark, a single letter."""
    if len(run) > 1 or _is_code(run[0].text):
        return False
    base = _base(run[0])
    return len(base) < 2 or base in _CALENDAR or base in _CAP_STOP


_NAME_ENDING = re.compile(r"(?:ans?|[aeiouyаеиоуыэюяь])$", re.I)


def _name_wildcard(name: str) -> str:
    """``Venezuel*`` for Venezuela (and Venezuelan), ``Росси*`` for Россия, ``Kremlin*``."""
    if not name.isalpha() or _is_code(name):
        return name
    base = _NAME_ENDING.sub("", name)
    if base != name and len(base) >= MIN_WILDCARD:
        return base + "*"
    return name + "*" if len(name) >= MIN_WILDCARD else name


def _word_wildcard(folded: str, language: str) -> str:
    """The longest prefix a word shares with its Snowball stem, as a wildcard:
    ``fail*`` for failed, ``protect*`` for protection, ``tiger*`` for tiger."""
    if not folded.isalpha():
        return folded
    stem = stem_words(language, [folded])[0]
    prefix = os.path.commonprefix([folded, stem])
    # A short stem of a long word is too broad a prefix (operational -> oper*: opera).
    if prefix != folded and len(prefix) >= max(MIN_WILDCARD, min(6, len(folded) / 2)):
        return prefix + "*"
    return folded + "*" if prefix == folded and len(folded) > MIN_WILDCARD else folded


def _stem_key(folded: str, language: str) -> str:
    return stem_words(language, [folded])[0]


def _stem_frequency(sentences: Sequence[_Sentence]) -> Counter[str]:
    """In how many sentences of the article each stem occurs (rare ones tell claims apart)."""
    counts: Counter[str] = Counter()
    for s in sentences:
        counts.update({_stem_key(_base(w), s.language) for w in s.words})
    return counts


def _inside(word: _Word, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= word.start < end for start, end in spans)


def _key_terms(
    sentence: _Sentence, excluded: Sequence[tuple[int, int]], frequency: Counter[str]
) -> list[_Term]:
    """The sentence's rarest longer lower-case words: what it says, rather than who."""
    ranked: dict[str, tuple[tuple[int, int, int], _Term]] = {}
    for index, word in enumerate(sentence.words):
        base = _base(word)
        if _inside(word, excluded) or word.text[0].isupper() or not _is_key(base, sentence):
            continue
        if _is_say_verb(sentence.words, index):
            continue
        rank = (frequency[_stem_key(base, sentence.language)], -len(base), index)
        term = _Term(_word_wildcard(base, sentence.language), base, word.start, word.end)
        ranked.setdefault(base, (rank, term))
    return [term for _, term in sorted(ranked.values(), key=lambda pair: pair[0])][:_KEY_TERMS]


def _is_key(base: str, sentence: _Sentence) -> bool:
    if base.isdigit():
        return len(base) >= 2
    if len(base) < 4 or base in _STOPWORDS or base in _SPEAKERS or base in _HEDGES:
        return False
    return not (sentence.language == "english" and base.endswith("ly"))


_BARE_TERM = re.compile(r"[^\W_][\w-]*\*?")


def _render_term(term: str) -> str:
    """A query term: bare when it is a plain word, else quoted (phrases, ``U.S.``, and
    all-capital words, which could read as operators: ``OR``, ``NEAR``)."""
    if _BARE_TERM.fullmatch(term) and not term.isupper():
        return term
    return '"' + term.replace('"', " ").strip() + '"'


def _groups(entities: Sequence[str], keys: Sequence[str]) -> list[list[str]]:
    """(entity) AND (other entities | key terms) AND (key terms): at least two groups."""
    if len(entities) >= 2:
        groups = [[entities[0]], list(entities[1 : 1 + _ENTITY_TERMS]), list(keys)]
    elif entities:
        groups = [[entities[0]], list(keys[:2]), list(keys[2:])]
    else:
        groups = [list(keys[:2]), list(keys[2:])]
    groups = [group for group in groups if group]
    if len(groups) < 2:
        groups = [[term] for term in [*entities, *keys][:2]]
    return groups


def _render_query(groups: Sequence[Sequence[str]]) -> str:
    rendered = [" OR ".join(g) if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups]
    return " AND ".join(rendered)


def _holds(query: str, statement: str) -> bool:
    """Whether ``query`` parses and matches the sentence it was made from."""
    try:
        node = parse_query(query)
    except QueryError:
        return False
    return evaluate(node, Document(statement))[0]


def _draft_query(entities: Sequence[_Term], keys: Sequence[_Term], statement: str) -> str | None:
    """The first of (with wildcards, exact words) that parses and holds on its sentence;
    None when the sentence offers fewer than two usable terms."""
    for wildcards in (True, False):
        usable = _usable_terms([t.wild if wildcards else t.exact for t in entities], statement)
        chosen = [t.wild if wildcards else t.exact for t in keys]
        usable_keys = _usable_terms(chosen, statement, set(usable))
        groups = _groups(usable, usable_keys)
        if len(groups) >= 2:
            query = _render_query(groups)
            if _holds(query, statement):
                return query
    return None


def _usable_terms(terms: Sequence[str], statement: str, taken: set[str] | None = None) -> list[str]:
    """Rendered terms that parse and occur in the sentence, without repeats."""
    seen = {normalize(t) for t in taken or ()}
    usable: list[str] = []
    for term in terms:
        rendered = _render_term(term)
        if normalize(rendered) in seen or not _holds(rendered, statement):
            continue
        seen.add(normalize(rendered))
        usable.append(rendered)
    return usable
