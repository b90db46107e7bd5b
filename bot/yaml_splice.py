"""Finding an entry's exact lines in a config file, and splicing a re-rendered entry back in.

Why this exists: ruamel.yaml cannot dump the shipped claims.yaml back byte for
byte (it joins a flow list written over several lines, like the ``us:`` alias),
so an edit never re-emits the whole document. Instead ruamel's scanner tells
which lines hold YAML and which only comments or blanks; from that each entry of
the section gets its line range (the comment lines directly above it included).
The one entry added or changed is rendered by ruamel with the file's indentation
and spliced into the original text, and the result must parse to exactly the
data intended before anyone uses it.

This module knows nothing about claims or feeds: :mod:`bot.config_edit` decides
what to change, validates it and writes it.
"""

from __future__ import annotations

import contextlib
import copy
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, tokens
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString
from ruamel.yaml.tokens import CommentToken

from bot.config import ConfigErrors, parse_yaml
from bot.errors import ConfigError

# New long strings are folded as `>-` to stay within this, like the shipped files.
LINE_WIDTH = 100
# What ruamel renders must never be re-wrapped by it.
_DUMP_WIDTH = 4096
# Tokens that put YAML on a line; the rest are zero-width markers or comments.
_CONTENT_TOKENS = (
    tokens.ScalarToken, tokens.AliasToken, tokens.AnchorToken, tokens.TagToken,
    tokens.BlockEntryToken, tokens.KeyToken, tokens.ValueToken, tokens.FlowEntryToken,
    tokens.FlowSequenceStartToken, tokens.FlowSequenceEndToken,
    tokens.FlowMappingStartToken, tokens.FlowMappingEndToken,
)
# Line breaks to str.splitlines (and to YAML 1.1) but text inside a line to YAML 1.2 and
# ruamel's marks: NEL, LS, PS. ruamel's dumper still writes them raw as if they broke the
# line, which does not read back the same; written escaped ("\\L") they do.
LINE_SEPARATORS = "\x85\u2028\u2029"
# Where ruamel's marks count a new line: after \n, \r\n or a lone \r, and nowhere else.
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
_NOTHING_WRITTEN = (
    "nothing was written; line numbers are those the file would have after this change"
)


@dataclass(frozen=True)
class Entry:
    """Where one list entry sits, as 0-based line indexes.

    ``start`` is the first of the comment lines directly above the entry (no blank
    line between), or its dash line; ``stop`` is one past its last line of YAML.
    """

    data: Any
    start: int
    dash: int
    stop: int


@dataclass(frozen=True)
class Layout:
    """A config file read for editing: its lines, data, and where the section's entries are."""

    path: Path
    before: bytes
    lines: tuple[str, ...]
    newline: str
    document: CommentedMap
    section: str
    key_line: int
    dash_col: int
    item_col: int
    entries: tuple[Entry, ...]

    @property
    def separated(self) -> bool:
        """Whether entries are set apart by blank lines (the house style, so the default)."""
        if len(self.entries) < 2:
            return True
        return any(not self.lines[e.start - 1].strip() for e in self.entries[1:])

    @property
    def original(self) -> str:
        """The file's text exactly as read (``lines`` may be normalised: a final newline,
        ``feeds: []`` opened up): what a change that changes nothing leaves."""
        return self.before.decode("utf-8")

    @property
    def insert_at(self) -> int:
        return self.entries[-1].stop if self.entries else self.key_line + 1


# --- reading the layout -----------------------------------------------------------------------


def read_layout(path: Path, section: str) -> Layout:
    raw, text = _read(path)
    newline = "\r\n" if "\r\n" in text else "\n"
    if text and not text.endswith("\n"):
        text += newline
    document = _load(text, path)
    if document is None:  # empty, or only comments: start the list
        text += f"{section}:{newline}"
        document = _load(text, path)
    if not isinstance(document, CommentedMap) or section not in document:
        raise ConfigError(f"expected a top-level '{section}:' list", path=str(path), line=1)
    lines = split_lines(text)
    key_line = document.lc.key(section)[0]
    value = document[section]
    if value is None or isinstance(value, CommentedSeq) and not value:
        lines[key_line] = _empty_list_key(lines[key_line], section, path, key_line)
        return Layout(path, raw, tuple(lines), newline, document, section, key_line, 2, 4, ())
    if not isinstance(value, CommentedSeq) or value.fa.flow_style():
        raise ConfigError(
            "must be a list of '- ' entries (block style) to be edited by claimbot",
            path=str(path), line=key_line + 1, field=section,
        )
    dash_col = value.lc.col
    item_col = value.lc.item(0)[1] if isinstance(value[0], CommentedMap) else dash_col + 2
    bound = _section_end(document, section, len(lines))
    entries = _entries(text, lines, value, key_line, bound, dash_col, path)
    return Layout(path, raw, tuple(lines), newline, document, section, key_line, dash_col,
                   item_col, entries)


