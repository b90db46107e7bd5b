"""Matching quality on the CheckThat! claim-retrieval data, through the real ``claimbot backtest``.

    python bench/quality.py [--split dev] [--sets checkthat2020 ...] [--modes lexical semantic]

For each set and mode it runs, as a user would:

1. ``claimbot backtest --claims <set>/claims.jsonl --items <set>/<split>/items.jsonl --top-k 5``
   and scores the ranking with ``../shared/tools/score_ranking.py`` (MAP@5, MRR, P@1, Recall@5);
2. the alerting view with half the claims held out (``--drop-fraction 0.5 --seed 1``): the held-out
   claims are removed from the claims file *before* matching (the scorer's ``dropped()`` decides
   which), so most items match no watched claim; precision / recall / F1 of the alerts at the
   default threshold (``alert: true`` in the backtest output, i.e. score >= alert_at).

``semantic`` needs ``pip install 'claimbot[semantic]'``; it is skipped with a note otherwise.
Tune on train, report dev: nothing here fits to dev items.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "claim-matching"
SCORER = SHARED / "tools" / "score_ranking.py"
DEFAULT_THRESHOLD = 0.5


def dropped(claim_id: str, fraction: float, seed: int) -> bool:
    sys.path.insert(0, str(SCORER.parent))
    from score_ranking import dropped as scorer_dropped  # the scorer's own rule

    return bool(scorer_dropped(claim_id, fraction, seed))


def backtest(claims: Path, items: Path, mode: str, out: Path) -> float:
    env = dict(os.environ, CLAIMBOT_SEMANTIC="off" if mode == "lexical" else "on")
    started = time.perf_counter()
    with out.open("w") as handle:
        subprocess.run(
            [sys.executable, "-m", "bot", "backtest", "--claims", str(claims), "--items",
             str(items), "--top-k", "5"],
            check=True, stdout=handle, env=env, cwd=REPO,
        )
    return time.perf_counter() - started


def score(qrels: Path, run: Path, items: Path, *extra: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, str(SCORER), str(qrels), str(run), "--items", str(items), "--json",
         *extra],
        check=True, capture_output=True, text=True,
    )
    data = json.loads(result.stdout)
    figures = dict(data["ranking"])
    if "alerting" in data:
        figures.update({f"alert_{k}": v for k, v in data["alerting"].items()})
    return figures


def semantic_available() -> bool:
    probe = (
        "import importlib.util as u, sys;"
        "sys.exit(0 if u.find_spec('sentence_transformers') else 1)"
    )
    return subprocess.run([sys.executable, "-c", probe]).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["train", "dev"])
    parser.add_argument("--sets", nargs="+", default=["checkthat2020", "checkthat2022"])
    parser.add_argument("--modes", nargs="+", default=["lexical", "semantic"])
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"no claim-matching data at {DATA}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="claimbot-quality-") as tmp:
        for name in args.sets:
            base = DATA / name
            items = base / args.split / "items.jsonl"
            qrels = base / args.split / "qrels.tsv"
            kept = Path(tmp) / f"{name}-kept.jsonl"
            with (base / "claims.jsonl").open() as source, kept.open("w") as target:
                for line in source:
                    if line.strip() and not dropped(json.loads(line)["id"], 0.5, 1):
                        target.write(line)
            for mode in args.modes:
                if mode == "semantic" and not semantic_available():
                    print(f"{name} {mode}: skipped (pip install 'claimbot[semantic]')")
                    continue
                run = Path(tmp) / f"{name}-{mode}.jsonl"
                seconds = backtest(base / "claims.jsonl", items, mode, run)
                ranking = score(qrels, run, items)
                held_run = Path(tmp) / f"{name}-{mode}-held.jsonl"
                backtest(kept, items, mode, held_run)
                alerting = _alerting(qrels, held_run, items)
                rows.append((name, args.split, mode, ranking, alerting, seconds))
    print(f"\n{'set':<14} {'split':<5} {'mode':<9} {'MAP@5':>6} {'MRR':>6} {'P@1':>6} "
          f"{'R@5':>6} | {'alert P':>7} {'R':>6} {'F1':>6} (half the claims held out) | time")
    for name, split, mode, ranking, alerting, seconds in rows:
        print(f"{name:<14} {split:<5} {mode:<9} {ranking['MAP@5']:>6.3f} {ranking['MRR']:>6.3f} "
              f"{ranking['P@1']:>6.3f} {ranking['Recall@5']:>6.3f} | {alerting['precision']:>7.3f} "
              f"{alerting['recall']:>6.3f} {alerting['f1']:>6.3f} | {seconds:5.1f} s")


def _alerting(qrels: Path, run: Path, items: Path) -> dict[str, float]:
    """P/R/F1 of the backtest's own ``alert`` flags, held-out claims struck from the gold."""
    alerts_only = run.with_suffix(".alerts.jsonl")
    with run.open() as source, alerts_only.open("w") as target:
        for line in source:
            record = json.loads(line)
            record["matches"] = [
                {**m, "score": 1.0} for m in record["matches"] if m.get("alert")
            ]
            target.write(json.dumps(record) + "\n")
    figures = score(qrels, alerts_only, items, "--threshold", "1.0", "--drop-fraction", "0.5",
                    "--seed", "1")
    return {k.removeprefix("alert_"): v for k, v in figures.items() if k.startswith("alert_")}


if __name__ == "__main__":
    main()
