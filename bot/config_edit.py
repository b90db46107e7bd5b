"""Edits of claims.yaml and feeds.yaml that keep everything a person wrote there.

These files are written by hand, heavily commented, and reloaded by a running
bot when they change. So every edit made here:

1. **touches only its own lines.** ruamel.yaml reads the file: the data, and,
   from the scanner's tokens, which lines hold YAML and which only comments or
   blanks. The one entry added or changed is rendered by ruamel with the file's
   indentation and spliced into the original text; nothing else is re-emitted.
   (Dumping the whole document is not faithful: ruamel joins a flow list written
   over several lines, like the ``us:`` alias in config/claims.yaml.)
2. **is checked before it is written.** The new text must parse to exactly the
   data intended (so the splice disturbed nothing else) and pass the checks of
   ``load_claims``/``load_feeds``; problems name the real file and the line they
   would be on after the change.
3. **is written atomically, and only over what was read.** A temp file in the
   same folder is fsynced and renamed over the file, so the bot never sees half
   a file; and if the file changed since it was read (a hand edit meanwhile),
   nothing is written.

Functions that change a file return a :class:`Change` (the new text, validated,
and what it parses to) without writing; :func:`write_change` writes it. Dry runs,
and anything else that wants to look at a new claim first, use the Change in
between.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import stat
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml import YAML, tokens
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarstring import FoldedScalarString

from bot.config import (
    Claim,
    ClaimSet,
    ConfigErrors,
    Feed,
    FeedSet,
    parse_claims,
    parse_feeds,
    parse_yaml,
)
from bot.errors import ConfigError

# New long strings are folded as `>-` to stay within this, like the shipped files.
LINE_WIDTH = 100
# What ruamel renders must never be re-wrapped by it.
_DUMP_WIDTH = 4096
_CLAIM_KEYS = tuple(Claim.model_fields)
_FEED_KEYS = ("name", "url", "interval", "tags", "enabled")
# Tokens that put YAML on a line; the rest are zero-width markers or comments.
_CONTENT_TOKENS = (
    tokens.ScalarToken, tokens.AliasToken, tokens.AnchorToken, tokens.TagToken,
    tokens.BlockEntryToken, tokens.KeyToken, tokens.ValueToken, tokens.FlowEntryToken,
    tokens.FlowSequenceStartToken, tokens.FlowSequenceEndToken,
    tokens.FlowMappingStartToken, tokens.FlowMappingEndToken,
)
_NOTHING_WRITTEN = (
    "nothing was written; line numbers are those the file would have after this change"
)
_SetT = TypeVar("_SetT", ClaimSet, FeedSet)


@dataclass(frozen=True)
class Change:
    """A new version of a config file, validated and not yet written.

    ``before`` is the file as read: :func:`write_change` refuses to write over
    anything else. ``snippet`` is the text added, replaced or removed, starting
    at 1-based ``line`` (of the new text; of the old one for a removal).
    """

    path: Path
    before: bytes
    text: str
    snippet: str
    line: int

    @property
    def unchanged(self) -> bool:
        return self.text.encode("utf-8") == self.before


@dataclass(frozen=True)
class ClaimChange(Change):
    """A change to a claims file; ``claim`` is the claim added or edited (None: removed)."""

    claims: ClaimSet
    claim: Claim | None


@dataclass(frozen=True)
class FeedChange(Change):
    """A change to a feeds file; ``skipped`` are URLs not added because they were listed."""

    feeds: FeedSet
    added: tuple[Feed, ...] = ()
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryText:
    """One entry exactly as written (comments directly above it included), from 1-based line.

    ``before`` is the whole file as read, so an edit based on this text can tell
    whether the file changed in the meantime.
    """

    path: Path
    line: int
    text: str
    before: bytes


@dataclass(frozen=True)
class _Entry:
    """Where one list entry sits, as 0-based line indexes.

    ``start`` is the first of the comment lines directly above the entry (no blank
    line between), or its dash line; ``stop`` is one past its last line of YAML.
    """

    data: Any
    start: int
    dash: int
    stop: int


@dataclass(frozen=True)
class _Layout:
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
    entries: tuple[_Entry, ...]

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


# --- claims -----------------------------------------------------------------------------------


def show_claim(path: Path | str, claim_id: str) -> EntryText:
    """The claim's YAML as written, with the comment lines directly above it."""
    layout = _layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    text = "".join(layout.lines[entry.start : entry.stop])
    return EntryText(layout.path, entry.start + 1, text, layout.before)


