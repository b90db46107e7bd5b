"""Parse feed documents in child processes: the machine's other cores, and a fault wall.

Why: a document that makes the parser hang or crash takes down only the child: it is
killed after ``timeout`` seconds (a thread could not be stopped), replaced, and that
feed gets an error saying so, while every other feed goes on. And a pass that brings
many new documents is CPU-bound on one core (one GIL): a child parses, and with
``parse_and_draft`` also matches and renders (``bot.alert_drafts``), on another core.
Without the drafting this did not pay on this project's 2-core machine (the farm, the
bot and the child share two cores); with it, bench/ingest.py's first pass is faster
(see the README's figures). Off by default (``CLAIMBOT_PARSE_PROCESSES=0``).

A drafting child needs the claims in force: it is sent them with the first document
after the watchlist changes (each ``Watchlist`` has its own serial) or after the child
was replaced, and keeps the matcher it builds from them. A watchlist with an embedding
model is drafted in the bot's threads instead: the child would have to load the model too.

Each child is ``python -m bot.feeds.parse_process``: it imports only the parser (and
``bot.alert_drafts`` once asked to draft), reads pickled requests on stdin and writes
pickled answers on stdout, one at a time, and exits when its stdin closes (so it never
outlives the bot, even a SIGKILLed one).
Both ends are this package; nothing else is ever unpickled.
"""

from __future__ import annotations

import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from bot.errors import FeedError
from bot.feeds.entries import ParsedFeed

if TYPE_CHECKING:  # the child imports them only once it is asked to draft
    from bot.alert_drafts import Watchlist
    from bot.config import Claim, Feed
    from bot.store.records import ItemDraft

__all__ = ["DraftOrder", "ParserPool", "ParserProcess"]

_LENGTH = struct.Struct("!Q")


@dataclass(frozen=True)
class DraftOrder:
    """What drafting a document's items takes besides the document: the arguments of
    ``bot.alert_drafts.draft_items`` (``now`` is the parse's). The watchlist must be
    ``rebuildable``."""

    feed: Feed
    default_channel: str
    story_window: timedelta
    watchlist: Watchlist


@dataclass(frozen=True)
class _Draft:
    """A ``DraftOrder`` as sent: the watchlist as its serial, with its claims when the
    child may not have that watchlist yet."""

    feed: Feed
    default_channel: str
    story_window: timedelta
    serial: int
    claims: tuple[Claim, ...] | None


@dataclass(frozen=True)
class _Request:
    body: bytes
    url: str
    now: datetime
    content_type: str | None
    draft: _Draft | None = None



class ParserProcess:
    """One child parser; ``parse`` one document at a time (callers hold it alone)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._child: subprocess.Popen[bytes] | None = None
        self._serial: int | None = None  # the watchlist the running child was sent

    def parse(
        self, body: bytes, *, url: str, now: datetime, content_type: str | None = None
    ) -> ParsedFeed:
        """``parse_feed`` in the child: its result, or its ``FeedError``, or a ``FeedError``
        saying the parser hung or died on this document (the child is then replaced)."""
        parsed: ParsedFeed = self._exchange(self._running(), _Request(body, url, now, content_type))
        return parsed

    def parse_and_draft(
        self, body: bytes, *, url: str, now: datetime, content_type: str | None = None,
        order: DraftOrder,
    ) -> tuple[ParsedFeed, tuple[ItemDraft, ...]]:
        """``parse`` and then ``draft_items`` of every parsed item, both in the child:
        the parsed feed and one draft per item, in order."""
        child = self._running()  # first: a replaced child has been sent no watchlist yet
        serial = order.watchlist.serial
        claims = None if self._serial == serial else tuple(order.watchlist.claims.values())
        draft = _Draft(order.feed, order.default_channel, order.story_window, serial, claims)
        parsed, drafts = self._exchange(child, _Request(body, url, now, content_type, draft))
        self._serial = serial
        return parsed, drafts

    def _exchange(self, child: subprocess.Popen[bytes], request: _Request) -> Any:
        """The child's answer to ``request``, or the ``FeedError`` it raised."""
        url = request.url
        assert child.stdin is not None and child.stdout is not None
        try:
            _write(child.stdin, request)
            answer = _read(child.stdout, self.timeout)
        except TimeoutError:
            self.stop()
            raise FeedError(
                url, f"parsing took longer than {self.timeout:g} s; the parser was stopped"
            ) from None
        except (OSError, EOFError, pickle.UnpicklingError):
            code = self.stop()
            raise FeedError(
                url, f"the parser process died on this document (exit code {code})"
            ) from None
        kind, value = answer
        if kind == "ok":
            return value
        if kind == "feed-error":
            problem, status = value
            raise FeedError(url, problem, status=status)
        raise RuntimeError(f"parser process failed: {value}")  # a bug, as in-process

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs (for operators and tests)."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is not None:
            self.stop()  # died between documents (killed, out of memory): not this one's fault
        if self._child is None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bot.feeds.parse_process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # Found the way the parent found bot (a source checkout included).
                env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p
                )},
            )
        return self._child

    def stop(self) -> int | None:
        """End the child (closing its stdin lets it finish; a hung one is killed)."""
        child, self._child = self._child, None
        self._serial = None
        if child is None:
            return None
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        try:
            return child.wait(timeout=2)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()


