"""Delivery benchmark: alerts/s into Slack, match-to-post latency, lost and duplicated alerts.

    python bench/delivery.py [--alerts 300] [--channels 3] [--rate 20] [--burst 3]
                             [--seed 7] [--scenario clean|faults|all]

What it measures, and why: an alert bot is only as good as its last mile. An alert that
never reaches Slack is a claim nobody checks; one posted twice teaches analysts to ignore
the channel. So this runs claimbot's real delivery path end to end -- a local feed server,
the real poll (fetch, parse, match) into a fresh SQLite file, the outbox, the per-channel
pacer, ``SlackSink(SlackSender(...))`` and slack-sdk -- against the Slack stand-in from
``tests/support`` on 127.0.0.1, which enforces Slack's per-channel write budget with 429s.
Nothing leaves the machine, and every time is the real wall clock (``bot.when.utc_now``).

Per scenario it prints: alerts delivered, wall time of delivery, alerts/s, p50/p95/max latency
from match (the alert's ``created_at`` in the store, stamped by the poll that found it) to
post (the stand-in's record of the accepted ``chat.postMessage``), the 429s Slack answered,
and LOST (alerts in the outbox that never reached Slack) and DUPLICATED (alert ids posted
more than once, read from each message's metadata). Scenarios:

* ``clean``: no faults.
* ``faults``: as delivery progresses, 429s with ``Retry-After: 1``, 503s, stalls longer than
  the sender's timeout (Slack stores the message but the answer is lost: the bot must find
  it through ``conversations.history`` and not post it again; and a slow Slack that stores
  the message only after the client gave up) and a Slack outage of several seconds.

The process exits non-zero if any scenario lost or duplicated an alert (or did not drain).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.alerts.pace import PACE_MARGIN  # noqa: E402
from bot.alerts.sinks import SlackSink  # noqa: E402
from bot.alerts.slack import SlackSender  # noqa: E402
from bot.config import Feed, Settings, load_claims  # noqa: E402
from bot.pipeline import DeliverySummary, Pipeline, Watchlist  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.when import utc_now  # noqa: E402
from tests.support.builders import Entry, rss, write_claims  # noqa: E402
from tests.support.feed_server import FeedServer  # noqa: E402
from tests.support.slack_server import PostedMessage, SlackStandIn  # noqa: E402
from tests.test_delivery import alert_ids, distinct_stories  # noqa: E402

SCENARIOS = ("clean", "faults")
QUERY = '(S-300 OR Buk-M2 OR "air defen*") AND (Venezuel* OR Caracas) AND (fail* OR falla*)'
SENDER_TIMEOUT = 1.0  # seconds; production uses 10, lowered so a stall can outlast it quickly
OUTAGE_SECONDS = 7.0
SENDER_RETRIES = 3  # SlackSender's default max_retries, kept here
DEADLINE_SECONDS = 90.0  # per scenario: give up draining (and count what is missing as lost)


def marker(index: int) -> str:
    """A word that routes a story to one claim (and so one channel): 'zqa', 'zqb', ..."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return f"zq{letters}"


def channel_name(index: int) -> str:
    return "#claims" if index == 0 else f"#claims-{index}"


def claims_yaml(channels: int) -> str:
    """One claim per channel, the same claim as the delivery tests plus a routing word."""
    lines = ["claims:"]
    for n in range(channels):
        lines += [
            f"  - id: air-defence-failure-{n}",
            f"    title: Russian air defences failed in Venezuela ({n})",
            "    statement: Russian-supplied S-300 and Buk-M2 air defences failed to protect"
            " Venezuela.",
            f"    query: {QUERY} AND {marker(n)}",
            f"    channel: '{channel_name(n)}'",
        ]
    return "\n".join(lines) + "\n"


def stories(count: int, channels: int, seed: int) -> list[Entry]:
    """``count`` distinct matching stories, round-robin over the channels' claims."""
    return [
        Entry(e.guid, f"{e.title} {marker(n % channels)}", e.summary)
        for n, e in enumerate(distinct_stories(count, seed))
    ]


