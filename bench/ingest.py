"""Ingestion benchmark: claimbot's full poll against `reader`, on one local feed farm.

    python bench/ingest.py [--feeds 200 2000] [--items 30] [--update 0.1] [--faults 0.05]
                           [--timeout 2] [--slow 1] [--latency 0] [--ports 8] [--bare 0]
                           [--systems claimbot reader] [--reader-workers 1] [--no-slack]
                           [--parse-processes 0] [--workers 1] [--database-url URL]

Why: a monitoring bot that falls behind is worse than none, and the figure that matters is
the whole poll, not the parser alone. So per N this starts a feed farm (``bench/feed_farm.py``:
N feeds of ~30 realistic items -- titles and summaries from the bundled demo feeds and, when
present, ``../shared/feeds/real-2026/`` -- with ETag / Last-Modified, in its own process on
127.0.0.1), prints the farm's own ceiling, then runs each system in its own subprocess (so
peak RSS is its own, claimbot's parser processes added) through four passes:

* ``first``: every feed new; ``steady``: 10 % of the feeds publish three items, the rest 304;
* ``idle``: every feed answers 304; ``fault``: 10 % publish, and ``--faults`` of the feeds
  misbehave (404, 500, a hang past the timeout, a slow answer, malformed XML, a reset).

claimbot runs ``Pipeline.poll`` with a fresh SQLite store: fetch, parse, match against
config/claims.yaml, store, enqueue alerts. reader (PyPI ``reader``, the bench extra) runs
``update_feeds_iter(scheduled=False)`` with a fresh SQLite file. Both use the same read
timeout (``--timeout``). items/s counts the items the farm served in 200 answers during the
pass, so both systems are counted alike. During claimbot's steady pass its new alerts go to
the local Slack stand-in (tests/support) as in ``claimbot run`` (drained as soon as their
feed's poll is stored, at Slack's pace), and the match-to-Slack latency is printed.
Nothing leaves 127.0.0.1. Figures are wall clock on a shared machine: compare, don't quote.

``--workers N`` runs claimbot as N processes sharing one database, as several ``claimbot
run`` workers do (feeds leased a batch at a time, so a worker that finishes early takes
more): the supported way to use more cores. Each pass is timed from telling every worker
to start until the last one is done; RSS and CPU are the workers' sums (a PostgreSQL
server's own processes are not counted). The per-host bound is per process, so each
worker gets ``1/N`` of the default (4): together they are as polite as one. The alerts
column counts more rows than one process's run, which marks the first pass's alerts
skipped for its Slack timing: here copies of those stories reply in their threads.
``--database-url`` picks claimbot's database
(default: a fresh SQLite file); for PostgreSQL the bench uses a fresh schema,
``claimbot_bench``, dropped first. Several workers get no Slack stand-in.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.feed_farm import FarmProcess, FarmSpec, measure_ceiling  # noqa: E402

REAL_FEEDS = REPO.parent / "shared" / "feeds" / "real-2026"
PASSES = ("first", "steady", "idle", "fault")
GOALS = {"first": 5.0, "steady": 10.0, "fault": 10.0}  # claimbot feeds/s over reader's
RSS_GOAL_MB = 150


def sample_texts(real_files: int) -> tuple[list[tuple[str, str]], int]:
    """(title, summary) pairs: the demo feeds' items, then items of real 2026 feeds; and
    how many lead the list that only later passes publish (every other demo item: the
    demo items are the ones the seed claims match, so later passes bring new stories
    and new alerts rather than copies of stories already alerted)."""
    from bot.demo import demo_data_dir
    from bot.errors import FeedError
    from bot.feeds.parse import parse_feed

    now = datetime.now(UTC)
    demo = [p for p in sorted(demo_data_dir().iterdir()) if p.suffix in (".xml", ".atom")]
    real = sorted(REAL_FEEDS.iterdir())[:real_files] if REAL_FEEDS.is_dir() else []

    def texts_of(paths: list[Path]) -> list[tuple[str, str]]:
        texts: list[tuple[str, str]] = []
        for path in paths:
            try:
                parsed = parse_feed(path.read_bytes(), url="https://example.com/feed", now=now)
            except FeedError:
                continue
            texts.extend(
                (item.title, item.summary[:1500]) for item in parsed.items[:40] if item.title
            )
        return texts

    demo_texts = texts_of(demo)
    fresh, early = demo_texts[::2], demo_texts[1::2]
    return fresh + early + texts_of(real), len(fresh)


@dataclass
class PassResult:
    name: str
    seconds: float
    feeds: int
    ok: int = 0
    not_modified: int = 0
    errors: int = 0
    new_items: int = 0
    alerts: int = 0
    served_items: int = 0
    rss_mb: float = 0.0
    cpu: float = 0.0  # seconds of CPU (user + system) the system's process used in the pass

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.seconds

    @property
    def items_per_s(self) -> float:
        return self.served_items / self.seconds


def farm_call(control: str, path: str) -> Any:
    with urllib.request.urlopen(f"{control}{path}") as answer:
        return json.loads(answer.read()) if path == "/_stats" else None


# py-spy from the bench extra, in the same virtualenv as this Python when not on PATH.
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


class PassProfile:
    """py-spy attached to this process for one pass: every thread (parsing runs in worker
    threads), collapsed stacks in ``folder/system-N-pass.txt``. Off when ``folder`` is None."""

    def __init__(self, folder: Path | None, system: str, feeds: int, name: str) -> None:
        self.out = folder / f"{system}-{feeds}-{name}.txt" if folder else None
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PassProfile:
        if self.out is not None:
            self.process = subprocess.Popen(
                [PY_SPY, "record", "--pid", str(os.getpid()), "--format", "raw", "--rate",
                 "200", "--gil", "--nonblocking", "-o", str(self.out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # py-spy attaching
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_usage(pids: list[int]) -> tuple[float, float]:
    """Peak RSS (MB, summed) and CPU seconds so far of live child processes (claimbot's
    parser processes), from /proc: they count towards claimbot's memory and CPU."""
    rss = cpu = 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        rss += next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmHWM:")) / 1024
        cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


