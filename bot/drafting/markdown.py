"""An article as sentences: markdown stripped line by line, each sentence with its line.

Drafts note the line of the article they come from, so that a reviewer finds them;
this module keeps the editor's line numbers through markdown stripping, paragraph
joining and sentence splitting.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from bot.matching.sentences import split_sentences

_FIRST_WORD = re.compile(r"[^\W_]")

# What YAML cannot carry (control characters, U+FFFE/U+FFFF): blanked before anything else.
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)[\s#]*$")
_RULE = re.compile(r"^\s{0,3}(?:[-*_=]\s*){3,}$")
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S")
_BLOCK_PREFIX = re.compile(r"^\s*(?:>\s?)*(?:(?:[-*+]|\d{1,3}[.)])\s+)?")
_BULLET = re.compile(r"^\s*(?:>\s?)*(?:[-*+]|\d{1,3}[.)])\s+")
_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image: its alt text
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote reference
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link: its text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link
    (re.compile(r"<https?://[^>]+>"), ""),  # autolink
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # HTML tag
    (re.compile(r"`+([^`]*)`+"), r"\1"),  # inline code
    (re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong, strikethrough
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _emphasis_
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])"), r"\1"),  # backslash escape
)


def strip_markdown(line: str) -> str:
    """One line of markdown as plain text: links, emphasis, code marks and block
    prefixes (headings, quotes, bullets) removed, so the statement reads as prose."""
    heading = _HEADING.match(line)
    text = heading.group(1) if heading else _BLOCK_PREFIX.sub("", line, count=1)
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()


_Block = list[tuple[int, str]]  # a paragraph: (line number, plain text) per line


def _blocks(text: str) -> list[_Block]:
    """Paragraphs as lists of (line number, plain text line).

    Markdown joins consecutive lines into one paragraph, so where the article
    separates paragraphs with blank lines, lines join; where it has none (one
    paragraph per line, as pasted web text usually is) a line joins the previous
    one only if it starts in lower case. Headings, bullets and rules always break.
    """
    # Lines as an editor numbers them: only \n ends one (str.splitlines also splits at \x0c,
    # \x1c, \u2028, ...), so the line noted on each draft is where the user will look.
    lines = [line.rstrip("\r") for line in _UNPRINTABLE.sub(" ", text).split("\n")]
    blank_separated = any(not line.strip() for line in lines[1:-1])
    blocks: list[_Block] = []
    current: _Block = []
    fenced = False
    for number, raw in enumerate(lines, 1):
        if _FENCE.match(raw):
            fenced = not fenced
            continue
        skip = fenced or not raw.strip() or _RULE.match(raw) or _REF_DEFINITION.match(raw)
        plain = "" if skip else strip_markdown(raw)
        if not plain:
            current = _flush(blocks, current)
            continue
        starts_block = bool(_HEADING.match(raw) or _BULLET.match(raw))
        joins = blank_separated or plain[0].islower()
        if current and (starts_block or not joins or _HEADING.match(lines[current[-1][0] - 1])):
            current = _flush(blocks, current)
        current.append((number, plain))
    _flush(blocks, current)
    return blocks


def _flush(blocks: list[_Block], current: _Block) -> _Block:
    """Close the paragraph being built, if any; the next one starts empty."""
    if current:
        blocks.append(current)
    return []


def article_sentences(text: str) -> list[tuple[int, str]]:
    """Every sentence of the article, whitespace-normalised, with the line it starts on."""
    found: list[tuple[int, str]] = []
    for block in _blocks(text):
        joined = " ".join(line for _, line in block)
        offsets = [0]
        for _, line in block[:-1]:
            offsets.append(offsets[-1] + len(line) + 1)
        for start, end in split_sentences(joined):
            word = _FIRST_WORD.search(joined, start, end)  # not a stray "@" on the line above
            number = block[bisect_right(offsets, word.start() if word else start) - 1][0]
            found.append((number, " ".join(joined[start:end].split())))
    return found
