"""The Dockerfile and docker-compose.yml, checked without a Docker engine (none runs here):
their settings are real, their health checks work against a real /healthz."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.config import Settings
from bot.health import CheckResult, HealthReport
from bot.metrics import BotMetrics
from bot.ops_server import OpsServer

REPO = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = YAML(typ="safe").load(REPO / "docker-compose.yml")
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def setting_names() -> set[str]:
    names = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else None
        names.add(alias or f"CLAIMBOT_{name.upper()}")
    return names


def dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV (.*?)\n\n", DOCKERFILE, re.M | re.S)
    assert block
    return dict(
        pair.split("=", 1) for pair in shlex.split(block.group(1).replace("\\\n", " "))
    )


def test_compose_runs_postgres_and_two_workers_that_wait_for_it() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"db", "worker-1", "worker-2"}
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    for name in ("worker-1", "worker-2"):
        worker = services[name]
        assert worker["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert "/app/config" in worker["volumes"][0]
        assert worker["healthcheck"]["test"][0] == "CMD"


def test_compose_environment_names_only_real_settings() -> None:
    known = setting_names()
    db = COMPOSE["services"]["db"]["environment"]
    for name in ("worker-1", "worker-2"):
        env = COMPOSE["services"][name]["environment"]
        assert set(env) <= known, set(env) - known
        url = env["CLAIMBOT_DATABASE_URL"]
        assert url == (
            f"postgresql+psycopg://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}"
            f"@db:5432/{db['POSTGRES_DB']}"
        )
        assert env["CLAIMBOT_HTTP_HOST"] == "0.0.0.0"
        port = env["CLAIMBOT_HTTP_PORT"]
        assert any(p.endswith(f":{port}") for p in COMPOSE["services"][name]["ports"])
        Settings(**{k.removeprefix("CLAIMBOT_").lower(): v for k, v in env.items()
                    if k.startswith("CLAIMBOT_")})  # every value valid


def test_dockerfile_is_non_root_with_a_healthcheck_and_real_settings() -> None:
    assert re.search(r"^USER claimbot$", DOCKERFILE, re.M)
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE
    env = dockerfile_env()
    claimbot_env = {k for k in env if k.startswith(("CLAIMBOT_", "SLACK_"))}
    assert claimbot_env <= setting_names(), claimbot_env - setting_names()
    assert env["CLAIMBOT_HTTP_HOST"] == "0.0.0.0"
    assert f"EXPOSE {env['CLAIMBOT_HTTP_PORT']}" in DOCKERFILE


class Switch:
    """A readiness check the test turns on and off."""

    ok = True

    def check(self) -> HealthReport:
        return HealthReport((CheckResult("scheduler", self.ok, "test"),))


def run_healthcheck(code: str, port: int) -> int:
    env = {**os.environ, "CLAIMBOT_HTTP_PORT": str(port)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          timeout=30).returncode


def test_both_healthcheck_commands_follow_healthz() -> None:
    dockerfile_command = json.loads(
        re.search(r"CMD (\[\"python\".*?\])\n", DOCKERFILE, re.S).group(1)  # type: ignore[union-attr]
    )
    compose_command = COMPOSE["services"]["worker-1"]["healthcheck"]["test"]
    switch = Switch()
    with OpsServer("127.0.0.1", 0, switch, BotMetrics()) as server:  # type: ignore[arg-type]
        port = server.address[1]
        for command in (dockerfile_command, compose_command):
            assert command[-3:-1] == ["python", "-c"]
            code = command[-1]
            switch.ok = True
            assert run_healthcheck(code, port) == 0
            switch.ok = False
            assert run_healthcheck(code, port) != 0