class EventCounter(logging.Handler):
    """Counts the pipeline's delivery log events (alert_retry, alert_found_posted, ...)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.events: Counter[str] = Counter()
        self.lookup_failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("claimbot"):
            return  # slack-sdk's own retry logs: the stand-in's calls count those
        message = record.getMessage()
        event = message.split(" ", 1)[0]
        self.events[event] += 1
        if event == "alert_lookup_failed":
            self.lookup_failures.append(message)


@dataclass
class Fault:
    at_fraction: float  # inject once this share of the alerts is in Slack
    label: str
    inject: Callable[[SlackStandIn], None]
    fired_at: float | None = None  # seconds after delivery started


def fault_plan(timeout: float) -> list[Fault]:
    stall = timeout + 1.0

    def stalls_then_429(slack: SlackStandIn) -> None:
        slack.stall_next(2, seconds=stall, handle_first=True)
        slack.fail_next(1, status=429, retry_after=1)

    def a_503_then_429(slack: SlackStandIn) -> None:
        slack.fail_next(1, status=503, retry_after=None)
        slack.fail_next(1, status=429, retry_after=1)

    return [
        Fault(0.10, "2x 429 Retry-After: 1",
              lambda s: s.fail_next(2, status=429, retry_after=1)),
        Fault(0.20, "2x 503",
              lambda s: s.fail_next(2, status=503, retry_after=None)),
        Fault(0.30, f"stall {stall:g}s, message stored, answer lost",
              lambda s: s.stall_next(1, seconds=stall, handle_first=True)),
        Fault(0.45, f"outage {OUTAGE_SECONDS:g}s",
              lambda s: s.outage(OUTAGE_SECONDS)),
        Fault(0.60, f"2x stall {stall:g}s (answer lost) + 429 Retry-After: 1", stalls_then_429),
        Fault(0.75, f"slow Slack: stores the message after {stall:g}s, client gone",
              lambda s: s.stall_next(1, seconds=stall, handle_first=False)),
        Fault(0.85, "1x 503 + 1x 429 Retry-After: 1", a_503_then_429),
    ]


class Injector(threading.Thread):
    """Fires the fault plan as the alerts reach Slack, from its own thread (mid-request)."""

    def __init__(self, slack: SlackStandIn, plan: list[Fault], expected: int, start: float):
        super().__init__(name="fault-injector", daemon=True)
        self.slack, self.plan, self.expected, self.start_at = slack, plan, expected, start
        self.done = threading.Event()

    def run(self) -> None:
        pending = list(self.plan)
        while pending and not self.done.wait(0.01):
            posted = sum(1 for m in self.slack.messages if not m.is_reply)
            while pending and posted >= pending[0].at_fraction * self.expected:
                fault = pending.pop(0)
                fault.inject(self.slack)
                fault.fired_at = time.time() - self.start_at


@dataclass
class Result:
    scenario: str
    expected: int
    delivered: int
    wall: float
    latencies: list[float]
    rate_limited_budget: int
    status_429: int
    status_5xx: int
    lost: list[int]
    duplicated: dict[int, int]
    reordered: int
    outbox: dict[str, int]
    drained: bool
    summary: DeliverySummary
    drains: int
    before_delivery: float  # seconds from the poll's created_at stamp to delivery start
    events: Counter[str] = field(default_factory=Counter)
    lookup_failures: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.delivered / self.wall if self.wall > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.drained and not self.lost and not self.duplicated


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def add_summary(total: DeliverySummary, part: DeliverySummary) -> None:
    for item in fields(DeliverySummary):
        value = getattr(part, item.name)
        if isinstance(value, int):
            setattr(total, item.name, getattr(total, item.name) + value)


def arm_lookup_fault(store: Store, slack: SlackStandIn, retries: int) -> bool:
    """Between drains: if the next drain starts with an unconfirmed post that did reach Slack
    (in flight, due now, in the channel), make Slack answer 503 to its conversations.history
    lookup and the sender's retries of it. Returns whether it armed the fault."""
    due = store.due_alerts(utc_now(), limit=1)
    if not due or not due[0].in_flight:
        return False
    if due[0].id not in alert_ids([m for m in slack.messages if not m.is_reply]):
        return False
    slack.fail_next(retries + 1, status=503, retry_after=None)
    return True


