"""Sentence spans: where each sentence of an item's text starts and ends.

``split_sentences(text)`` returns character spans ``(start, end)`` into the
text, in order, never overlapping, trimmed of surrounding whitespace, and
together covering every non-space character. Every line is split on its own,
so an item's title line (``Item.text`` puts it first, then a newline) is
always a sentence of its own, and no span crosses a line break.

Within a line a sentence ends at ``.``, ``!``, ``?`` or ``…`` (or a run of
them, plus closing quotes and brackets) followed by whitespace or the end of
the line, with these exceptions for a full stop, in any script:

* an abbreviation: ``Dr.``, ``Mr.``, ``Sra.``, ``etc.``, ``т.е.``, months, and
  ``No.``/``Vol.`` when a number follows;
* a dotted acronym (``U.S.``, ``e.g.``, ``EE.UU.``) or a single-letter initial
  (``J. Smith``, ``А. С. Пушкин``);
* the next sentence would start with a lower-case letter (``approx. five``,
  ``wait... what``, ``в 2020 г. в Москве``).

Decimals (``3.5``) and domain names never split: there is no space after
their dot. The CJK full stops ``。！？`` end a sentence without a space.
``¿`` and ``¡`` simply start the next sentence. A wrong split costs little (the
semantic matcher scores each sentence and takes the best), so the rules stay
few and predictable rather than clever.
"""

from __future__ import annotations

import re

# A terminator run, its closing quotes or brackets, then a space or the end.
_CLOSERS = "\"'”’»)]」』"
_BOUNDARY = re.compile(
    rf"[.!?…]+[{re.escape(_CLOSERS)}]*(?=\s|\Z)|[。！？]+[{re.escape(_CLOSERS)}]*"
)
# The word before a terminator: what decides whether a full stop ends a sentence.
_WORD_BEFORE = re.compile(r"""[^\s"'“‘«(\[¿¡。！？]+\Z""")
_NEXT_CHAR = re.compile(r"\s*(\S)")
# ``U.S``, ``e.g``, ``EE.UU``, ``т.е``: short letter groups joined by dots.
_DOTTED = re.compile(r"(?:[^\W\d_]{1,3}\.)+[^\W\d_]{1,3}")

ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof sr jr st mt ft vs etc fig gen gov sen rep lt col sgt capt cmdr
    adm maj pres supt messrs inc ltd co corp bros dept est approx
    jan feb mar apr jun jul aug sep sept oct nov dec
    sra srta sres dra ud uds lic ing av pág
    гг ул им проф акад ген млн млрд тыс руб стр""".split()
)
# Abbreviations that are also ordinary words ("the answer is no."): only when a number follows.
NUMBER_ABBREVIATIONS = frozenset("no nos nr vol pp art núm nº".split())


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, in order."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        spans.extend(_split_line(line, offset))
        offset += len(line)
    return spans


def _split_line(line: str, offset: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    for found in _BOUNDARY.finditer(line):
        if _ends_sentence(line, found):
            spans.extend(_trimmed(line, start, found.end(), offset))
            start = found.end()
    spans.extend(_trimmed(line, start, len(line), offset))
    return spans


def _ends_sentence(line: str, found: re.Match[str]) -> bool:
    """Whether the terminator run ``found`` ends a sentence."""
    run = found.group().rstrip(_CLOSERS)
    if run[-1] in "!?。！？":
        return True
    next_char = _NEXT_CHAR.match(line, found.end())
    following = next_char.group(1) if next_char else ""
    if following.islower():
        return False  # "approx. five", "wait... what"
    if run != ".":
        return True  # an ellipsis before a capital
    word_match = _WORD_BEFORE.search(line, max(0, found.start() - 40), found.start())
    word = word_match.group() if word_match else ""
    folded = word.casefold()
    if folded in ABBREVIATIONS or _DOTTED.fullmatch(word):
        return False
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. Smith"
    return not (folded in NUMBER_ABBREVIATIONS and following.isdigit())


def _trimmed(line: str, start: int, end: int, offset: int) -> list[tuple[int, int]]:
    """The span ``line[start:end]`` without its surrounding whitespace, if anything is left."""
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return [(offset + start, offset + end)] if start < end else []
