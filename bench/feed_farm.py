"""A local feed farm for the ingestion benchmark: N feeds over real HTTP on 127.0.0.1.

Why its own module and process: the farm must never be the bottleneck it is meant to
measure past, so it is a plain asyncio server (keep-alive, no framework) in a separate
process, and ``measure_ceiling`` times it alone with a raw asyncio client.

Every feed answers like a well-behaved news server: RSS 2.0 (every fourth one Atom) of
``items`` realistic items, an ETag and a Last-Modified, 304 to a matching
If-None-Match / If-Modified-Since. Feeds are spread over several ports so that a
per-host (per-origin) concurrency bound sees several "hosts", as it would in production.

The benchmark steers the farm between passes with ``GET /_phase?name=...``:

* ``first``: every feed at generation 0 (all new to a fresh client);
* ``steady``: a share (``update``) of the feeds publishes three new items;
* ``idle``: nothing changes (every client with validators gets 304s; the ``bare`` share of
  feeds sends no validators, so those answer a full 200 with the same body every pass);
* ``fault``: another share publishes, and a share (``faults``) misbehaves: 404, 500, a
  hang past the client's timeout, a slow answer, a malformed body, a reset connection.

``GET /_stats`` returns (and zeroes) the counters of the pass: responses by kind and the
items served in 200 answers, so both systems' items/s are counted the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from xml.sax.saxutils import escape

FAULT_KINDS = ("404", "500", "hang", "slow", "malformed", "reset")
GENERATION_TIME = 1_767_600_000.0  # Last-Modified of generation 0 (Jan 2026); +1 h per generation


@dataclass(frozen=True)
class FarmSpec:
    feeds: int
    items: int
    update: float  # share of feeds that publish in the steady and fault passes
    faults: float  # share of feeds misbehaving in the fault pass
    hang: float  # seconds a hanging feed holds its answer (past the clients' timeout)
    slow: float  # seconds a slow feed waits before answering
    latency: float  # seconds added to every answer (network round trip)
    ports: int
    bare: float = 0.0  # share of feeds sending no ETag / Last-Modified (always a full 200)
    fresh: int = 0  # texts[:fresh] appear only in items published after the first pass
    texts: list[tuple[str, str]] = field(default_factory=list)


def spread(index: int) -> float:
    """A fixed pseudo-random number in [0, 1) per feed, so phases pick the same feeds."""
    return ((index * 2654435761) % 2**32) / 2**32


def changed_in(phase: str, index: int, spec: FarmSpec) -> bool:
    """Whether feed ``index`` publishes new items when ``phase`` starts."""
    share = spread(index)
    if phase == "steady":
        return share < spec.update
    if phase == "fault":
        return spec.update <= share < 2 * spec.update
    return False


def is_bare(index: int, spec: FarmSpec) -> bool:
    """Whether feed ``index`` sends no validators (a server that cannot answer 304)."""
    return ((index * 40503) % 1000) / 1000 < spec.bare


def fault_of(index: int, spec: FarmSpec) -> str | None:
    """The misbehaviour of feed ``index`` in the fault pass (disjoint from the changed ones)."""
    if 1 - spec.faults <= spread(index):
        return FAULT_KINDS[index % len(FAULT_KINDS)]
    return None


def feed_body(index: int, generation: int, spec: FarmSpec) -> tuple[bytes, int]:
    """Feed ``index`` at ``generation``: its newest three items change per generation."""
    texts = spec.texts
    host = f"https://outlet{index}.example.com"
    atom = index % 4 == 3
    entries = []
    fresh, rest = texts[: spec.fresh], texts[spec.fresh :]
    for n in range(spec.items):
        if generation and n < 3 and fresh:  # news: stories no earlier pass carried
            title, summary = fresh[(index * 3 + n * 11 + generation * 5) % len(fresh)]
        else:
            title, summary = rest[(index * 31 + n * 7 + generation * 3) % len(rest)]
        guid = f"f{index}-g{generation}-{n}" if n < 3 else f"f{index}-{n}"
        stamp = GENERATION_TIME + generation * 3600 - n * 600
        title_x, summary_x = escape(title), escape(summary)
        if atom:
            date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
            entries.append(
                f"<entry><id>urn:bench:{guid}</id><title>{title_x}</title>"
                f'<link href="{host}/{guid}"/><updated>{date}</updated>'
                f'<summary type="html">{summary_x}</summary></entry>'
            )
        else:
            entries.append(
                f'<item><guid isPermaLink="false">{guid}</guid><title>{title_x}</title>'
                f"<link>{host}/{guid}</link><description>{summary_x}</description>"
                f"<pubDate>{formatdate(stamp, usegmt=True)}</pubDate></item>"
            )
    if atom:
        document = (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Outlet {index}</title><id>{host}/</id><link href=\"{host}/\"/>"
            f"<updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(GENERATION_TIME))}"
            f"</updated>{''.join(entries)}</feed>"
        )
    else:
        document = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Outlet {index}</title><link>{host}/</link><description>bench</description>"
            f"{''.join(entries)}</channel></rss>"
        )
    return document.encode("utf-8"), spec.items


@dataclass
class FeedState:
    generation: int = 0
    fault: str | None = None
    cached: tuple[int, bytes, str, str, int] | None = None  # generation, body, etag, lm, items


class Farm:
    """The farm's state and request handling (runs inside the farm process)."""

    def __init__(self, spec: FarmSpec) -> None:
        self.spec = spec
        self.feeds = [FeedState() for _ in range(spec.feeds)]
        self.stats: Counter[str] = Counter()
        self.hanging: set[asyncio.Task[None]] = set()

    def set_phase(self, phase: str) -> None:
        if phase in ("first", "reset"):
            self.feeds = [FeedState() for _ in range(self.spec.feeds)]
        for index, state in enumerate(self.feeds):
            state.fault = fault_of(index, self.spec) if phase == "fault" else None
            if changed_in(phase, index, self.spec) or state.fault in ("slow", "malformed"):
                state.generation += 1
        self.stats.clear()

    def document(self, index: int) -> tuple[bytes, str, str, int]:
        state = self.feeds[index]
        if state.cached is None or state.cached[0] != state.generation:
            body, items = feed_body(index, state.generation, self.spec)
            etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
            modified = formatdate(GENERATION_TIME + state.generation * 3600, usegmt=True)
            state.cached = (state.generation, body, etag, modified, items)
        _, body, etag, modified, items = state.cached
        if state.fault == "malformed":
            body = body[: len(body) // 2] + b"<<<&&& not xml"
        return body, etag, modified, items

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                keep = await self.answer(target, headers, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def answer(self, target: str, headers: dict[str, str], out: asyncio.StreamWriter) -> bool:
        if target.startswith("/_phase?name="):
            self.set_phase(target.split("=", 1)[1])
            return self.send(out, 200, b"ok", {})
        if target == "/_stats":
            body = json.dumps(dict(self.stats)).encode()
            self.stats.clear()
            return self.send(out, 200, body, {"Content-Type": "application/json"})
        if not target.startswith("/feed/"):
            return self.send(out, 404, b"no such path", {})
        index = int(target.removeprefix("/feed/"))
        if self.spec.latency:
            await asyncio.sleep(self.spec.latency)
        fault = self.feeds[index].fault
        if fault is not None:
            self.stats[f"fault_{fault}"] += 1
        if fault == "404":
            return self.send(out, 404, b"not found", {})
        if fault == "500":
            return self.send(out, 500, b"internal error", {})
        if fault == "reset":
            transport = out.transport
            transport.abort()
            return False
        if fault == "hang":
            await asyncio.sleep(self.spec.hang)
            return False
        if fault == "slow":
            await asyncio.sleep(self.spec.slow)
        body, etag, modified, items = self.document(index)
        validators = {"ETag": etag, "Last-Modified": modified}
        if is_bare(index, self.spec):
            validators = {}
        match = headers.get("if-none-match")
        since = headers.get("if-modified-since")
        if validators and (
            (match is not None and match == etag) or (match is None and since == modified)
        ):
            self.stats["304"] += 1
            return self.send(out, 304, b"", validators)
        self.stats["200"] += 1
        self.stats["items"] += items
        validators["Content-Type"] = "application/rss+xml; charset=utf-8"
        return self.send(out, 200, body, validators)

    @staticmethod
    def send(out: asyncio.StreamWriter, status: int, body: bytes, headers: dict[str, str]) -> bool:
        reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 500: "Server Error"}[status]
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if status != 304:
            lines.append(f"Content-Length: {len(body)}")
        out.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return True


async def _serve(spec: FarmSpec, ready: multiprocessing.connection.Connection) -> None:
    farm = Farm(spec)
    servers = [
        await asyncio.start_server(farm.handle, "127.0.0.1", 0, backlog=4096)
        for _ in range(spec.ports)
    ]
    ready.send([s.sockets[0].getsockname()[1] for s in servers])
    await asyncio.Event().wait()  # until the process is terminated


def _run(spec: FarmSpec, ready: multiprocessing.connection.Connection) -> None:
    asyncio.run(_serve(spec, ready))


class FarmProcess:
    """``with FarmProcess(spec) as farm: farm.urls``: the farm in its own process."""

    def __init__(self, spec: FarmSpec) -> None:
        self.spec = spec
        parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_run, args=(spec, child), daemon=True
        )
        self._process.start()
        self.ports: list[int] = parent.recv()
        self.urls = [
            f"http://127.0.0.1:{self.ports[i % len(self.ports)]}/feed/{i}"
            for i in range(spec.feeds)
        ]
        self.control = f"http://127.0.0.1:{self.ports[0]}"

    def __enter__(self) -> FarmProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(5)