def run_scenario(name: str, args: argparse.Namespace, work: Path) -> Result:
    channels = [channel_name(n) for n in range(args.channels)]
    events = EventCounter()
    logging.getLogger().addHandler(events)
    with FeedServer() as feeds, SlackStandIn(
        channel_rate=args.rate, channel_burst=args.burst
    ) as slack:
        for channel in channels:
            slack.add_channel(channel)
        feeds.add("/wire.xml", rss("Wire", stories(args.alerts, args.channels, args.seed)))
        settings = Settings(
            database_url=f"sqlite:///{work / f'{name}.db'}",
            claims_file=write_claims(work, claims_yaml(args.channels)),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            slack_channel=channels[0],
            slack_rate=args.rate,
            slack_burst=args.burst,
            semantic="off",
        )
        store = Store(settings.database_url)
        try:
            claims = load_claims(settings.claims_file)
            pipeline = Pipeline(settings, store, Watchlist.build(claims.claims), clock=utc_now)
            # Production's sender (retries, backoff, Retry-After handling) but a 1 s timeout.
            sink = SlackSink(
                SlackSender("xoxb-test", base_url=slack.base_url, timeout=args.timeout,
                            max_retries=SENDER_RETRIES)
            )
            # Offset between the stand-in's time.monotonic() stamps and epoch seconds.
            offset = time.time() - time.monotonic()
            polled = pipeline.poll([Feed(url=feeds.url("/wire.xml"), name="Wire")])
            new_alerts = polled.total("new_alerts")
            if polled.failed or new_alerts != args.alerts:
                raise SystemExit(
                    f"{name}: the poll made {new_alerts} alerts, expected {args.alerts}"
                    f" ({[f.error for f in polled.failed]})"
                )
            records = [a for a in store.alerts(limit=args.alerts * 4) if a.kind == "alert"]
            created = {a.id: a.created_at.timestamp() for a in records}

            start = time.time()
            plan = fault_plan(args.timeout) if name == "faults" else []
            injector = Injector(slack, plan, args.alerts, start)
            injector.start()
            total, drains, drained = DeliverySummary(), 0, False
            lookup_fault = name == "faults" and args.fault_lookup
            while True:
                if lookup_fault and arm_lookup_fault(store, slack, SENDER_RETRIES):
                    lookup_fault = False
                    plan.append(Fault(0.0, f"--fault-lookup: {SENDER_RETRIES + 1}x 503 on the"
                                      " conversations.history lookup of an unconfirmed post",
                                      lambda s: None, time.time() - start))
                add_summary(total, pipeline.deliver(sink, limit=1000))
                drains += 1
                counts = store.alert_counts()
                if not counts.get("pending"):
                    drained = True
                    break
                if time.time() - start > DEADLINE_SECONDS:
                    break
                time.sleep(args.tick)
            injector.done.set()
            injector.join()

            messages: list[PostedMessage] = [m for m in slack.messages if not m.is_reply]
            ids = alert_ids(messages)
            first_post: dict[int, float] = {}
            for message, alert_id in zip(messages, ids, strict=True):
                first_post.setdefault(alert_id, message.at + offset)
            seen = Counter(ids)
            reordered = 0
            for channel in channels:
                in_channel = [i for m, i in zip(messages, ids, strict=True) if m.channel == channel]
                reordered += sum(1 for a, b in pairwise(in_channel) if b < a)
            end = max(first_post.values(), default=start)
            calls = slack.calls
            return Result(
                scenario=name,
                expected=len(created),
                delivered=len(set(created) & set(seen)),
                wall=end - start,
                latencies=[first_post[i] - created[i] for i in created if i in first_post],
                rate_limited_budget=slack.rate_limited,
                status_429=sum(1 for c in calls if c.http_status == 429),
                status_5xx=sum(1 for c in calls if c.http_status >= 500),
                lost=sorted(set(created) - set(seen)),
                duplicated={i: n for i, n in seen.items() if n > 1},
                reordered=reordered,
                outbox=store.alert_counts(),
                drained=drained,
                summary=total,
                drains=drains,
                before_delivery=start - min(created.values()),
                events=events.events,
                lookup_failures=events.lookup_failures,
                faults=plan,
            )
        finally:
            logging.getLogger().removeHandler(events)
            store.close()