def add_claim(path: Path | str, fields: Mapping[str, object]) -> ClaimChange:
    """A new claim at the end of the ``claims:`` list; None values are left out.

    Refuses an id already in use. Long texts are folded (``>-``) and tags are a
    flow list, as in the shipped file.
    """
    layout = _layout(Path(path), "claims")
    claim_id = str(fields.get("id") or "")
    taken = _find(layout, "id", claim_id)
    if taken:
        raise ConfigError(
            f"a claim with id {claim_id!r} already exists; choose another id, or change that"
            f" one with: claimbot claims edit {claim_id}",
            path=str(layout.path),
            line=taken[0].dash + 1,
            field="id",
        )
    data = _new_entry(fields, _CLAIM_KEYS, layout.item_col)
    lines, line, snippet = _insert(layout, [data])
    expected = [*(_plain(e.data) for e in layout.entries), _plain(data)]
    text = _checked(layout, lines, expected, "the new claim did not fit into the file")
    claims = _validated(parse_claims, text, layout.path)
    return ClaimChange(
        layout.path, layout.before, text, snippet, line, claims, claims.get(claim_id)
    )


def update_claim(
    path: Path | str, claim_id: str, changes: Mapping[str, object | None]
) -> ClaimChange:
    """The claim with ``changes`` applied in place: a value sets a field, None removes it.

    Comments and key order stay; new keys go at the end of the claim. The id
    cannot change: stored matches refer to it.
    """
    layout = _layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    if "id" in changes and changes["id"] != claim_id:
        raise _id_is_stable(layout.path, claim_id, entry.dash + 1)
    data = copy.deepcopy(entry.data)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif _plain(data.get(key)) != _plain(value):
            data[key] = _styled(key, value, layout.item_col)
    rendered = [] if _plain(data) == _plain(entry.data) else _render(layout, data)
    return _replace_claim(layout, entry, claim_id, data, rendered, entry.dash)


def set_claim_enabled(path: Path | str, claim_id: str, enabled: bool) -> ClaimChange:
    """Enable (by removing ``enabled:``, true being the default) or disable a claim."""
    return update_claim(path, claim_id, {"enabled": None if enabled else False})


def replace_claim(
    path: Path | str, claim_id: str, new_yaml: str, *, source: str,
    shown: EntryText | None = None,
) -> ClaimChange:
    """The claim replaced by ``new_yaml`` as the user wrote it (one ``- id: ...`` entry).

    ``source`` names where the text came from (the editor's temp file) in errors
    about the text itself; errors about the result name the claims file. ``shown``
    is what the user edited: if the file changed since it was read, nothing is done.
    """
    layout = _layout(Path(path), "claims")
    if shown is not None and shown.before != layout.before:
        raise _changed_on_disk(layout.path)
    entry = _claim_entry(layout, claim_id)
    data = _one_entry(new_yaml, source)
    if data.get("id") != claim_id:
        line = data.lc.key("id")[0] + 1 if "id" in data else 1
        raise _id_is_stable(Path(source), claim_id, line)
    rendered = _reindent(new_yaml, layout.dash_col, layout.newline)
    if rendered == list(layout.lines[entry.start : entry.stop]):
        rendered = []
    return _replace_claim(layout, entry, claim_id, data, rendered, entry.start)


def remove_claim(path: Path | str, claim_id: str) -> ClaimChange:
    """The file without the claim and, usually, the comment lines directly above it.

    Those comments stay when the next claim has none of its own (see :func:`_cut`).
    """
    layout = _layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    lines, snippet, start = _cut(layout, entry)
    expected = [_plain(e.data) for e in layout.entries if e is not entry]
    text = _checked(layout, lines, expected, "removing the claim would disturb the file")
    claims = _validated(parse_claims, text, layout.path)
    return ClaimChange(layout.path, layout.before, text, snippet, start + 1, claims, None)