# -- the systems, each run in its own process ---------------------------------------------------


def claimbot_for(
    urls: list[str], args: argparse.Namespace, database_url: str, **settings: Any
) -> tuple[Any, Any, Any, Any, list[Any]]:
    """claimbot as the bench runs it: its settings, store, claims, pipeline and feeds."""
    from bot.config import Feed, Settings, load_claims
    from bot.pipeline import MatcherFactory, Pipeline
    from bot.store import Store

    logging.basicConfig(level=logging.ERROR)
    chosen = Settings(database_url=database_url, fetch_timeout=args.timeout, semantic="off",
                      parse_processes=args.parse_processes, **settings)
    store = Store(chosen.database_url)
    claims = load_claims(REPO / "config" / "claims.yaml")
    pipeline = Pipeline(chosen, store, MatcherFactory.from_settings(chosen).build(claims.claims))
    feeds = [Feed(url=url, name=f"Outlet {i}") for i, url in enumerate(urls)]
    return chosen, store, claims, pipeline, feeds


def pass_result(
    name: str, elapsed: float, feeds: int, summary: Any, served: int, rss_mb: float, cpu: float
) -> PassResult:
    """One claimbot pass's figures, from ``Pipeline.poll``'s summary."""
    statuses = [f.status for f in summary.feeds]
    return PassResult(
        name, elapsed, feeds, statuses.count("ok"), statuses.count("not-modified"),
        statuses.count("error"), summary.total("new_items"), summary.total("new_alerts"),
        served, rss_mb, cpu,
    )


