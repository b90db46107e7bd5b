"""Matching speed and memory as the watch list grows: 10, 100, 1,000 and 10,000 claims.

    python bench/matching.py [--claims 10 100 1000 10000] [--modes lexical semantic] [--items 1000]

Claims are real fact-checked statements (CheckThat! 2022, ../shared/claim-matching), items are
real tweets from the train splits plus the bundled sample news items. Each configuration runs in
its own process so its peak memory (ru_maxrss) is its own. Figures: matcher build time, items/s
for ``Matcher.rank_many(items, top_k=5)`` (the batched path the pipeline and backtest use), and
peak RSS. ``semantic`` needs ``pip install 'claimbot[semantic]'``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "claim-matching"
sys.path.insert(0, str(REPO))


def load_items(limit: int) -> list[object]:
    from bot.demo import demo_data_dir
    from bot.feeds.parse import parse_feed
    from bot.items import Item

    items: list[Item] = []
    now = datetime.now(UTC)
    for path in sorted(demo_data_dir().iterdir()):
        if path.suffix in (".xml", ".atom"):
            items.extend(parse_feed(path.read_bytes(), url=str(path), now=now).items)
    for name in ("checkthat2020", "checkthat2022"):
        with (DATA / name / "train" / "items.jsonl").open() as handle:
            for line in handle:
                record = json.loads(line)
                items.append(Item(identity=record["id"], title=record["title"]))
    return list(items[:limit])


def run_one(count: int, mode: str, limit: int) -> dict[str, float]:
    from bot.config import load_claims, load_settings
    from bot.pipeline import MatcherFactory

    claims = load_claims(DATA / "checkthat2022" / "claims.jsonl").claims[:count]
    settings = load_settings(semantic="off" if mode == "lexical" else "on")
    items = load_items(limit)
    started = time.perf_counter()
    matcher = MatcherFactory.from_settings(settings).build(claims).matcher
    built = time.perf_counter() - started
    matcher.rank_many(items[:20], top_k=5)  # warm up (model load, first batch)
    started = time.perf_counter()
    matcher.rank_many(items, top_k=5)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"build_s": built, "items_per_s": len(items) / elapsed, "peak_mb": peak,
            "items": len(items)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", nargs="+", type=int, default=[10, 100, 1000, 10000])
    parser.add_argument("--modes", nargs="+", default=["lexical", "semantic"])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--one", nargs=2, metavar=("COUNT", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.items)))
        return
    print(f"claimbot matching bench: {os.cpu_count()} cores, top_k=5, {args.items} items")
    print(f"{'mode':<9} {'claims':>7} {'build s':>8} {'items/s':>9} {'peak MB':>8}")
    for mode in args.modes:
        for count in args.claims:
            result = subprocess.run(
                [sys.executable, __file__, "--one", str(count), mode, "--items", str(args.items)],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                reason = (result.stderr.strip().splitlines() or ["failed"])[-1]
                print(f"{mode:<9} {count:>7} skipped: {reason}")
                continue
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"{mode:<9} {count:>7} {figures['build_s']:>8.2f} "
                  f"{figures['items_per_s']:>9.0f} {figures['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
