"""Claims drafted from the seed article, against the shipped watch list written from it.

    python bench/draft_seed.py [--article PATH] [--claims config/claims.yaml]

Runs ``bot.drafting.draft_claims`` on the seed article (``../shared/seeds/``, outside the repo;
skipped with a message when absent) and compares the drafts with the hand-written claims of
config/claims.yaml, which an analyst wrote from the same article. Everything is offline and
deterministic.

A shipped claim and a draft are paired in two ways, both printed, because neither alone is fair:

* query: the shipped claim's own query holds on the draft's sentence alone (the claim query
  evaluator of bot.matching, on that one sentence). Strict: a shipped query asks for several
  groups (who, where, what is claimed) and an article often spreads them over neighbouring
  sentences, so a sentence can state the claim without satisfying the query. The ``reachable``
  column gives the article lines where the shipped query holds on *any* sentence, drafted or
  not: the most a one-sentence drafter can score by this measure.
* words: Jaccard similarity of content-word stems (``bot.matching.lexical.analyse``) between
  the shipped claim's title + statement and each draft's title + statement. A claim and a draft
  pair when each is the other's most similar (mutual best match), so no threshold is tuned.
  Shipped statements are paraphrases in our own words, so even the right draft scores low in
  absolute terms (J is shown), and a draft that states the claim in other words can lose to
  one that shares more names.

A shipped claim is *covered* when some draft pairs with it by query or by words. A draft is
*unpaired* when it pairs with no shipped claim either way (it may still be a fair claim the
analyst chose not to watch, or half of one the analyst wrote from two sentences). These figures
measure agreement with one analyst's choice of claims on one article: they are not the
precision or recall of attribution detection, and the drafter never sees the shipped claims.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
sys.path.insert(0, str(REPO))

from bot.config import Claim, compile_query, load_claims  # noqa: E402
from bot.drafting import DraftClaim, article_sentences, draft_claims  # noqa: E402
from bot.matching.document import Document, evaluate  # noqa: E402
from bot.matching.lexical import analyse  # noqa: E402
from bot.matching.query import parse_query  # noqa: E402

DEFAULT_ARTICLE = SEEDS / "russia-partners-article.txt"
DEFAULT_CLAIMS = REPO / "config" / "claims.yaml"


@dataclass(frozen=True)
class Pairing:
    """How one shipped claim relates to the article's sentences and to the drafts."""

    claim: Claim
    reachable: tuple[int, ...]  # lines of article sentences its query holds on
    by_query: tuple[int, ...]  # lines of drafts whose sentence its query holds on
    best: DraftClaim | None  # the draft with the most similar words
    jaccard: float
    mutual: bool  # the best draft's most similar shipped claim is this one

    @property
    def covered(self) -> bool:
        return bool(self.by_query) or self.mutual


def holds(claim: Claim, text: str) -> bool:
    """Whether the shipped claim's query holds on ``text`` alone."""
    node = compile_query(claim)
    return node is not None and evaluate(node, Document(text))[0]


def jaccard(left: str, right: str) -> float:
    a, b = set(analyse(left)), set(analyse(right))
    return len(a & b) / len(a | b) if a | b else 0.0


def pair_all(
    claims: Sequence[Claim], sentences: Sequence[tuple[int, str]], drafts: Sequence[DraftClaim]
) -> list[Pairing]:
    """Each shipped claim's pairings; ``scores[i][j]`` is claim i against draft j."""
    scores = [
        [jaccard(f"{c.title}\n{c.statement}", f"{d.title}\n{d.statement}") for d in drafts]
        for c in claims
    ]
    best_claim = [max(range(len(claims)), key=lambda i: scores[i][j]) for j in range(len(drafts))]
    pairings: list[Pairing] = []
    for i, claim in enumerate(claims):
        j = max(range(len(drafts)), key=lambda j: scores[i][j], default=None)
        pairings.append(
            Pairing(
                claim,
                reachable=tuple(line for line, text in sentences if holds(claim, text)),
                by_query=tuple(d.line for d in drafts if holds(claim, d.statement)),
                best=drafts[j] if j is not None else None,
                jaccard=scores[i][j] if j is not None else 0.0,
                mutual=j is not None and best_claim[j] == i,
            )
        )
    return pairings


def looseness(draft: DraftClaim, sentences: Sequence[tuple[int, str]]) -> int:
    """Other sentences of the article the draft's own query holds on."""
    node = parse_query(draft.query)
    return sum(
        1
        for line, text in sentences
        if text != draft.statement and evaluate(node, Document(text))[0]
    )


def lines(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values) or "-"


def print_drafts(drafts: Sequence[DraftClaim], sentences: Sequence[tuple[int, str]]) -> None:
    print(f"\n{len(drafts)} drafts from {len(sentences)} sentences")
    print(f"{'line':>4}  {'id':<46} {'other':>5}  source")
    for d in drafts:
        print(f"{d.line:>4}  {d.id:<46} {looseness(d, sentences):>5}  {d.source or '-'}")
        print(f"{'':>6}query: {d.query}")
    print("(other: further sentences of the article the draft's query also holds on)")


def print_pairings(pairings: Sequence[Pairing], drafts: Sequence[DraftClaim]) -> None:
    width = max(len(p.claim.id) for p in pairings)
    print(
        f"\n{'shipped claim':<{width}}  {'reachable':<9}  {'by query':<8}  "
        f"{'best by words':<36} {'J':>4}  {'mutual':<6}  covered"
    )
    for p in pairings:
        best = f"{p.best.line}: {p.best.id}"[:36] if p.best else "-"
        print(
            f"{p.claim.id:<{width}}  {lines(p.reachable):<9}  {lines(p.by_query):<8}  "
            f"{best:<36} {p.jaccard:>4.2f}  {'yes' if p.mutual else 'no':<6}  "
            f"{'yes' if p.covered else 'no'}"
        )
    total = len(pairings)
    reachable = sum(bool(p.reachable) for p in pairings)
    by_query = sum(bool(p.by_query) for p in pairings)
    by_words = sum(p.mutual for p in pairings)
    covered = sum(p.covered for p in pairings)
    paired_lines = {line for p in pairings for line in p.by_query} | {
        p.best.line for p in pairings if p.best and p.mutual
    }
    unpaired = [d for d in drafts if d.line not in paired_lines]
    print(
        f"\nshipped claims covered: {covered}/{total}"
        f" (by query {by_query}/{total}, of {reachable} reachable by query on one sentence;"
        f" by words, mutual best match: {by_words}/{total})"
    )
    print(
        f"drafts paired with no shipped claim: {len(unpaired)}/{len(drafts)}"
        + (f" (lines {lines([d.line for d in unpaired])})" if unpaired else "")
    )
    missed = [p.claim.id for p in pairings if not p.covered]
    if missed:
        print("not covered: " + ", ".join(missed))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--article", type=Path, default=DEFAULT_ARTICLE)
    parser.add_argument("--claims", type=Path, default=DEFAULT_CLAIMS)
    args = parser.parse_args(argv)
    if not args.article.is_file():
        print(
            f"skipped: seed article not found at {args.article} (it lives outside the repo,"
            " in ../shared/seeds/)"
        )
        return 0
    text = args.article.read_text(encoding="utf-8")
    claims = load_claims(args.claims).claims
    sentences = article_sentences(text)
    drafts = draft_claims(text)
    print(f"article: {args.article} ({len(text.splitlines())} lines)")
    print(f"shipped: {args.claims} ({len(claims)} claims)")
    print_drafts(drafts, sentences)
    print_pairings(pair_all(claims, sentences, drafts), drafts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