def run_claimbot(urls: list[str], control: str, work: Path, args: argparse.Namespace) -> None:
    settings, store, claims, pipeline, feeds = claimbot_for(
        urls, args, f"sqlite:///{work / 'claimbot.db'}"
    )
    slack = sink = drain = None
    if args.slack:  # started now, so its start-up is not in the measured latency
        import threading

        from bot.alerts.sinks import SlackSink
        from bot.alerts.slack import SlackSender
        from bot.drain_soon import DrainSoon
        from tests.support.slack_server import SlackStandIn

        channels = {c.channel or settings.slack_channel for c in claims.claims}
        slack = SlackStandIn(channel_rate=settings.slack_rate,
                             channel_burst=settings.slack_burst, channels=channels)
        slack.__enter__()
        sink = SlackSink(SlackSender("xoxb-test", base_url=slack.base_url, timeout=5))
        # As `claimbot run` does: a poll that queues alerts starts a drain at once.
        drain = DrainSoon(lambda: pipeline.deliver(sink, limit=1000), stopped=threading.Event())
    from bot import heap

    heap.settle()  # as `claimbot run` does once it is set up
    for name in args.passes:
        farm_call(control, f"/_phase?name={name}")
        if name == "steady" and slack is not None:
            # Only the steady pass's alerts are timed to Slack: settle the first pass's.
            for alert in store.alerts(statuses=["pending"], limit=1_000_000):
                store.mark_status(alert.id, status="skipped", note="bench: first pass")
        timed = name == "steady" and drain is not None
        pipeline.on_alerts = drain.soon if timed and drain is not None else None
        queued = set() if not timed else {a.id for a in store.alerts(limit=1_000_000)}
        parsers = pipeline.parsers.pids if pipeline.parsers is not None else []
        with PassProfile(args.profile, "claimbot", len(feeds), name):
            started, cpu = time.perf_counter(), cpu_seconds() + child_usage(parsers)[1]
            summary = pipeline.poll(feeds)
            elapsed = time.perf_counter() - started
        parsers = pipeline.parsers.pids if pipeline.parsers is not None else []
        child_rss, child_cpu = child_usage(parsers)
        cpu = cpu_seconds() + child_cpu - cpu
        result = pass_result(name, elapsed, len(feeds), summary,
                             farm_call(control, "/_stats").get("items", 0),
                             peak_rss_mb() + child_rss, cpu)
        print(json.dumps({"pass": asdict(result)}), flush=True)
        if timed and slack is not None and drain is not None:
            report = deliver_to_slack(pipeline, store, slack, sink, drain, queued,
                                      poll_end=time.time())
            print(json.dumps({"slack": report}), flush=True)
    if slack is not None:
        slack.__exit__(None, None, None)
    pipeline.close()
    store.close()


