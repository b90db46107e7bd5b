"""/healthz and /metrics: an in-process Runner on a free port, and a real ``claimbot run``."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.sinks import SlackSink
from bot.alerts.slack import SlackSender
from bot.config import Settings
from bot.errors import ConfigError
from bot.health import HealthCheck, TickTracker
from bot.metrics import BotMetrics
from bot.ops_server import OpsServer
from bot.scheduler import Runner
from bot.store import Store
from tests.support.builders import Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_run import run_env, wait_for

ALERTING = "Venezuela says Russian S-300 batteries failed during US raid"


@dataclass
class Clock:
    """Monotonic seconds the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def sample(metrics: str, name: str) -> float:
    """The value of one sample (``name`` with its labels) in Prometheus text."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.M)
    assert found, f"{name} not in metrics"
    return float(found.group(1))


@dataclass
class Bot:
    runner: Runner
    clock: Clock
    db_dir: Path
    base: str


@pytest.fixture
def bot(tmp_path: Path, slack: SlackStandIn) -> Iterator[Bot]:
    with FeedServer() as feeds:
        feeds.add("/wire.xml", rss("Wire", [Entry("w1", ALERTING), Entry("w2", "Weather")]))
        db_dir = tmp_path / "db"
        settings = Settings(
            database_url=f"sqlite:///{db_dir / 'bot.db'}",
            claims_file=write_claims(tmp_path),
            feeds_file=write_feeds(tmp_path, {"Wire": feeds.url("/wire.xml")}),
            slack_bot_token="xoxb-test",
            slack_api_url=slack.base_url,
            semantic="off",
            tick_interval=10.0,
            http_port=0,
        )
        store = Store(settings.database_url)
        sink = SlackSink(SlackSender("xoxb-test", base_url=slack.base_url, backoff=0.01))
        clock = Clock()
        runner = Runner(settings, store, sink, ticks=TickTracker(clock))
        server = runner.ops_server()
        assert server is not None
        with server:
            host, port = server.address
            yield Bot(runner, clock, db_dir, f"http://{host}:{port}")
        store.close()


def test_metrics_count_polls_items_matches_and_alerts(bot: Bot, slack: SlackStandIn) -> None:
    bot.runner.poll_tick()  # the alert is enqueued; its drain runs on its own thread
    for thread in bot.runner.drain_soon.threads:
        thread.join(timeout=10)
    bot.runner.poll_tick()  # nothing due: no polls counted

    status, metrics = get(bot.base + "/metrics")

    assert status == 200
    assert len(slack.messages) == 1
    assert sample(metrics, 'claimbot_polls_total{status="ok"}') == 1
    assert sample(metrics, 'claimbot_polls_total{status="error"}') == 0
    assert sample(metrics, "claimbot_items_new_total") == 2
    assert sample(metrics, "claimbot_matches_total") >= 1
    assert sample(metrics, "claimbot_alerts_queued_total") == 1
    assert sample(metrics, "claimbot_alerts_sent_total") == 1
    assert sample(metrics, "claimbot_alerts_failed_total") == 0
    assert sample(metrics, "claimbot_alerts_pending") == 0
    assert sample(metrics, "claimbot_fetch_duration_seconds_count") == 1


def test_pending_alerts_are_read_from_the_store_at_scrape_time(
    bot: Bot, slack: SlackStandIn
) -> None:
    slack.set_outage(True)
    bot.runner.poll_tick()
    for thread in bot.runner.drain_soon.threads:
        thread.join(timeout=10)

    _, metrics = get(bot.base + "/metrics")

    assert sample(metrics, "claimbot_alerts_pending") == 1
    assert sample(metrics, "claimbot_alerts_sent_total") == 0


def test_healthz_is_ok_while_ticks_run_and_503_when_they_stop(bot: Bot) -> None:
    assert get(bot.base + "/healthz") == (200, "ok\n")  # just started: within 3 ticks
    bot.runner.poll_tick()
    bot.clock.now += 29
    assert get(bot.base + "/healthz")[0] == 200

    bot.clock.now += 2  # 31 s since the last tick: over 3 intervals of 10 s
    status, body = get(bot.base + "/healthz")

    assert status == 503
    report = json.loads(body)
    assert report["status"] == "unhealthy"
    assert report["checks"]["database"]["ok"] is True
    assert report["checks"]["scheduler"]["ok"] is False
    assert "last poll tick 31s ago" in report["checks"]["scheduler"]["detail"]


def test_healthz_is_503_when_no_tick_ever_ran(bot: Bot) -> None:
    bot.clock.now += 31
    status, body = get(bot.base + "/healthz")
    assert status == 503
    assert "no poll tick" in json.loads(body)["checks"]["scheduler"]["detail"]


def test_healthz_is_503_when_the_database_is_gone(bot: Bot) -> None:
    bot.runner.poll_tick()
    shutil.rmtree(bot.db_dir)

    status, body = get(bot.base + "/healthz")

    assert status == 503
    checks = json.loads(body)["checks"]
    assert checks["scheduler"]["ok"] is True
    assert checks["database"]["ok"] is False
    assert "is gone" in checks["database"]["detail"]


def test_healthz_fails_in_time_when_the_database_hangs() -> None:
    """A ping that never returns makes the check fail after its timeout, not hang."""
    release = threading.Event()
    clock = Clock()
    health = HealthCheck(lambda: release.wait(5) and None, TickTracker(clock), 10.0,
                         db_timeout=0.2)
    with OpsServer("127.0.0.1", 0, health, BotMetrics()) as server:
        host, port = server.address
        status, body = get(f"http://{host}:{port}/healthz")
        again, _ = get(f"http://{host}:{port}/healthz")  # still the one ping in flight
    release.set()
    assert status == again == 503
    assert json.loads(body)["checks"]["database"]["detail"] == "no answer within 0.2s"


def test_healthz_is_503_when_postgres_goes_away() -> None:
    """A Store reaching PostgreSQL through a relay that then closes: connections refused."""
    from sqlalchemy.engine import make_url

    from tests.conftest import POSTGRES_URL, postgres_reason

    if reason := postgres_reason():
        pytest.skip(reason)
    target = make_url(POSTGRES_URL)
    with TcpRelay(target.host or "127.0.0.1", target.port or 5432) as relay:
        store = Store(target.set(port=relay.port).render_as_string(hide_password=False))
        health = HealthCheck(store.ping, TickTracker(), 10.0)
        assert health.check().ok
    try:
        report = health.check()
    finally:
        store.close()
    assert not report.ok
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert list(failed) == ["database"]
    assert "database postgresql+psycopg://" in failed["database"]


class TcpRelay:
    """Forwards 127.0.0.1:<port> to a server; closing it drops every connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TcpRelay:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(OSError):  # wakes the accept() blocked on another thread
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.thread.join(timeout=2)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_unknown_path_is_404(bot: Bot) -> None:
    assert get(bot.base + "/")[0] == 404


