"""Edits of claims.yaml and feeds.yaml that keep everything a person wrote there.

These files are written by hand, heavily commented, and reloaded by a running
bot when they change. So every edit made here:

1. **touches only its own lines.** ruamel.yaml reads the file: the data, and,
   from the scanner's tokens, which lines hold YAML and which only comments or
   blanks. The one entry added or changed is rendered by ruamel with the file's
   indentation and spliced into the original text; nothing else is re-emitted.
   (Dumping the whole document is not faithful: ruamel joins a flow list written
   over several lines, like the ``us:`` alias in config/claims.yaml.) That layer
   is :mod:`bot.yaml_splice`.
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
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.config import (
    Claim,
    ClaimSet,
    Feed,
    FeedSet,
    parse_claims,
    parse_feeds,
    parse_yaml,
)
from bot.errors import ConfigError
from bot.yaml_splice import (
    Entry,
    Layout,
    checked,
    cut,
    detached,
    find,
    insert,
    new_entry,
    nothing_written,
    one_line,
    plain,
    read_layout,
    reindent,
    render,
    styled,
)

_CLAIM_KEYS = tuple(Claim.model_fields)
_FEED_KEYS = ("name", "url", "interval", "tags", "enabled")
# Fields shown as one line (an alert's header, a feed's label): a line separator (LS, PS,
# NEL) pasted into one is a space.
_ONE_LINE_KEYS = ("title", "subtitle", "name")
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


# --- claims -----------------------------------------------------------------------------------


def show_claim(path: Path | str, claim_id: str) -> EntryText:
    """The claim's YAML as written, with the comment lines directly above it."""
    layout = read_layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    text = "".join(layout.lines[entry.start : entry.stop])
    return EntryText(layout.path, entry.start + 1, text, layout.before)


def add_claim(path: Path | str, fields: Mapping[str, object]) -> ClaimChange:
    """A new claim at the end of the ``claims:`` list; None values are left out.

    Refuses an id already in use. Long texts are folded (``>-``) and tags are a
    flow list, as in the shipped file.
    """
    layout = read_layout(Path(path), "claims")
    fields = _one_line(fields)
    claim_id = str(fields.get("id") or "")
    taken = find(layout, "id", claim_id)
    if taken:
        raise ConfigError(
            f"a claim with id {claim_id!r} already exists; choose another id, or change that"
            f" one with: claimbot claims edit {claim_id}",
            path=str(layout.path),
            line=taken[0].dash + 1,
            field="id",
        )
    data = new_entry(fields, _CLAIM_KEYS, layout.item_col)
    lines, line, snippet = insert(layout, [data])
    expected = [*(plain(e.data) for e in layout.entries), plain(data)]
    text = checked(layout, lines, expected, "the new claim did not fit into the file")
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
    layout = read_layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    if "id" in changes and changes["id"] != claim_id:
        raise _id_is_stable(layout.path, claim_id, entry.dash + 1)
    changes = _one_line(changes)
    data = detached(entry)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif plain(data.get(key)) != plain(value):
            data[key] = styled(key, value, layout.item_col)
    rendered = [] if plain(data) == plain(entry.data) else render(layout, data)
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
    layout = read_layout(Path(path), "claims")
    if shown is not None and shown.before != layout.before:
        raise _changed_on_disk(layout.path)
    entry = _claim_entry(layout, claim_id)
    data = _one_entry(new_yaml, source)
    if data.get("id") != claim_id:
        line = data.lc.key("id")[0] + 1 if "id" in data else 1
        raise _id_is_stable(Path(source), claim_id, line)
    rendered = reindent(new_yaml, layout.dash_col, layout.newline)
    if rendered == list(layout.lines[entry.start : entry.stop]):
        rendered = []
    return _replace_claim(layout, entry, claim_id, data, rendered, entry.start)


def remove_claim(path: Path | str, claim_id: str) -> ClaimChange:
    """The file without the claim and, usually, the comment lines directly above it.

    Those comments stay when the next claim has none of its own (see :func:`bot.yaml_splice.cut`).
    """
    layout = read_layout(Path(path), "claims")
    entry = _claim_entry(layout, claim_id)
    lines, snippet, start = cut(layout, entry)
    expected = [plain(e.data) for e in layout.entries if e is not entry]
    text = checked(layout, lines, expected, "removing the claim would disturb the file")
    claims = _validated(parse_claims, text, layout.path)
    return ClaimChange(layout.path, layout.before, text, snippet, start + 1, claims, None)