def run_claimbot_worker(urls: list[str], work: Path, args: argparse.Namespace) -> None:
    """One of ``--workers`` claimbot processes on one database: a pass whenever stdin
    names one, its result as a JSON line. The orchestrator switches the farm's phases."""
    from bot import heap
    from bot.config import Settings

    # The politeness bound is per process: the workers split the default between them, so
    # that together they hold no more connections to one host than one claimbot does.
    per_host = max(1, Settings.model_fields["fetch_per_host"].default // args.workers)
    _, store, _, pipeline, feeds = claimbot_for(
        urls, args, args.database_url, fetch_per_host=per_host
    )
    heap.settle()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        started, cpu = time.perf_counter(), cpu_seconds()
        # Every feed is due at the start of a pass (``make_all_due``); polled, it is not due
        # again in the pass, so no two workers poll it, as under `claimbot run`.
        summary = pipeline.poll(feeds, only_due=True)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        result = pass_result(line.strip(), elapsed, len(feeds), summary, 0, peak_rss_mb(), cpu)
        print(json.dumps({"pass": asdict(result)}), flush=True)
    pipeline.close()
    store.close()


def deliver_to_slack(
    pipeline: Any, store: Any, slack: Any, sink: Any, drain: Any, before: set[int],
    poll_end: float,
) -> dict[str, Any]:
    """Finish draining the steady pass's alerts into the Slack stand-in; their latency.

    As in ``claimbot run``, a feed's alerts were drained as soon as its poll was stored
    (``Pipeline.on_alerts``), during the pass. Latency runs from each alert's
    ``created_at`` (stamped when its feed was fetched) to the stand-in's record of the
    post; ``after_poll`` is how long after the pass ended the last ones went out.
    """
    drain.join(300)
    queued = [a for a in store.alerts(limit=1_000_000) if a.id not in before]
    pending = {a.id: a.created_at.timestamp() for a in queued if a.kind == "alert"}
    channels = {a.channel for a in queued}
    offset = time.time() - time.monotonic()
    while store.alert_counts().get("pending") and time.time() - poll_end < 300:
        pipeline.deliver(sink, limit=1000)
        time.sleep(0.05)
    first_post: dict[int, float] = {}
    for message in slack.messages:
        payload = (message.metadata or {}).get("event_payload") or {}
        alert_id = payload.get("alert_id")
        if isinstance(alert_id, int) and not message.is_reply:
            first_post.setdefault(alert_id, message.at + offset)
    latencies = sorted(first_post[i] - pending[i] for i in pending if i in first_post)
    after = sorted(first_post[i] - poll_end for i in pending if i in first_post)
    return {
        "alerts": len(pending),
        "delivered": len(latencies),
        "channels": len(channels),
        "p50": latencies[len(latencies) // 2] if latencies else None,
        "p95": latencies[int(len(latencies) * 0.95)] if latencies else None,
        "max": latencies[-1] if latencies else None,
        "after_poll_p95": after[int(len(after) * 0.95)] if after else None,
    }


def run_reader(urls: list[str], control: str, work: Path, args: argparse.Namespace) -> None:
    from reader import make_reader

    logging.basicConfig(level=logging.CRITICAL)
    reader = make_reader(str(work / "reader.sqlite"), session_timeout=(3.05, args.timeout))
    for url in urls:
        reader.add_feed(url)
    from bot import heap

    heap.settle()  # as `claimbot run` does once it is set up
    for name in args.passes:
        farm_call(control, f"/_phase?name={name}")
        ok = not_modified = errors = new = 0
        with PassProfile(args.profile, "reader", len(urls), name):
            started, cpu = time.perf_counter(), cpu_seconds()
            for update in reader.update_feeds_iter(scheduled=False, workers=args.reader_workers):
                if update.error is not None:
                    errors += 1
                elif update.updated_feed is None:
                    not_modified += 1
                else:
                    ok += 1
                    new += update.updated_feed.new
            elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        result = PassResult(
            name, elapsed, len(urls), ok, not_modified, errors, new, 0,
            farm_call(control, "/_stats").get("items", 0), peak_rss_mb(), cpu,
        )
        print(json.dumps({"pass": asdict(result)}), flush=True)
    reader.close()


# -- the orchestrator ----------------------------------------------------------------------------


def run_system(
    system: str, urls: list[str], control: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Run ``system`` in a subprocess over the farm; its pass results and peak RSS."""
    if system == "claimbot" and (args.workers > 1 or args.database_url):
        return run_pool(urls, control, args)
    with tempfile.TemporaryDirectory(prefix=f"claimbot-bench-{system}-") as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        command = [sys.executable, __file__, "--worker", system, "--urls", str(urls_file),
                   "--control", control, "--work", tmp, "--timeout", str(args.timeout),
                   "--reader-workers", str(args.reader_workers),
                   "--parse-processes", str(args.parse_processes)]
        command += ["--passes", *args.passes]
        if not args.slack:
            command.append("--no-slack")
        if args.profile:
            command += ["--profile", str(args.profile)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{system} failed:\n{done.stderr[-3000:]}")
        passes = {}
        slack = None
        for line in done.stdout.splitlines():
            if not line.startswith("{"):
                continue  # py-spy's own lines
            record = json.loads(line)
            if "pass" in record:
                passes[record["pass"]["name"]] = PassResult(**record["pass"])
            elif "slack" in record:
                slack = record["slack"]
        return {"passes": passes, "slack": slack}


BENCH_SCHEMA = "claimbot_bench"


def fresh_database(url: str | None, work: Path) -> str:
    """A database URL with nothing in it: a new SQLite file, or PostgreSQL's bench schema
    dropped and created again (``search_path`` set in the URL, as the tests do)."""
    if not url or url.startswith("sqlite"):
        return f"sqlite:///{work / 'claimbot.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    engine.dispose()
    return make_url(url).update_query_dict(
        {"options": f"-csearch_path={BENCH_SCHEMA}"}
    ).render_as_string(hide_password=False)


def make_all_due(url: str) -> None:
    """Every feed stored so far due now, as if its interval had passed: a pass of pooled
    workers (``only_due``) then polls each feed once, like a single worker's pass."""
    from sqlalchemy import create_engine, update

    from bot.store.tables import FeedRow

    table: Any = getattr(FeedRow, "__table__")  # noqa: B009
    engine = create_engine(url)
    with engine.begin() as connection:  # gone feeds keep their NULL: never due again
        connection.execute(update(table).where(table.c.next_poll_at.is_not(None))
                           .values(next_poll_at=datetime.now(UTC)))
    engine.dispose()


def _answer(worker: subprocess.Popen[str], key: str) -> Any:
    """The next JSON line with ``key`` from a pooled worker (its stderr goes to ours)."""
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith("{") and key in (record := json.loads(line)):
            return record[key]
    raise SystemExit(f"a claimbot worker ended early (exit code {worker.wait()})")


def run_pool(urls: list[str], control: str, args: argparse.Namespace) -> dict[str, Any]:
    """claimbot as ``--workers`` processes sharing one database; each pass's summed result."""
    with tempfile.TemporaryDirectory(prefix="claimbot-bench-pool-") as tmp:
        urls_file = Path(tmp) / "urls.json"
        urls_file.write_text(json.dumps(urls))
        database = fresh_database(args.database_url, Path(tmp))
        command = [sys.executable, __file__, "--worker", "claimbot-pooled", "--urls",
                   str(urls_file), "--work", tmp, "--timeout", str(args.timeout),
                   "--parse-processes", str(args.parse_processes), "--database-url", database,
                   "--workers", str(args.workers)]
        workers: list[subprocess.Popen[str]] = []
        passes: dict[str, PassResult] = {}
        try:
            for _ in range(args.workers):  # one at a time: the first one migrates the schema
                workers.append(subprocess.Popen(command, stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE, text=True))
                _answer(workers[-1], "ready")
            for name in args.passes:
                farm_call(control, f"/_phase?name={name}")
                make_all_due(database)
                started = time.perf_counter()
                for worker in workers:
                    assert worker.stdin is not None
                    worker.stdin.write(name + "\n")
                    worker.stdin.flush()
                parts = [PassResult(**_answer(worker, "pass")) for worker in workers]
                passes[name] = PassResult(
                    name, time.perf_counter() - started, len(urls),
                    *(sum(getattr(p, field) for p in parts) for field in
                      ("ok", "not_modified", "errors", "new_items", "alerts")),
                    farm_call(control, "/_stats").get("items", 0),
                    sum(p.rss_mb for p in parts), sum(p.cpu for p in parts),
                )
        finally:
            for worker in workers:
                if worker.stdin is not None:
                    worker.stdin.close()
                worker.wait(60)
        return {"passes": passes, "slack": None}


def print_table(n: int, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n== {n} feeds ==")
    print(f"{'system':<9} {'pass':<7} {'s':>7} {'feeds/s':>8} {'items/s':>8} {'ok':>5}"
          f" {'304':>5} {'err':>4} {'new':>6} {'alerts':>6} {'RSS MB':>7} {'CPU s':>6}")
    for system, result in results.items():
        for p in result["passes"].values():
            print(f"{system:<9} {p.name:<7} {p.seconds:7.2f} {p.feeds_per_s:8.1f}"
                  f" {p.items_per_s:8.0f} {p.ok:5d} {p.not_modified:5d} {p.errors:4d}"
                  f" {p.new_items:6d} {p.alerts:6d} {p.rss_mb:7.0f} {p.cpu:6.2f}")
    if "claimbot" in results and "reader" in results:
        ours, theirs = results["claimbot"]["passes"], results["reader"]["passes"]
        print("claimbot / reader, feeds/s:  " + "  ".join(
            f"{name} {ours[name].feeds_per_s / theirs[name].feeds_per_s:5.1f}x"
            + (f" (goal >= {GOALS[name]:g}x)" if name in GOALS else "")
            for name in PASSES if name in ours and name in theirs))
    if "claimbot" in results:
        peak = max(p.rss_mb for p in results["claimbot"]["passes"].values())
        print(f"claimbot peak RSS {peak:.0f} MB (goal <= {RSS_GOAL_MB} MB at 2,000 feeds)")
        slack = results["claimbot"]["slack"]
        if slack and slack["delivered"]:
            print(f"match-to-Slack (steady pass, {slack['delivered']}/{slack['alerts']} alerts,"
                  f" {slack['channels']} channels, stand-in paced at Slack's 1 msg/s/channel):"
                  f" p50 {slack['p50']:.2f} s, p95 {slack['p95']:.2f} s, max {slack['max']:.2f} s"
                  f" (goal p95 < 1 s); of which after the pass ended: p95"
                  f" {slack['after_poll_p95']:.2f} s")
        elif slack:
            print(f"match-to-Slack: the steady pass made {slack['alerts']} alerts; none to time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[200])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--update", type=float, default=0.1, help="share of feeds that publish")
    parser.add_argument("--faults", type=float, default=0.05, help="share failing in 'fault'")
    parser.add_argument("--timeout", type=float, default=2.0, help="read timeout, both systems")
    parser.add_argument("--slow", type=float, default=1.0, help="seconds a slow feed waits")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per answer")
    parser.add_argument("--bare", type=float, default=0.0,
                        help="share of feeds sending no ETag/Last-Modified")
    parser.add_argument("--ports", type=int, default=8, help="farm ports ('hosts')")
    parser.add_argument("--real-files", type=int, default=40, help="real feeds to draw texts from")
    parser.add_argument("--systems", nargs="+", default=["claimbot", "reader"])
    parser.add_argument("--reader-workers", type=int, default=1)
    parser.add_argument("--parse-processes", type=int, default=0,
                        help="claimbot's parser processes (CLAIMBOT_PARSE_PROCESSES)")
    parser.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES))
    parser.add_argument("--profile", type=Path,
                        help="py-spy each pass of each system into this folder")
    parser.add_argument("--no-slack", dest="slack", action="store_false")
    parser.add_argument("--workers", type=int, default=1,
                        help="claimbot processes sharing one database")
    parser.add_argument("--database-url",
                        help="claimbot's database (default: a fresh SQLite file)")
    parser.add_argument("--worker", choices=["claimbot", "claimbot-pooled", "reader"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--urls", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--control", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "claimbot-pooled":
        run_claimbot_worker(json.loads(args.urls.read_text()), args.work, args)
        return
    if args.worker:
        run = run_claimbot if args.worker == "claimbot" else run_reader
        run(json.loads(args.urls.read_text()), args.control, args.work, args)
        return

    texts, fresh = sample_texts(args.real_files)
    print(f"ingest bench: {args.items} items/feed from {len(texts)} sample texts"
          f" ({fresh} kept for later passes); "
          f"update {args.update:.0%}, faults {args.faults:.0%}, read timeout {args.timeout:g} s, "
          f"slow {args.slow:g} s, latency {args.latency * 1000:g} ms, {args.ports} farm ports, "
          f"{args.bare:.0%} without validators; "
          f"reader workers={args.reader_workers}; claimbot workers={args.workers} on "
          f"{'PostgreSQL' if (args.database_url or '').startswith('postgres') else 'SQLite'}")
    print(f"command: {' '.join(sys.argv)}")
    for n in args.feeds:
        spec = FarmSpec(n, args.items, args.update, args.faults, hang=args.timeout + 30,
                        slow=args.slow, latency=args.latency, ports=args.ports, bare=args.bare,
                        fresh=fresh, texts=texts)
        results: dict[str, dict[str, Any]] = {}
        with FarmProcess(spec) as farm:
            full, idle = measure_ceiling(farm)
            print(f"\nfarm alone ({n} feeds, raw keep-alive client, 50 connections):"
                  f" {full:.0f} req/s with bodies, {idle:.0f} req/s as 304")
            for system in args.systems:
                farm_call(farm.control, "/_phase?name=reset")
                results[system] = run_system(system, farm.urls, farm.control, args)
        print_table(n, results)


if __name__ == "__main__":
    main()