def _claim_entry(layout: _Layout, claim_id: str) -> _Entry:
    found = _find(layout, "id", claim_id)
    if not found:
        raise ConfigError(
            f"no claim with id {claim_id!r} (claimbot claims list shows them)",
            path=str(layout.path),
        )
    return found[0]


def _id_is_stable(path: Path, claim_id: str, line: int) -> ConfigError:
    return ConfigError(
        f"the id cannot change from {claim_id!r}: stored matches refer to it; add a new claim"
        " and remove or disable this one instead",
        path=str(path),
        line=line,
        field="id",
    )


def _replace_claim(
    layout: _Layout, entry: _Entry, claim_id: str, data: Any, rendered: list[str], start: int
) -> ClaimChange:
    """The file with lines ``start`` to the entry's end replaced by ``rendered`` (kept if empty)."""
    if not rendered:
        claims = _validated(parse_claims, "".join(layout.lines), layout.path)
        return ClaimChange(layout.path, layout.before, layout.original, "", entry.dash + 1,
                           claims, claims.get(claim_id))
    lines = [*layout.lines[:start], *rendered, *layout.lines[entry.stop :]]
    expected = [_plain(data if e is entry else e.data) for e in layout.entries]
    text = _checked(
        layout, lines, expected, "the edited claim does not fit back into the file as one"
        " entry: check its indentation"
    )
    claims = _validated(parse_claims, text, layout.path)
    return ClaimChange(
        layout.path, layout.before, text, "".join(rendered), start + 1, claims,
        claims.get(claim_id),
    )


def _one_entry(text: str, source: str) -> CommentedMap:
    """The single list entry in ``text``, or an error naming ``source``."""
    data = parse_yaml(text, source)
    if not (isinstance(data, CommentedSeq) and len(data) == 1):
        raise ConfigError("expected exactly one claim, written as one '- id: ...' entry",
                          path=source, line=1)
    if not isinstance(data[0], CommentedMap):
        raise ConfigError("the claim must be a mapping of fields", path=source, line=1)
    return data[0]


def _reindent(text: str, dash_col: int, newline: str) -> list[str]:
    """``text``'s lines shifted so its dash sits at ``dash_col``, like the file's entries."""
    lines = [line.rstrip("\r\n") for line in text.strip("\r\n").splitlines()]
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


# --- feeds ------------------------------------------------------------------------------------


def add_feed(path: Path | str, fields: Mapping[str, object]) -> FeedChange:
    """A new feed at the end of the ``feeds:`` list; refuses a URL already listed."""
    layout = _layout(Path(path), "feeds")
    url = str(fields.get("url") or "")
    listed = _feeds_by_key(layout).get(_feed_key(layout.path, url))
    if listed is not None:
        name = listed.data.get("name")
        raise ConfigError(
            f"{url} is already listed" + (f" as {name!r}" if name else ""),
            path=str(layout.path),
            line=listed.dash + 1,
        )
    return _add_feeds(layout, [fields], ())


def import_feeds(path: Path | str, feeds: Sequence[Mapping[str, object]]) -> FeedChange:
    """Every feed in ``feeds`` whose URL is not listed yet (nor earlier in ``feeds``)."""
    layout = _layout(Path(path), "feeds")
    seen = set(_feeds_by_key(layout))
    new: list[Mapping[str, object]] = []
    skipped: list[str] = []
    for fields in feeds:
        key = _feed_key(layout.path, str(fields.get("url") or ""))
        if key in seen:
            skipped.append(str(fields.get("url")))
            continue
        seen.add(key)
        new.append(fields)
    return _add_feeds(layout, new, tuple(skipped))


def remove_feed(path: Path | str, url_or_name: str) -> FeedChange:
    """The file without the feed with this URL (or, failing that, this name).

    Comments directly above it go too, unless they may head the next feed (see :func:`_cut`).
    """
    layout = _layout(Path(path), "feeds")
    entry = _feeds_by_key(layout).get(_feed_key(layout.path, url_or_name))
    if entry is None:
        entry = _one_by_name(layout, url_or_name)
    lines, snippet, start = _cut(layout, entry)
    expected = [_plain(e.data) for e in layout.entries if e is not entry]
    text = _checked(layout, lines, expected, "removing the feed would disturb the file")
    feeds = _validated(parse_feeds, text, layout.path)
    return FeedChange(layout.path, layout.before, text, snippet, start + 1, feeds)