def split_lines(text: str) -> list[str]:
    """``text``'s lines, ends kept, numbered as ruamel's marks number them.

    Not ``str.splitlines``: that also breaks at NEL, LS and PS (and form feeds...),
    which YAML 1.2 reads as text within a line.
    """
    lines = _LINE_END.split(text)
    return lines[:-1] if not lines[-1] else lines


def _load(text: str, path: Path) -> Any:
    """The document with each string's quoting kept, so a re-rendered entry keeps it too."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        return yaml.load(text)
    except MarkedYAMLError:
        return parse_yaml(text, path)  # raises the error with the file and line


def _read(path: Path) -> tuple[bytes, str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from exc
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read: not UTF-8 ({exc.reason})", path=str(path)) from exc


def _empty_list_key(line: str, section: str, path: Path, index: int) -> str:
    """``feeds: []`` (or ``feeds: ~``) as ``feeds:``, ready for block entries below it."""
    body = line.rstrip("\r\n")
    found = re.fullmatch(rf"({re.escape(section)}\s*:)\s*(?:\[\s*\]|~|null)?(\s*(?:#.*)?)", body)
    if not found:
        raise ConfigError(f"write the empty list as '{section}: []' or '{section}:'",
                          path=str(path), line=index + 1)
    return found.group(1) + found.group(2) + line[len(body) :]


def _section_end(document: CommentedMap, section: str, total: int) -> int:
    """The line of the top-level key after ``section``, or the end of the file."""
    keys = list(document)
    following = keys[keys.index(section) + 1 :]
    return int(document.lc.key(following[0])[0]) if following else total


def _entries(
    text: str, lines: Sequence[str], items: Sequence[Any], key_line: int, bound: int,
    dash_col: int, path: Path,
) -> tuple[Entry, ...]:
    content, dashes = _scan(text, len(lines), dash_col, key_line, bound)
    if len(dashes) != len(items):
        raise ConfigError("cannot tell where each entry starts; edit this file by hand",
                          path=str(path), line=key_line + 1)
    entries: list[Entry] = []
    floor = key_line + 1
    for index, dash in enumerate(dashes):
        limit = dashes[index + 1] if index + 1 < len(dashes) else bound
        last = max(line for line in range(dash, limit) if content[line])
        while last > dash and not lines[last].strip():
            last -= 1
        start = dash
        while start > floor and not content[start - 1] and _is_comment(lines[start - 1]):
            start -= 1
        entries.append(Entry(items[index], start, dash, last + 1))
        floor = last + 1
    return tuple(entries)


def _scan(
    text: str, total: int, dash_col: int, key_line: int, bound: int
) -> tuple[list[bool], list[int]]:
    """Which lines hold YAML (not only comments or blanks), and the section's dash lines."""
    content = [False] * total
    dashes: list[int] = []
    for token in _tokens(text):
        if not isinstance(token, _CONTENT_TOKENS):
            continue
        first, end = token.start_mark.line, token.end_mark
        last = end.line if end.column > 0 or end.line == first else end.line - 1
        for line in range(first, min(last, total - 1) + 1):
            content[line] = True
        if (isinstance(token, tokens.BlockEntryToken) and token.start_mark.column == dash_col
                and key_line < first < bound):
            dashes.append(first)
    return content, dashes


def _tokens(text: str) -> Iterator[Any]:
    yield from YAML(typ="rt").scan(text)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def find(layout: Layout, key: str, value: str) -> list[Entry]:
    return [
        e for e in layout.entries if isinstance(e.data, CommentedMap) and e.data.get(key) == value
    ]


