"""Log lines: ``event key=value`` parsed into JSON keys, and secrets never written."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, RedactingFilter, parse_event, redact
from tests.support.builders import Entry, rss, write_claims, write_feeds
from tests.support.feed_server import FeedServer
from tests.support.slack_server import SlackStandIn
from tests.test_cli import claimbot


@pytest.mark.parametrize(
    ("message", "event", "fields"),
    [
        ("poll feed=http://x/a.xml status=304 new=0", "poll",
         {"feed": "http://x/a.xml", "status": "304", "new": "0"}),
        ("poll_failed feed=u status=None error=connection refused: is it up?", "poll_failed",
         {"feed": "u", "status": "None", "error": "connection refused: is it up?"}),
        ("stopped", "stopped", {}),
        ("signal=SIGTERM stop requested", None, {"signal": "SIGTERM stop requested"}),
        ("Some library sentence, no fields", None, {}),
    ],
)
def test_parse_event(message: str, event: str | None, fields: dict[str, str]) -> None:
    assert parse_event(message) == (event, fields)


def format_json(message: str, *args: object, exc: bool = False) -> dict[str, object]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("claimbot.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise ValueError("token xoxb-123-456-abc leaked")
            except ValueError:
                logger.exception(message, *args)
        else:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return dict(json.loads(stream.getvalue()))


def test_a_json_line_has_time_level_logger_event_and_fields() -> None:
    line = format_json("poll feed=%s status=%d level=%s", "http://x/a.xml", 200, "high")
    assert line["level"] == "WARNING"
    assert line["logger"] == "claimbot.test_logs"
    assert str(line["time"]).endswith("+00:00")
    assert line["event"] == "poll"
    assert line["feed"] == "http://x/a.xml"
    assert line["status"] == "200"
    assert line["field_level"] == "high"  # never overwrites the line's own keys
    assert line["message"] == "poll feed=http://x/a.xml status=200 level=high"


def test_tokens_and_webhook_paths_are_masked_in_messages_and_tracebacks() -> None:
    line = format_json(
        "sending token=%s via=%s", "xoxb-1234-5678-secret",
        "https://hooks.slack.com/services/T000/B000/XXXX", exc=True,
    )
    text = json.dumps(line)
    assert "secret" not in text and "XXXX" not in text and "456-abc" not in text
    assert line["token"] == "xoxb-***"
    assert line["via"] == "https://hooks.slack.com/services/***"
    assert "ValueError" in str(line["exc"])
    assert redact("xapp-1-A0-123-abc and xoxp-9-9") == "xapp-*** and xoxp-***"


@pytest.mark.parametrize("token", ["xoxb-test", None])
def test_claimbot_poll_logs_one_json_object_per_line(tmp_path: Path, token: str | None) -> None:
    with FeedServer() as feeds, SlackStandIn() as slack:
        feeds.add("/wire.xml", rss("Wire", [Entry("w1", "Weather is fine")]))
        env = {
            "CLAIMBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "CLAIMBOT_CLAIMS_FILE": str(write_claims(tmp_path)),
            "CLAIMBOT_FEEDS_FILE": str(write_feeds(tmp_path, {"Wire": feeds.url("/wire.xml")})),
            "CLAIMBOT_SLACK_API_URL": slack.base_url,
            "CLAIMBOT_LOG_FORMAT": "json",
        }
        if token:
            env["SLACK_BOT_TOKEN"] = token
        result = claimbot("poll", "--once", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    polls = [line for line in lines if line.get("event") == "poll"]
    assert len(polls) == 1
    assert polls[0]["feed"] == feeds.url("/wire.xml")
    assert polls[0]["new"] == "1"
    assert {"time", "level", "logger", "message"} <= set(polls[0])
    notices = [line["text"] for line in lines if line.get("event") == "notice"]
    assert notices == ([] if token else [
        "dry run: SLACK_BOT_TOKEN is not set, so alerts are printed here instead of posted"
    ])