def _claim_entry(layout: Layout, claim_id: str) -> Entry:
    found = find(layout, "id", claim_id)
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
    layout: Layout, entry: Entry, claim_id: str, data: Any, rendered: list[str], start: int
) -> ClaimChange:
    """The file with lines ``start`` to the entry's end replaced by ``rendered`` (kept if empty)."""
    if not rendered:
        claims = _validated(parse_claims, "".join(layout.lines), layout.path)
        return ClaimChange(layout.path, layout.before, layout.original, "", entry.dash + 1,
                           claims, claims.get(claim_id))
    lines = [*layout.lines[:start], *rendered, *layout.lines[entry.stop :]]
    expected = [plain(data if e is entry else e.data) for e in layout.entries]
    text = checked(
        layout, lines, expected, "the edited claim does not fit back into the file as one"
        " entry: check its indentation"
    )
    claims = _validated(parse_claims, text, layout.path)
    return ClaimChange(
        layout.path, layout.before, text, "".join(rendered), start + 1, claims,
        claims.get(claim_id),
    )


def _one_line(fields: Mapping[str, object]) -> dict[str, object]:
    """``fields`` with the one-line ones' line separators as spaces."""
    return {
        key: one_line(value) if key in _ONE_LINE_KEYS and isinstance(value, str) else value
        for key, value in fields.items()
    }


def _one_entry(text: str, source: str) -> CommentedMap:
    """The single list entry in ``text``, or an error naming ``source``."""
    data = parse_yaml(text, source)
    if not (isinstance(data, CommentedSeq) and len(data) == 1):
        raise ConfigError("expected exactly one claim, written as one '- id: ...' entry",
                          path=source, line=1)
    if not isinstance(data[0], CommentedMap):
        raise ConfigError("the claim must be a mapping of fields", path=source, line=1)
    return data[0]


# --- feeds ------------------------------------------------------------------------------------


def add_feed(path: Path | str, fields: Mapping[str, object]) -> FeedChange:
    """A new feed at the end of the ``feeds:`` list; refuses a URL already listed."""
    layout = read_layout(Path(path), "feeds")
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
    layout = read_layout(Path(path), "feeds")
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

    Comments directly above it go too, unless they may head the next feed
    (see :func:`bot.yaml_splice.cut`).
    """
    layout = read_layout(Path(path), "feeds")
    entry = _feeds_by_key(layout).get(_feed_key(layout.path, url_or_name))
    if entry is None:
        entry = _one_by_name(layout, url_or_name)
    lines, snippet, start = cut(layout, entry)
    expected = [plain(e.data) for e in layout.entries if e is not entry]
    text = checked(layout, lines, expected, "removing the feed would disturb the file")
    feeds = _validated(parse_feeds, text, layout.path)
    return FeedChange(layout.path, layout.before, text, snippet, start + 1, feeds)


def _add_feeds(
    layout: Layout, new: Sequence[Mapping[str, object]], skipped: tuple[str, ...]
) -> FeedChange:
    if not new:
        feeds = _validated(parse_feeds, "".join(layout.lines), layout.path)
        return FeedChange(layout.path, layout.before, layout.original, "", 0, feeds, (), skipped)
    datas = [new_entry(_one_line(fields), _FEED_KEYS, layout.item_col) for fields in new]
    lines, line, snippet = insert(layout, datas)
    expected = [*(plain(e.data) for e in layout.entries), *map(plain, datas)]
    text = checked(layout, lines, expected, "the new feeds did not fit into the file")
    feeds = _validated(parse_feeds, text, layout.path)
    return FeedChange(layout.path, layout.before, text, snippet, line, feeds,
                      feeds.feeds[-len(datas) :], skipped)


def _feed_key(path: Path, url: str) -> str:
    """A URL as the loader sees it: local relative paths resolve against the file's folder."""
    url = url.strip()
    if "://" in url or Path(url).is_absolute():
        return url
    return str((path.parent / url).resolve())


def _feeds_by_key(layout: Layout) -> dict[str, Entry]:
    return {
        _feed_key(layout.path, str(e.data["url"])): e
        for e in layout.entries
        if isinstance(e.data, CommentedMap) and "url" in e.data
    }


def _one_by_name(layout: Layout, name: str) -> Entry:
    found = find(layout, "name", name)
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


# --- validating -------------------------------------------------------------------------------


def _validated(parse: Callable[[str, Path], _SetT], text: str, path: Path) -> _SetT:
    with nothing_written(path):
        return parse(text, path)
