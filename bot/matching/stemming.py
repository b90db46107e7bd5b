"""Snowball stemming, for claims that ask for it (``stem: en``).

A stemmed claim matches its plain query words by stem, so ``fails`` also finds
``failed`` and ``failing``. Stems are taken of *folded* words (case and accents
already gone) on both sides, query and text, so stemming never undoes the
promise that accents and case do not change a match.

PyStemmer's ``Stemmer`` objects are not thread-safe, so each thread keeps its
own, one per language.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol, cast

import Stemmer  # type: ignore[import-not-found,unused-ignore]  # PyStemmer: no hints

# ISO 639-1 codes for the Snowball algorithms, so a claim can say ``stem: es``.
_CODES = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


class _Stemmer(Protocol):
    def stemWords(self, words: Sequence[str]) -> list[str]: ...


ALGORITHMS: frozenset[str] = frozenset(cast(list[str], Stemmer.algorithms()))
LANGUAGE_CODES: dict[str, str] = {
    code: name for code, name in _CODES.items() if name in ALGORITHMS
}


class UnknownLanguage(ValueError):
    """A ``stem:`` value that names no Snowball algorithm."""

    def __init__(self, language: str) -> None:
        codes = ", ".join(sorted(LANGUAGE_CODES))
        super().__init__(
            f"unknown stemming language {language!r}; use one of: {codes}"
            " (or the algorithm's English name, like 'spanish')"
        )


def resolve_language(language: str) -> str:
    """The Snowball algorithm for a code (``es``) or an algorithm name (``spanish``)."""
    key = language.strip().lower()
    name = LANGUAGE_CODES.get(key, key)
    if name not in ALGORITHMS:
        raise UnknownLanguage(language)
    return name


_local = threading.local()


def _stemmer(algorithm: str) -> _Stemmer:
    stemmers: dict[str, _Stemmer] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    found = stemmers.get(algorithm)
    if found is None:
        found = stemmers[algorithm] = cast(_Stemmer, Stemmer.Stemmer(algorithm))
    return found


def stem_words(algorithm: str, words: Sequence[str]) -> list[str]:
    """The stems of already folded ``words``, in order.

    ``algorithm`` is a name from :func:`resolve_language`. Query words and text
    tokens go through this same function, which is all matching needs: a stem
    is compared only with other stems of the same algorithm.
    """
    return _stemmer(algorithm).stemWords(words)


def stem_word(algorithm: str, word: str) -> str:
    return stem_words(algorithm, [word])[0]


__all__ = [
    "ALGORITHMS",
    "LANGUAGE_CODES",
    "UnknownLanguage",
    "resolve_language",
    "stem_word",
    "stem_words",
]