def test_a_taken_port_is_a_clear_error() -> None:
    health = HealthCheck(lambda: None, TickTracker(), 10.0)
    with OpsServer("127.0.0.1", 0, health, BotMetrics()) as first:
        with pytest.raises(ConfigError, match="CLAIMBOT_HTTP_PORT.*cannot serve"):
            OpsServer("127.0.0.1", first.address[1], health, BotMetrics())


def test_claimbot_run_serves_healthz_and_metrics_and_stops(tmp_path: Path) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.add("/wire.xml", rss("Wire", [Entry("w1", ALERTING)]))
        env = run_env(
            tmp_path, feeds, slack, CLAIMBOT_TICK_INTERVAL="0.3",
            CLAIMBOT_DELIVERY_INTERVAL="0.3", CLAIMBOT_HTTP_PORT="0",
        )
        log_path = tmp_path / "run.log"
        with log_path.open("w+") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                stdout=log, stderr=subprocess.STDOUT,
            )
            try:
                wait_for(lambda: "http_listening" in log_path.read_text())
                found = re.search(r"http_listening host=(\S+) port=(\d+)", log_path.read_text())
                assert found
                base = f"http://{found.group(1)}:{found.group(2)}"
                wait_for(lambda: len(slack.messages) == 1)
                wait_for(lambda: get(base + "/healthz") == (200, "ok\n"))
                wait_for(lambda: "claimbot_alerts_sent_total 1.0" in get(base + "/metrics")[1])
                metrics = get(base + "/metrics")[1]
                assert sample(metrics, 'claimbot_polls_total{status="ok"}') >= 1
            finally:
                process.send_signal(signal.SIGTERM)
                code = process.wait(timeout=30)
        assert code == 0, log_path.read_text()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(base + "/healthz", timeout=2)


def test_leases_held_now_are_counted_at_scrape_time(bot: Bot) -> None:
    bot.runner.poll_tick()  # its feed lease ends with the poll, its channel's with the drain
    for thread in bot.runner.drain_soon.threads:
        thread.join(timeout=10)
    _, before = get(bot.base + "/metrics")
    assert sample(before, 'claimbot_leases{kind="feed"}') == 0
    assert sample(before, 'claimbot_leases{kind="channel"}') == 0
    now = datetime.now(UTC)
    bot.runner.store.lease_channels(["#elsewhere"], owner="other-host:1:aaaaaa", now=now,
                                    until=now + timedelta(minutes=5))

    _, after = get(bot.base + "/metrics")

    assert sample(after, 'claimbot_leases{kind="channel"}') == 1
