"""Draft claims as YAML text, to edit and paste into claims.yaml.

Apart from drafting because only this knows the file: ruamel round-trip output, folded
``>-`` blocks as claims.yaml is written, and comments with what a reviewer needs. The
text loads as a claims file, with every draft ``enabled: false``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString

from bot.drafting.draft import DraftClaim
from bot.drafting.markdown import _UNPRINTABLE

_HEADER = """\
# Draft claims proposed by `claimbot claims draft` from: {article}
# DRAFTS ONLY: nothing here is ever activated automatically; every draft has `enabled: false`.
# Each comes from one attributed sentence of the article (its line is noted above it). Before use:
#   - rewrite the title and statement in your own words, as the claim you want to watch;
#   - widen the query with synonyms, Spanish and Russian wording and the @aliases of
#     claims.yaml, keeping at least two ANDed groups so a mere mention does not fire;
#   - paste the entry under `claims:` in config/claims.yaml, run `claimbot claims validate`,
#     try it with `claimbot backtest`, and only then set `enabled: true`."""


def _one_line(text: str) -> str:
    return " ".join(_UNPRINTABLE.sub(" ", text).split())


def _folded(text: str, width: int = 88) -> str:
    """``text`` as a ``>-`` block folded at spaces, as claims.yaml is written; loads back
    unchanged because ``text`` has single spaces only (anything unusual stays a plain str)."""
    if not text.isprintable() or text != _one_line(text) or len(text) <= width - 16:
        return text
    folded = FoldedScalarString(text)
    positions: list[int] = []
    line_start, last_space = 0, -1
    for index, char in enumerate(text):
        if char != " ":
            continue
        if index - line_start > width:
            cut = last_space if last_space > line_start else index
            positions.append(cut)
            line_start = cut + 1
        last_space = index
    if len(text) - line_start > width and last_space >= line_start:
        positions.append(last_space)
    folded.fold_pos = positions
    block: str = folded  # ruamel's str subclass, untyped
    return block


def _yaml_entry(draft: DraftClaim) -> list[str]:
    """One draft as lines of a ``claims:`` list item (ruamel does the quoting)."""
    tags = CommentedSeq(["draft"])
    tags.fa.set_flow_style()
    entry = CommentedMap(
        id=draft.id,
        title=draft.title,
        statement=_folded(draft.statement),
        query=_folded(draft.query),
        tags=tags,
        enabled=False,
    )
    yaml = YAML(typ="rt")
    yaml.width = 4096  # lines are folded by _folded, never by the emitter
    buffer = io.StringIO()
    yaml.dump(entry, buffer)
    lines = buffer.getvalue().rstrip("\n").split("\n")
    return [("  - " if i == 0 else "    ") + line for i, line in enumerate(lines)]


def render_drafts(drafts: Sequence[DraftClaim], *, article: str) -> str:
    """The drafts as YAML to edit and paste into claims.yaml; it loads as a claims file.

    Each draft is preceded by where it came from (line, speaker, entities), as
    comments, because ``Claim`` has no fields for them and a reviewer needs them.
    """
    lines = _HEADER.format(article=_one_line(article)).splitlines()
    if not drafts:
        return "\n".join([*lines, "claims: []"]) + "\n"
    lines.append("claims:")
    for draft in drafts:
        source = _one_line(draft.source) if draft.source else "(nobody named in the sentence)"
        lines.append(f"  # from line {draft.line}, attributed to: {source}")
        if draft.entities:
            lines.append(f"  # entities: {_one_line(', '.join(draft.entities))}")
        lines.extend(_yaml_entry(draft))
    return "\n".join(lines) + "\n"
