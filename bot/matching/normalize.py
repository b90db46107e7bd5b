"""Text normalisation shared by queries and items.

Both sides go through the same function so that a query word and a text word
meet in one form: NFKC-folded, case-folded, stripped of accents, split at
punctuation and at letter/digit boundaries. That last rule is what makes
``S-300``, ``S300`` and ``S 300`` the same two tokens (``s``, ``300``) and
``Buk-M2`` the tokens ``buk``, ``m``, ``2``. Cyrillic, Greek and other scripts
keep their letters; only combining marks go (so ``ё`` folds to ``е``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# A run of letters (each optionally followed by combining marks, for text that
# arrives decomposed) or a run of digits. Everything else separates tokens.
_PIECE = re.compile(r"(?:[^\W\d_][\u0300-\u036f]*)+|\d+")
# In text with no mark of that range, ``_PIECE`` finds exactly this simpler pattern's
# pieces, which it finds in two thirds of the time (``vocabulary``).
_PLAIN_PIECE = re.compile(r"[^\W\d_]+|\d+")
_MARK = re.compile(r"[\u0300-\u036f]")


class Token(NamedTuple):
    """A normalised word and where it came from in the original text.

    A named tuple rather than a frozen dataclass: items are tokenised by the
    hundred thousand, and a frozen dataclass's ``__init__`` is several times slower.
    """

    text: str
    start: int
    end: int


@lru_cache(maxsize=262_144)
def fold(word: str) -> str:
    """Fold one word: compatibility forms, case and accents removed.

    Memoised: news text repeats the same words endlessly, and folding is the
    hottest function of matching.
    """
    folded = unicodedata.normalize("NFKC", word).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into folded tokens with their character offsets."""
    tokens: list[Token] = []
    for found in _PIECE.finditer(text):
        start, end = found.span()
        for part in _folded_parts(found.group()):
            tokens.append(Token(part, start, end))
    return tokens


@lru_cache(maxsize=262_144)
def _folded_parts(word: str) -> tuple[str, ...]:
    """A word's folded tokens. NFKC can turn one letter into letters and digits
    ("½" → "1⁄2"), so the folded word is split again to keep the letter/digit rule.
    Memoised with the fold: this was a fifth of matching's time (bench/ingest.py)."""
    return tuple(_PIECE.findall(fold(word)))


_ASCII_PIECE = re.compile(r"[a-z]+|[0-9]+")
# A character beyond ASCII that can be part of a piece (a letter, a digit, a mark of
# ``_PIECE``'s range). Every other one separates pieces, and none lower-cases to a letter
# or a digit (a test checks every code point).
_NON_ASCII_WORD = re.compile(r"(?![\x00-\x7f])[\w\u0300-\u036f]")


def vocabulary(text: str) -> set[str]:
    """The distinct folded tokens of ``text``: ``{t.text for t in tokenize(text)}``.

    Built without :class:`Token` objects or offsets, from the memoised folds, so
    the matcher can tell cheaply that an item cannot match any query before it
    indexes the item (``Document``): that indexing was 40% of a poll's CPU.
    """
    if folds_by_lowering(text):  # one pass in C
        return set(_ASCII_PIECE.findall(text.lower()))
    pieces = (_PIECE if _MARK.search(text) else _PLAIN_PIECE).findall(text)
    words: set[str] = set()
    for piece in set(pieces):
        if piece.isascii():
            words.add(piece.lower())
        else:
            words.update(_folded_parts(piece))
    return words


def folds_by_lowering(text: str) -> bool:
    """Whether ``text``'s pieces are its runs of ASCII letters and digits, so that its tokens
    are those of ``text.lower()`` split at every other character.

    Not only ASCII text: English with curly quotes or dashes too (96% of bench/ingest.py's
    items, where 48% are pure ASCII).
    """
    return text.isascii() or _NON_ASCII_WORD.search(text) is None


def normalize(text: str) -> str:
    """The canonical form of ``text``: its folded tokens joined by spaces."""
    return " ".join(token.text for token in tokenize(text))