# -- the farm's ceiling, measured alone ------------------------------------------------------


async def _client(
    port_paths: list[tuple[int, str]], etags: dict[str, str], out: Counter[str]
) -> None:
    connections: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
    for port, path in port_paths:
        if port not in connections:
            connections[port] = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = connections[port]
        extra = f"If-None-Match: {etags[path]}\r\n" if path in etags else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: farm\r\n{extra}\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = 0
        for line in head.split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "etag":
                etags[path] = value.strip()
        await reader.readexactly(length)
        out[head.split(" ")[1]] += 1
    for _, writer in connections.values():
        writer.close()


async def _sweep(ports: list[int], feeds: int, clients: int, etags: dict[str, str]) -> float:
    paths = [(ports[i % len(ports)], f"/feed/{i}") for i in range(feeds)]
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    await asyncio.gather(*(_client(paths[c::clients], etags, counts) for c in range(clients)))
    return feeds / (time.perf_counter() - started)


def measure_ceiling(farm: FarmProcess, clients: int = 50) -> tuple[float, float]:
    """Requests/s the farm serves alone: full 200 bodies, then 304s (raw keep-alive client)."""
    import urllib.request

    urllib.request.urlopen(f"{farm.control}/_phase?name=first").read()
    etags: dict[str, str] = {}
    full = asyncio.run(_sweep(farm.ports, farm.spec.feeds, clients, etags))
    idle = asyncio.run(_sweep(farm.ports, farm.spec.feeds, clients, etags))
    urllib.request.urlopen(f"{farm.control}/_phase?name=reset").read()
    return full, idle