def report(results: list[Result], args: argparse.Namespace) -> None:
    header = (f"{'scenario':<8} {'alerts':>6} {'delivered':>9} {'wall s':>7} {'alerts/s':>8}"
              f" {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'429s':>4} {'5xx':>4}"
              f" {'LOST':>4} {'DUPLICATED':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.scenario:<8} {r.expected:>6} {r.delivered:>9} {r.wall:>7.2f}"
              f" {r.per_second:>8.1f} {percentile(r.latencies, 0.50):>6.2f}"
              f" {percentile(r.latencies, 0.95):>6.2f} {max(r.latencies, default=0):>6.2f}"
              f" {r.status_429:>4} {r.status_5xx:>4} {len(r.lost):>4} {len(r.duplicated):>10}")
    print()
    for r in results:
        s = r.summary
        print(f"[{r.scenario}] outbox at the end: {r.outbox}; drained: {r.drained}"
              f" ({r.drains} drains)")
        print(f"[{r.scenario}] poll: {r.before_delivery:.2f} s from the alerts' created_at"
              " (stamped when the feed was fetched) to the first drain (parse, match, store);"
              " it is part of every latency")
        print(f"[{r.scenario}] deliver() totals: sent={s.sent} retried={s.retried}"
              f" found-already-posted={s.found} failed={s.failed}")
        print(f"[{r.scenario}] 429s: {r.rate_limited_budget} from the per-channel budget,"
              f" {r.status_429 - r.rate_limited_budget} injected; alerts posted after a later"
              f" alert of their channel (reordered by retries): {r.reordered}")
        if r.rate_limited_budget:
            print(f"[{r.scenario}] note: the stand-in's budget refused {r.rate_limited_budget}"
                  " writes that the bot's own pacer had allowed (the bot went over Slack's pace)")
        if r.events:
            print(f"[{r.scenario}] pipeline warnings: {dict(sorted(r.events.items()))}")
        for fault in r.faults:
            when = "never fired" if fault.fired_at is None else f"t+{fault.fired_at:.2f}s"
            share = f" at {fault.at_fraction:.0%} of alerts posted" if fault.at_fraction else ""
            print(f"[{r.scenario}]   fault{share} ({when}): {fault.label}")
        for line in r.lookup_failures:
            print(f"[{r.scenario}]   lookup failed: {line[:200]}")
        if r.lost:
            print(f"[{r.scenario}] LOST alert ids: {r.lost}")
        if r.duplicated:
            print(f"[{r.scenario}] DUPLICATED alert ids (id: times posted): {r.duplicated}")
        print()
    pace = args.rate * PACE_MARGIN
    per_channel = args.alerts / args.channels
    floor = max(0.0, per_channel - args.burst) / pace
    print(f"Rate used: the stand-in allows {args.rate:g} msg/s per channel (burst {args.burst}),"
          f" and the bot is set to the same (CLAIMBOT_SLACK_RATE={args.rate:g},"
          f" CLAIMBOT_SLACK_BURST={args.burst}); it paces at {PACE_MARGIN:.0%} of that,"
          f" {pace:g} msg/s per channel, {pace * args.channels:g} msg/s over {args.channels}"
          " channels. Real Slack allows about 1 msg/s per channel: there the same alerts"
          f" would take about {per_channel:.0f} s per channel.")
    print(f"Latency: all {args.alerts} alerts are matched by one poll, so they queue behind"
          f" Slack's pace: the last alert of a channel waits about {floor:.1f} s"
          f" (({per_channel:.0f} - burst {args.burst}) / {pace:g} msg/s) and p50 is about half"
          " that. The figures measure pacing and fault recovery, not the bot's own overhead."
          " Under faults, a 429 holds its channel for Retry-After; any other transient failure"
          " holds that channel (keeping its order; other channels go on) until the alert's"
          " retry after the outbox backoff (at least 5 s, doubling), so retried alerts set"
          " p95/max.")
    print(f"Clocks: real wall clock throughout; latency = post time (stand-in, time.monotonic()"
          f" + offset to time.time() measured once) - alert created_at (stamped by the poll)."
          f" The bot drains the outbox every {args.tick:g} s here (production:"
          " CLAIMBOT_DELIVERY_INTERVAL, 5 s by default, plus a drain right after each poll);"
          f" the sender's timeout is {args.timeout:g} s (production: 10 s), otherwise the"
          " production sender settings (3 retries, 0.5 s backoff).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=300, help="alerts to deliver (300)")
    parser.add_argument("--channels", type=int, default=3, help="Slack channels (3)")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="msg/s per channel, Slack's budget and the bot's setting (20)")
    parser.add_argument("--burst", type=int, default=3, help="per-channel burst (3)")
    parser.add_argument("--seed", type=int, default=7, help="seed for the story texts (7)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--tick", type=float, default=0.5,
                        help="seconds between outbox drains (0.5)")
    parser.add_argument("--fault-lookup", action="store_true",
                        help="faults: also fail the history lookup of an unconfirmed post")
    parser.add_argument("--timeout", type=float, default=SENDER_TIMEOUT,
                        help=f"Slack sender timeout in seconds ({SENDER_TIMEOUT:g})")
    args = parser.parse_args(argv)
    if args.alerts < 1 or args.channels < 1 or args.rate <= 0 or args.burst < 1:
        parser.error("--alerts, --channels, --rate and --burst must be positive")
    logging.basicConfig(level=logging.CRITICAL)  # counted by EventCounter, not printed
    logging.getLogger().setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.CRITICAL)

    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(argv)
    print(f"$ {command}")
    print(f"{args.alerts} alerts over {args.channels} channels, {args.rate:g} msg/s per channel"
          f" (burst {args.burst}), seed {args.seed}")
    print()
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    results = []
    with tempfile.TemporaryDirectory(prefix="claimbot-delivery-") as tmp:
        for name in names:
            results.append(run_scenario(name, args, Path(tmp)))
    report(results, args)
    bad = [r.scenario for r in results if not r.ok]
    if bad:
        print(f"FAIL: lost, duplicated or undrained alerts in: {', '.join(bad)}")
        return 1
    print("OK: nothing lost, nothing duplicated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