def _add_feeds(
    layout: _Layout, new: Sequence[Mapping[str, object]], skipped: tuple[str, ...]
) -> FeedChange:
    if not new:
        feeds = _validated(parse_feeds, "".join(layout.lines), layout.path)
        return FeedChange(layout.path, layout.before, layout.original, "", 0, feeds, (), skipped)
    datas = [_new_entry(fields, _FEED_KEYS, layout.item_col) for fields in new]
    lines, line, snippet = _insert(layout, datas)
    expected = [*(_plain(e.data) for e in layout.entries), *map(_plain, datas)]
    text = _checked(layout, lines, expected, "the new feeds did not fit into the file")
    feeds = _validated(parse_feeds, text, layout.path)
    return FeedChange(layout.path, layout.before, text, snippet, line, feeds,
                      feeds.feeds[-len(datas) :], skipped)


def _feed_key(path: Path, url: str) -> str:
    """A URL as the loader sees it: local relative paths resolve against the file's folder."""
    url = url.strip()
    if "://" in url or Path(url).is_absolute():
        return url
    return str((path.parent / url).resolve())


def _feeds_by_key(layout: _Layout) -> dict[str, _Entry]:
    return {
        _feed_key(layout.path, str(e.data["url"])): e
        for e in layout.entries
        if isinstance(e.data, CommentedMap) and "url" in e.data
    }


def _one_by_name(layout: _Layout, name: str) -> _Entry:
    found = _find(layout, "name", name)
    if len(found) == 1:
        return found[0]
    if not found:
        problem = f"no feed with URL or name {name!r} (claimbot feeds list shows them)"
        raise ConfigError(problem, path=str(layout.path))
    lines = ", ".join(str(e.dash + 1) for e in found)
    raise ConfigError(f"{len(found)} feeds are named {name!r} (lines {lines}): give the URL",
                      path=str(layout.path))


# --- writing ----------------------------------------------------------------------------------


def write_change(change: Change) -> None:
    """Write ``change`` atomically, unless the file no longer holds what was read.

    The new text goes to a temp file in the same folder, is fsynced and given the
    file's permission bits, then renamed over the file (through a symlink, onto its
    target): a reader, like the running bot, sees the old file or the new one,
    never part of one. The temp file never outlives an error.
    """
    if change.unchanged:
        return
    target = change.path.resolve()
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc}", path=str(change.path)) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(change.text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)
        _refuse_if_changed(change, target)
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write: {exc}", path=str(change.path)) from exc
        raise
    _sync_folder(target.parent)


def _refuse_if_changed(change: Change, target: Path) -> None:
    """The lost-update guard: checked last, just before the rename."""
    try:
        current = target.read_bytes()
    except OSError:
        current = None  # removed or unreadable since: changed all the same
    if current != change.before:
        raise _changed_on_disk(change.path)


def _changed_on_disk(path: Path) -> ConfigError:
    return ConfigError(
        "the file changed on disk since claimbot read it (edited by hand meanwhile?);"
        " nothing was written: run the command again",
        path=str(path),
    )


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --- reading the layout -----------------------------------------------------------------------


