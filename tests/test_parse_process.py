"""Parsing in child processes: the same results as in-process, and a wall around faults.

Real child processes throughout (``python -m bot.feeds.parse_process``); a hung
parser is a child stopped with SIGSTOP, a crashed one a child killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alert_drafts import Watchlist, draft_items
from bot.config import Feed, load_claims
from bot.demo import demo_data_dir
from bot.errors import FeedError
from bot.feeds.parse import parse_feed
from bot.feeds.parse_process import DraftOrder, ParserPool, ParserProcess
from tests.support.builders import Entry, rss

NOW = datetime(2026, 3, 1, tzinfo=UTC)
MALFORMED = Path(__file__).parent / "data" / "malformed"


@pytest.fixture
def parser() -> Iterator[ParserProcess]:
    process = ParserProcess(timeout=20.0)  # a cold child imports the parser first
    yield process
    process.stop()


def outcome(parse: object, body: bytes) -> object:
    try:
        return parse(body, url="https://news.example/feed", now=NOW)  # type: ignore[operator]
    except FeedError as exc:
        return ("FeedError", exc.problem, exc.status)


def test_a_child_parses_what_the_bot_would_parse_itself(parser: ParserProcess) -> None:
    bodies = [p.read_bytes() for p in sorted(demo_data_dir().iterdir()) if p.suffix != ".yaml"]
    bodies += [p.read_bytes() for p in sorted(MALFORMED.iterdir())]
    bodies += [b"", b"<html><body>not a feed</body></html>", b'{"version": "x"}']
    for body in bodies:
        assert outcome(parser.parse, body) == outcome(parse_feed, body)


def test_a_hung_parser_is_stopped_and_only_that_feed_fails(parser: ParserProcess) -> None:
    body = rss("Wire", [Entry("w1", "Markets steady")])
    parser.parse(body, url="https://news.example/a", now=NOW)
    parser.timeout = 1.0  # the child is warm now
    pid = parser.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # as if the parser spun forever on the next document
    started = time.monotonic()
    with pytest.raises(FeedError, match="parsing took longer than 1 s; the parser was stopped"):
        parser.parse(body, url="https://news.example/b", now=NOW)
    assert time.monotonic() - started < 10
    assert parser.pid is None  # the hung child is gone ...
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert parser.parse(body, url="https://news.example/c", now=NOW).items  # ... a new one works


def test_a_parser_that_dies_on_a_document_fails_that_feed_only(parser: ParserProcess) -> None:
    body = rss("Wire", [Entry("w1", "Markets steady")])
    parser.parse(body, url="https://news.example/a", now=NOW)
    pid = parser.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    failed: list[BaseException] = []

    def parse_one() -> None:
        try:
            parser.parse(body, url="https://news.example/b", now=NOW)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failed.append(exc)

    thread = threading.Thread(target=parse_one)
    thread.start()
    time.sleep(0.2)  # the request is in the pipe; the child dies before answering
    os.kill(pid, signal.SIGKILL)
    thread.join(10)
    assert len(failed) == 1 and isinstance(failed[0], FeedError)
    assert "the parser process died on this document" in failed[0].problem
    assert parser.parse(body, url="https://news.example/c", now=NOW).items


def test_a_child_killed_between_documents_is_replaced_without_blame(
    parser: ParserProcess,
) -> None:
    body = rss("Wire", [Entry("w1", "Markets steady")])
    parser.parse(body, url="https://news.example/a", now=NOW)
    pid = parser.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while parser.pid is not None and time.monotonic() < deadline:  # let it die first
        time.sleep(0.05)
    assert parser.pid is None
    assert parser.parse(body, url="https://news.example/b", now=NOW).items


def test_children_end_when_their_pool_closes() -> None:
    pool = ParserPool(2, timeout=5)
    body = rss("Wire", [Entry("w1", "Markets steady")])
    threads = [threading.Thread(target=pool.parse, args=(body,),
                                kwargs={"url": f"https://news.example/{n}", "now": NOW})
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    pids = pool.pids
    assert pids
    pool.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


SEED_CLAIMS = Path(__file__).parents[1] / "config" / "claims.yaml"


def demo_documents() -> list[tuple[str, bytes]]:
    return [(f"https://news.example/{p.name}", p.read_bytes())
            for p in sorted(demo_data_dir().iterdir()) if p.suffix != ".yaml"]


def drafted_here(body: bytes, url: str, order: DraftOrder) -> tuple[object, object]:
    parsed = parse_feed(body, url=url, now=NOW)
    return parsed, draft_items(parsed.items, order.feed, order.watchlist, order.default_channel,
                               story_window=order.story_window, now=NOW)


def order_for(watchlist: Watchlist, url: str) -> DraftOrder:
    return DraftOrder(Feed(url=url, name="Desk"), "#claims", timedelta(hours=72), watchlist)


def test_a_child_drafts_what_the_bot_would_draft_itself(parser: ParserProcess) -> None:
    watchlist = Watchlist.build(load_claims(SEED_CLAIMS).claims)
    alerting = 0
    for url, body in demo_documents():
        order = order_for(watchlist, url)
        parsed, drafts = parser.parse_and_draft(body, url=url, now=NOW, order=order)
        assert (parsed, drafts) == drafted_here(body, url, order)
        alerting += sum(1 for d in drafts for m in d.matches if m.outbox is not None)
    assert alerting >= 3  # the demo feeds carry the seed claims: drafts with alerts compared


def test_a_child_drafts_with_the_watchlist_in_force_and_a_new_child_is_sent_it(
    parser: ParserProcess,
) -> None:
    """A replaced watchlist reaches the child with the next document; so does the one in
    force when the child had to be replaced (killed between documents)."""
    seed = load_claims(SEED_CLAIMS).claims
    first, second = Watchlist.build(seed), Watchlist.build(seed[:1])
    url, body = demo_documents()[-1]
    for watchlist in (first, second, first):
        order = order_for(watchlist, url)
        assert parser.parse_and_draft(body, url=url, now=NOW, order=order) == drafted_here(
            body, url, order
        )
    assert drafted_here(body, url, order_for(first, url)) != drafted_here(
        body, url, order_for(second, url)
    )  # the two watchlists do draft differently: the child was told of each change
    pid = parser.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while parser.pid is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    order = order_for(first, url)
    assert parser.parse_and_draft(body, url=url, now=NOW, order=order) == drafted_here(
        body, url, order
    )
