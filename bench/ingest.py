"""Ingestion benchmark: the full pipeline over a local feed farm, printing its figures.

    python bench/ingest.py [--feeds 200] [--items 30] [--update 0.1]

Generates N RSS feeds of realistic items (the bundled sample items, varied), serves them from
127.0.0.1, and runs claimbot's real pipeline (fetch, parse, match against config/claims.yaml,
store in a fresh SQLite file, enqueue alerts) three times: a first pass where everything is new,
a steady pass where every feed answers 304, and a pass where a fraction of feeds changed.
Nothing leaves the machine. Figures are wall-clock on this machine; compare runs, not absolutes.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import Feed, Settings, load_claims  # noqa: E402
from bot.demo import demo_data_dir, serve_directory  # noqa: E402
from bot.feeds.parse import parse_feed  # noqa: E402
from bot.pipeline import MatcherFactory, Pipeline  # noqa: E402
from bot.store import Store  # noqa: E402


def sample_texts() -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    texts: list[tuple[str, str]] = []
    for path in sorted(demo_data_dir().iterdir()):
        if path.suffix in (".xml", ".atom"):
            parsed = parse_feed(path.read_bytes(), url=str(path), now=now)
            texts.extend((item.title, item.summary) for item in parsed.items)
    return texts


def write_feed(
    path: Path, feed: int, generation: int, items: int, texts: list[tuple[str, str]]
) -> None:
    entries = []
    for n in range(items):
        title, summary = texts[(feed * 7 + n) % len(texts)]
        guid = f"f{feed}-g{generation}-{n}" if n < 3 else f"f{feed}-{n}"
        entries.append(
            f"<item><guid isPermaLink=\"false\">{guid}</guid>"
            f"<title>{escape(title)} ({feed}-{n})</title>"
            f"<link>https://outlet{feed}.example.com/{guid}</link>"
            f"<description>{escape(summary)}</description>"
            f"<pubDate>Mon, 05 Jan 2026 10:{n % 60:02d}:00 GMT</pubDate></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example.com/</link>"
        f"<description>bench</description>{''.join(entries)}</channel></rss>",
        encoding="utf-8",
    )


def timed_pass(pipeline: Pipeline, feeds: list[Feed], label: str) -> None:
    started = time.perf_counter()
    summary = pipeline.poll(feeds)
    elapsed = time.perf_counter() - started
    statuses: dict[str, int] = {}
    for outcome in summary.feeds:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    items = summary.total("new_items")
    alerts = summary.total("new_alerts")
    print(
        f"{label:<14} feeds={len(feeds):>5}  {elapsed:7.2f} s  {len(feeds) / elapsed:8.1f} feeds/s"
        f"  new items={items:>6} ({items / elapsed:8.1f}/s)  alerts={alerts:>5}"
        f"  statuses={statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--update", type=float, default=0.1, help="share of feeds that change")
    args = parser.parse_args()

    texts = sample_texts()
    claims = load_claims(REPO / "config" / "claims.yaml")
    with tempfile.TemporaryDirectory(prefix="claimbot-bench-") as tmp:
        farm = Path(tmp) / "farm"
        farm.mkdir()
        for feed in range(args.feeds):
            write_feed(farm / f"feed{feed}.xml", feed, 0, args.items, texts)
        with serve_directory(farm) as base:
            feeds = [Feed(url=f"{base}/feed{i}.xml", name=f"Outlet {i}") for i in range(args.feeds)]
            settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
            store = Store(settings.database_url)
            watchlist = MatcherFactory.from_settings(settings).build(claims.claims)
            pipeline = Pipeline(settings, store, watchlist)
            print(f"claimbot ingest bench: {args.feeds} feeds x {args.items} items, "
                  f"{len(claims.enabled)} claims, SQLite")
            timed_pass(pipeline, feeds, "first pass")
            time.sleep(1.1)  # Last-Modified has one-second resolution
            timed_pass(pipeline, feeds, "all 304")
            changed = max(1, int(args.feeds * args.update))
            for feed in range(changed):
                write_feed(farm / f"feed{feed}.xml", feed, 1, args.items, texts)
            timed_pass(pipeline, feeds, f"{changed} changed")
            store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MB")


if __name__ == "__main__":
    main()
