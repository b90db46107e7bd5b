"""``claimbot demo``: the real pipeline on bundled sample feeds, start to end, offline.

The sample feeds shipped in ``bot/demo_data/`` are served over HTTP on
127.0.0.1 (so fetching, conditional GET and parsing are the real thing), the
watched claims come from the usual claims file, the database is a fresh
SQLite file in a temporary folder, and alerts go to the terminal (or to Slack
when a token is set). A second pass shows the feeds answering 304 Not
Modified and no alert repeating. It stops by itself.
"""

from __future__ import annotations

import functools
import importlib.resources
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.alerts.sinks import AlertSink
from bot.config import Settings, load_claims, load_feeds
from bot.pipeline import DeliverySummary, MatcherFactory, Pipeline, PollSummary
from bot.store import Store


def demo_data_dir() -> Path:
    return Path(str(importlib.resources.files("bot") / "demo_data"))


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when many feeds are fetched at once.
    request_queue_size = 128
    daemon_threads = True


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (Last-Modified / If-Modified-Since included)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class DemoReport:
    first: PollSummary
    delivered: DeliverySummary
    second: PollSummary
    second_delivered: DeliverySummary
    items: int
    matched_items: int


def run_demo(settings: Settings, sink: AlertSink) -> DemoReport:
    """Poll the sample feeds twice through the real pipeline; alerts go to ``sink``."""
    claims = load_claims(settings.claims_file)
    sample = load_feeds(demo_data_dir() / "feeds.yaml")
    with tempfile.TemporaryDirectory(prefix="claimbot-demo-") as tmp, serve_directory(
        demo_data_dir()
    ) as base:
        feeds = [
            feed.model_copy(update={"url": f"{base}/{Path(feed.url).name}"})
            for feed in sample.enabled
        ]
        store = Store(f"sqlite:///{Path(tmp) / 'demo.db'}")
        pipeline: Pipeline | None = None
        try:
            watchlist = MatcherFactory.from_settings(settings).build(claims.claims)
            pipeline = Pipeline(settings, store, watchlist)
            first = pipeline.poll(feeds)
            delivered = pipeline.deliver(sink)
            second = pipeline.poll(feeds)
            second_delivered = pipeline.deliver(sink)
            items = store.count_items()
            matched_items = store.count_items(matched=True)
        finally:
            if pipeline is not None:
                pipeline.close()
            store.close()
    return DemoReport(first, delivered, second, second_delivered, items, matched_items)