# --- rendering and splicing -------------------------------------------------------------------


def detached(entry: Entry) -> Any:
    """A copy of the entry's data to change and render, without the comments below it.

    ruamel hangs the comment lines that follow an entry (a blank line, then ``# about
    the next claim``) on the entry's last key. Those lines are not the entry's (they
    lie past ``stop``, so a splice leaves them in place); rendered with it, they would
    come back a second time, inside it. So every comment is cut at ``stop``: a same-line
    comment on the entry's last line stays, the full-line comments after it go.
    Strings holding a line separator are double-quoted, so they render escaped.
    """
    data = copy.deepcopy(entry.data)
    _prepare(data, entry.stop)
    return data


def _prepare(node: Any, stop: int) -> None:
    if not isinstance(node, CommentedMap | CommentedSeq):
        return
    comments = node.ca
    if comments.comment:
        comments.comment = [_cut_slot(slot, stop) for slot in comments.comment]
    if comments.end:
        comments.end = _cut_slot(comments.end, stop) or []
    for key, slots in list(comments.items.items()):
        comments.items[key] = [_cut_slot(slot, stop) for slot in slots]
    children = node.items() if isinstance(node, CommentedMap) else enumerate(node)
    for key, value in list(children):
        if isinstance(value, str) and any(c in value for c in LINE_SEPARATORS):
            node[key] = _escaped(value)
        _prepare(value, stop)


def _cut_slot(slot: Any, stop: int) -> Any:
    """One place of ruamel's comment bookkeeping: a token, a list of them, or None."""
    if isinstance(slot, list):
        kept = [cut for token in slot if (cut := _cut_slot(token, stop)) is not None]
        return kept or None
    if isinstance(slot, CommentToken):
        return _cut_comment(slot, stop)
    return slot


def _cut_comment(token: CommentToken, stop: int) -> CommentToken | None:
    """The part of ``token`` above line ``stop``, or None if nothing is.

    A token starting with a newline holds no same-line comment and starts on its first
    comment line; otherwise its first line is where it starts (a same-line comment, or a
    full-line one below a block scalar).
    """
    mark = token.start_mark
    if mark is None:
        return token
    if mark.line >= stop:
        return None
    value = token.value
    if value.startswith("\n"):
        return token  # full-line comments above a later key of the entry: all inside it
    rows = value.removesuffix("\n").split("\n")
    inside = stop - mark.line
    if len(rows) <= inside:
        return token
    return CommentToken("\n".join(rows[:inside]) + "\n", mark, token.end_mark)


def _escaped(text: str) -> object:
    return DoubleQuotedScalarString(text)


def one_line(text: str) -> str:
    """``text`` with each line separator (NEL, LS, PS) as a space: for one-line fields."""
    return text.translate({ord(c): " " for c in LINE_SEPARATORS})


def new_entry(fields: Mapping[str, object], order: Sequence[str], indent: int) -> CommentedMap:
    """A mapping of the given fields (None left out), in the file's usual key order."""
    ranked = sorted(fields, key=lambda k: order.index(k) if k in order else len(order))
    data = CommentedMap()
    for key in ranked:
        if fields[key] is not None:
            data[key] = styled(key, fields[key], indent)
    return data


def styled(key: str, value: object, indent: int) -> object:
    """A value as the shipped files write it: flow lists, long texts folded."""
    if isinstance(value, list | tuple):
        items = CommentedSeq(value)
        items.fa.set_flow_style()
        return items
    if isinstance(value, str):
        if any(c in value for c in LINE_SEPARATORS):
            return _escaped(value)
        return _folded_if_long(key, value, indent)
    return value


def _folded_if_long(key: str, text: str, indent: int) -> object:
    """``text`` as a folded scalar (``>-``) if it would run past LINE_WIDTH on one line.

    Only single-spaced text is folded: there folding is lossless, since each line
    break reads back as one space.
    """
    if indent + len(key) + 2 + len(text) <= LINE_WIDTH or text != " ".join(text.split()):
        return text
    pieces = textwrap.wrap(
        text, LINE_WIDTH - indent - 2, break_long_words=False, break_on_hyphens=False
    )
    if len(pieces) < 2 or " ".join(pieces) != text:
        return text
    folded = FoldedScalarString(text)
    positions, at = [], 0
    for piece in pieces[:-1]:
        at += len(piece)
        positions.append(at)
        at += 1
    folded.fold_pos = positions
    return folded