def _layout(path: Path, section: str) -> _Layout:
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
    lines = text.splitlines(keepends=True)
    key_line = document.lc.key(section)[0]
    value = document[section]
    if value is None or isinstance(value, CommentedSeq) and not value:
        lines[key_line] = _empty_list_key(lines[key_line], section, path, key_line)
        return _Layout(path, raw, tuple(lines), newline, document, section, key_line, 2, 4, ())
    if not isinstance(value, CommentedSeq) or value.fa.flow_style():
        raise ConfigError(
            "must be a list of '- ' entries (block style) to be edited by claimbot",
            path=str(path), line=key_line + 1, field=section,
        )
    dash_col = value.lc.col
    item_col = value.lc.item(0)[1] if isinstance(value[0], CommentedMap) else dash_col + 2
    bound = _section_end(document, section, len(lines))
    entries = _entries(text, lines, value, key_line, bound, dash_col, path)
    return _Layout(path, raw, tuple(lines), newline, document, section, key_line, dash_col,
                   item_col, entries)


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
) -> tuple[_Entry, ...]:
    content, dashes = _scan(text, len(lines), dash_col, key_line, bound)
    if len(dashes) != len(items):
        raise ConfigError("cannot tell where each entry starts; edit this file by hand",
                          path=str(path), line=key_line + 1)
    entries: list[_Entry] = []
    floor = key_line + 1
    for index, dash in enumerate(dashes):
        limit = dashes[index + 1] if index + 1 < len(dashes) else bound
        last = max(line for line in range(dash, limit) if content[line])
        while last > dash and not lines[last].strip():
            last -= 1
        start = dash
        while start > floor and not content[start - 1] and _is_comment(lines[start - 1]):
            start -= 1
        entries.append(_Entry(items[index], start, dash, last + 1))
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


def _find(layout: _Layout, key: str, value: str) -> list[_Entry]:
    return [
        e for e in layout.entries if isinstance(e.data, CommentedMap) and e.data.get(key) == value
    ]


# --- rendering and splicing -------------------------------------------------------------------


def _new_entry(fields: Mapping[str, object], order: Sequence[str], indent: int) -> CommentedMap:
    """A mapping of the given fields (None left out), in the file's usual key order."""
    ranked = sorted(fields, key=lambda k: order.index(k) if k in order else len(order))
    data = CommentedMap()
    for key in ranked:
        if fields[key] is not None:
            data[key] = _styled(key, fields[key], indent)
    return data


def _styled(key: str, value: object, indent: int) -> object:
    """A value as the shipped files write it: flow lists, long texts folded."""
    if isinstance(value, list | tuple):
        items = CommentedSeq(value)
        items.fa.set_flow_style()
        return items
    if isinstance(value, str):
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


def _render(layout: _Layout, data: Any) -> list[str]:
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
    lines = text.splitlines(keepends=True)
    (entry,) = _entries(text, lines, [data], 0, len(lines), layout.dash_col, layout.path)
    return [line.rstrip("\r\n") + layout.newline for line in lines[entry.dash : entry.stop]]


def _insert(layout: _Layout, datas: Sequence[Any]) -> tuple[list[str], int, str]:
    """The file's lines with new entries after the last one; the 1-based line and text added."""
    added: list[str] = []
    first = 0
    for index, data in enumerate(datas):
        if layout.separated and (layout.entries or index):
            added.append(layout.newline)
        first = first or len(added) + 1
        added += _render(layout, data)
    at = layout.insert_at
    lines = [*layout.lines[:at], *added, *layout.lines[at:]]
    return lines, at + first, "".join(added).lstrip("\r\n")


def _cut(layout: _Layout, entry: _Entry) -> tuple[list[str], str, int]:
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


def _checked(layout: _Layout, lines: Sequence[str], expected: list[Any], mismatch: str) -> str:
    """The new text, once it parses to exactly the data intended: the splice moved nothing."""
    text = "".join(lines)
    with _nothing_written(layout.path):
        document = parse_yaml(text, layout.path)
    wanted = _plain(layout.document)
    wanted[layout.section] = expected
    found = _plain(document) if isinstance(document, CommentedMap) else None
    if isinstance(found, dict):
        found[layout.section] = found.get(layout.section) or []
    if found != wanted:
        raise ConfigError(f"{mismatch}; nothing was written", path=str(layout.path))
    return text


def _validated(parse: Callable[[str, Path], _SetT], text: str, path: Path) -> _SetT:
    with _nothing_written(path):
        return parse(text, path)


@contextlib.contextmanager
def _nothing_written(path: Path) -> Iterator[None]:
    """Problems in a would-be text, plus a line saying the file was not touched."""
    try:
        yield
    except ConfigError as exc:
        errors = exc.errors if isinstance(exc, ConfigErrors) else [exc]
        raise ConfigErrors([*errors, ConfigError(_NOTHING_WRITTEN, path=str(path))]) from exc


def _plain(node: Any) -> Any:
    """ruamel's containers as plain dicts and lists, to compare data."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    return node