class ParserPool:
    """``processes`` child parsers shared by the pass's parsing threads."""

    def __init__(self, processes: int, *, timeout: float = 60.0) -> None:
        if processes < 1:
            raise ValueError("a parser pool needs at least one process")
        self._idle: queue.SimpleQueue[ParserProcess] = queue.SimpleQueue()
        self._all = [ParserProcess(timeout) for _ in range(processes)]
        for process in self._all:
            self._idle.put(process)
        # Children end when their stdin closes: on close(), or when a pool is dropped unclosed.
        self._stop = weakref.finalize(self, _stop_all, list(self._all))

    def parse(
        self, body: bytes, *, url: str, now: datetime, content_type: str | None = None
    ) -> ParsedFeed:
        with self._borrowed() as process:
            return process.parse(body, url=url, now=now, content_type=content_type)

    def parse_and_draft(
        self, body: bytes, *, url: str, now: datetime, content_type: str | None = None,
        order: DraftOrder,
    ) -> tuple[ParsedFeed, tuple[ItemDraft, ...]]:
        with self._borrowed() as process:
            return process.parse_and_draft(
                body, url=url, now=now, content_type=content_type, order=order
            )

    @contextmanager
    def _borrowed(self) -> Iterator[ParserProcess]:
        """An idle child for one document, handed back after."""
        process = self._idle.get()
        try:
            yield process
        finally:
            self._idle.put(process)

    @property
    def pids(self) -> list[int]:
        """The running children's process ids (for operators and measurements)."""
        return [pid for process in self._all if (pid := process.pid) is not None]

    def close(self) -> None:
        self._stop()


def _stop_all(processes: list[ParserProcess]) -> None:
    for process in processes:
        process.stop()


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write(pipe: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _read(pipe: IO[bytes], timeout: float | None) -> Any:
    """One frame from ``pipe``; TimeoutError when none has come within ``timeout``."""
    head = _read_exactly(pipe, _LENGTH.size, timeout)
    return pickle.loads(_read_exactly(pipe, _LENGTH.unpack(head)[0], timeout))


def _read_exactly(pipe: IO[bytes], size: int, timeout: float | None) -> bytes:
    chunks: list[bytes] = []
    left = size
    fd = pipe.fileno()
    while left:
        if timeout is not None and not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve() -> None:
    """The child: answer requests until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    drafter = _Drafter()
    while True:
        try:
            request: _Request = _read(stdin, None)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", drafter.answer(request))
        except FeedError as exc:
            answer = ("feed-error", (exc.problem, exc.status))
        except Exception as exc:  # a parser bug: reported to the parent, the child lives on
            answer = ("bug", f"{type(exc).__name__}: {exc}")
        _write(stdout, answer)


class _Drafter:
    """The child's work: parse a document and, when asked, draft its items with the
    watchlist it was last sent (built once per watchlist, not per document)."""

    def __init__(self) -> None:
        self.watchlist: tuple[int, Watchlist] | None = None

    def answer(self, request: _Request) -> Any:
        from bot.feeds.parse import parse_feed

        order = request.draft
        if order is not None and order.claims is not None:
            from bot.alert_drafts import Watchlist

            self.watchlist = (order.serial, Watchlist.build(order.claims))
        if order is not None and (self.watchlist is None or self.watchlist[0] != order.serial):
            raise RuntimeError(f"asked to draft with watchlist {order.serial}, never sent")
        parsed = parse_feed(
            request.body, url=request.url, now=request.now, content_type=request.content_type
        )
        if order is None:
            return parsed
        from bot.alert_drafts import draft_items

        assert self.watchlist is not None
        drafts = draft_items(
            parsed.items, order.feed, self.watchlist[1], order.default_channel,
            story_window=order.story_window, now=request.now,
        )
        return parsed, drafts


if __name__ == "__main__":
    _serve()