def render(layout: Layout, data: Any) -> list[str]:
    """``data`` as one entry of the section, indented like the file's, without comments around."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=layout.item_col, offset=layout.dash_col)
    yaml.width = _DUMP_WIDTH
    yaml.preserve_quotes = True
    document = CommentedMap()
    document[layout.section] = CommentedSeq([data])
    stream = StringIO()
    yaml.dump(document, stream)
    text = stream.getvalue()
    lines = split_lines(text)
    (entry,) = _entries(text, lines, [data], 0, len(lines), layout.dash_col, layout.path)
    return [line.rstrip("\r\n") + layout.newline for line in lines[entry.dash : entry.stop]]


def insert(layout: Layout, datas: Sequence[Any]) -> tuple[list[str], int, str]:
    """The file's lines with new entries after the last one; the 1-based line and text added."""
    added: list[str] = []
    first = 0
    for index, data in enumerate(datas):
        if layout.separated and (layout.entries or index):
            added.append(layout.newline)
        first = first or len(added) + 1
        added += render(layout, data)
    at = layout.insert_at
    lines = [*layout.lines[:at], *added, *layout.lines[at:]]
    return lines, at + first, "".join(added).lstrip("\r\n")


def cut(layout: Layout, entry: Entry) -> tuple[list[str], str, int]:
    """The file's lines without ``entry``; the text removed and the 0-based line it began on.

    The comment lines directly above the entry go with it, unless the next entry has
    none of its own: then they may well be a heading for what follows (``# --- Spanish
    ---`` above the first feed of a group), so they stay, directly above that entry.
    One blank line stays where entries were set apart by one.
    """
    following = [e for e in layout.entries if e.dash > entry.dash]
    keep_comments = bool(following) and following[0].start == following[0].dash
    start = entry.dash if keep_comments else entry.start
    before = list(layout.lines[:start])
    after = list(layout.lines[entry.stop :])
    blanks = next((i for i, line in enumerate(after) if line.strip()), len(after))
    if blanks == len(after):
        while before and not before[-1].strip():
            before.pop()
        after = []
    elif blanks and (keep_comments or start == layout.key_line + 1 or not before[-1].strip()):
        after = after[blanks:]
    return before + after, "".join(layout.lines[start : entry.stop]), start


def checked(layout: Layout, lines: Sequence[str], expected: list[Any], mismatch: str) -> str:
    """The new text, once it parses to exactly the data intended: the splice moved nothing."""
    text = "".join(lines)
    with nothing_written(layout.path):
        document = parse_yaml(text, layout.path)
    wanted = plain(layout.document)
    wanted[layout.section] = expected
    found = plain(document) if isinstance(document, CommentedMap) else None
    if isinstance(found, dict):
        found[layout.section] = found.get(layout.section) or []
    if found != wanted:
        raise ConfigError(f"{mismatch}; nothing was written", path=str(layout.path))
    return text


def reindent(text: str, dash_col: int, newline: str) -> list[str]:
    """``text``'s lines shifted so its dash sits at ``dash_col``, like the file's entries.

    Lines end at ``\\n`` only: a line separator inside a quoted string is text.
    """
    lines = [line.rstrip("\r") for line in text.strip("\r\n").split("\n")]
    first = next(
        (line for line in lines if line.strip() and not line.lstrip().startswith("#")), ""
    )
    shift = dash_col - (len(first) - len(first.lstrip(" ")))
    return [_shift(line, shift) + newline for line in lines]


def _shift(line: str, by: int) -> str:
    if not line.strip():
        return ""
    if by >= 0:
        return " " * by + line
    return line[min(-by, len(line) - len(line.lstrip(" "))) :]


@contextlib.contextmanager
def nothing_written(path: Path) -> Iterator[None]:
    """Problems in a would-be text, plus a line saying the file was not touched."""
    try:
        yield
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        raise ConfigErrors([*errors, ConfigError(_NOTHING_WRITTEN, path=str(path))]) from exc


def plain(node: Any) -> Any:
    """ruamel's containers as plain dicts and lists, to compare data."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v) for v in node]
    return node
