"""The operations endpoints of ``claimbot run``: ``/healthz`` and ``/metrics``.

A stdlib ``ThreadingHTTPServer`` on a background thread: two GET routes do not
need a framework, and a slow scrape never delays a health probe. The server is
read-only (it never changes the bot) and is off unless ``CLAIMBOT_HTTP_PORT``
is set; it binds ``CLAIMBOT_HTTP_HOST`` (127.0.0.1 by default, 0.0.0.0 in Docker).

* ``GET /healthz``: 200 ``ok`` when every readiness check passes; 503 with a
  JSON body naming the failed check otherwise (``bot.health``).
* ``GET /metrics``: Prometheus text format (``bot.metrics``).
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.errors import ConfigError
from bot.health import HealthCheck
from bot.metrics import CONTENT_TYPE, BotMetrics

log = logging.getLogger("claimbot.http")


class OpsServer:
    """Serves /healthz and /metrics until :meth:`stop`; use as a context manager."""

    def __init__(self, host: str, port: int, health: HealthCheck, metrics: BotMetrics) -> None:
        handler = type("_BoundHandler", (_Handler,), {"health": health, "metrics": metrics})
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve /healthz and /metrics on {host}:{port}: {exc.strerror}",
                field="CLAIMBOT_HTTP_PORT",
            ) from exc
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ops-http", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> OpsServer:
        self._thread.start()
        host, port = self.address
        log.info("http_listening host=%s port=%d paths=/healthz,/metrics", host, port)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> OpsServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    health: HealthCheck
    metrics: BotMetrics
    server_version = "claimbot"

    def do_GET(self) -> None:  # noqa: N802 - name fixed by BaseHTTPRequestHandler
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            report = self.health.check()
            if report.ok:
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
            else:
                body = json.dumps(report.to_dict()).encode() + b"\n"
                log.warning(
                    "unhealthy %s",
                    " ".join(f"{c.name}={c.detail!r}" for c in report.checks if not c.ok),
                )
                self._send(503, body, "application/json")
        elif path == "/metrics":
            self._send(200, self.metrics.render(), CONTENT_TYPE)
        else:
            self._send(404, b"not found: try /healthz or /metrics\n", "text/plain; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Probes every few seconds would drown the log: requests are not logged."""
