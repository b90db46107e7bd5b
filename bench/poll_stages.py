"""Where a poll's CPU goes, stage by stage, without the network: parse, known items, draft
(match and render), store.

    python bench/poll_stages.py [--feeds 500] [--runs 3]

Why: ``bench/ingest.py`` measures the whole pass, where the farm, the event loop and the
threads blur the stages, and py-spy's samples are few. This runs each stage of
``Pipeline._with_new_items`` and ``Store.record_poll`` by itself, in one thread, over the
farm's own documents (``bench/feed_farm.py``): generation 0 is a first pass (30 new items a
feed), generation 1 a steady pass's changed feed (3 new items, most of them matching the
seed claims). CPU time (``time.process_time``), the best of ``--runs`` runs, in ms per feed.
Like the pipeline, a feed that has stored nothing is not asked which items it has stored.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.feed_farm import FarmSpec, feed_body  # noqa: E402
from bench.ingest import sample_texts  # noqa: E402

T = TypeVar("T")
STAGES = ("parse", "known", "draft", "store")


def one_run(feeds: int, texts: list[tuple[str, str]], fresh: int) -> dict[int, dict[str, float]]:
    """ms per feed of each stage, for generation 0 and 1, on a fresh SQLite store."""
    from bot import heap
    from bot.config import Feed, Settings, load_claims
    from bot.feeds.parse import parse_feed
    from bot.pipeline import MatcherFactory, draft_items, measure_pace
    from bot.store import PollSuccess, Store

    spec = FarmSpec(feeds, 30, 0.1, 0.05, 32.0, 1.0, 0.0, 8, fresh=fresh, texts=texts)
    with tempfile.TemporaryDirectory(prefix="claimbot-stages-") as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'stages.db'}", semantic="off")
        store = Store(settings.database_url)
        watchlist = MatcherFactory.from_settings(settings).build(
            load_claims(REPO / "config" / "claims.yaml").claims
        )
        urls = [f"http://127.0.0.1/feed/{i}" for i in range(feeds)]
        store.sync_feeds([(url, None) for url in urls])
        heap.settle()
        spent: dict[int, dict[str, float]] = {}
        for generation in (0, 1):
            clock = dict.fromkeys(STAGES, 0.0)

            def timed(stage: str, call: Callable[[], T], clock: dict[str, float] = clock) -> T:
                started = time.process_time()
                result = call()
                clock[stage] += time.process_time() - started
                return result

            now = datetime.now(UTC) + timedelta(hours=generation)
            for index, url in enumerate(urls):
                feed = Feed(url=url, name=f"Outlet {index}")
                body = feed_body(index, generation, spec)[0]
                parsed = timed("parse", partial(parse_feed, body, url=url, now=now))
                identities = [item.identity for item in parsed.items]
                known = (
                    timed("known", partial(store.known_identities, url, identities))
                    if generation else set()
                )
                fresh_items = [item for item in parsed.items if item.identity not in known]
                drafts = timed("draft", partial(
                    draft_items, fresh_items, feed, watchlist, settings.slack_channel, now=now
                ))
                poll = PollSuccess(
                    url=url, polled_at=now, next_poll_at=now, http_status=200, status="ok",
                    items=drafts, pace=measure_pace(parsed, now), body_hash=str(generation),
                )
                timed("store", partial(store.record_poll, poll))
            spent[generation] = {stage: s * 1000 / feeds for stage, s in clock.items()}
        store.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts, fresh = sample_texts(40)
    best: dict[int, dict[str, float]] = {}
    for _ in range(args.runs):
        for generation, stages in one_run(args.feeds, texts, fresh).items():
            kept = best.setdefault(generation, dict(stages))
            for stage, ms in stages.items():
                kept[stage] = min(kept[stage], ms)
    print(f"poll stages: {args.feeds} farm feeds of 30 items, best of {args.runs} runs,"
          " CPU ms per feed")
    print(f"{'pass':<8}" + "".join(f"{stage:>8}" for stage in STAGES) + f"{'total':>8}")
    for generation, name in ((0, "first"), (1, "steady")):
        stages = best[generation]
        print(f"{name:<8}" + "".join(f"{stages[s]:8.2f}" for s in STAGES)
              + f"{sum(stages.values()):8.2f}")


if __name__ == "__main__":
    main()
