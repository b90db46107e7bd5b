"""Log set-up for every command: text lines, or one JSON object per line on request.

Our messages follow ``event key=value key=value`` (``poll feed=... status=304 new=0``).
In JSON each line keeps the raw ``message`` and, when the message follows the
convention, ``event`` plus every field as its own key, so a log pipeline can
filter on ``feed`` or ``status`` without parsing text. A value runs until the
next `` key=``, so values with spaces (``error=connection refused``) survive.

Secrets never reach a log line in either format: Slack tokens and webhook URLs
are masked by a filter on the handler, whatever a message or a traceback holds.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Slack tokens (bot, user, app-level, config, refresh) and incoming-webhook paths.
_SECRET = re.compile(
    r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+"
    r"|(hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"
)
_EVENT = re.compile(r"^([A-Za-z_][\w.-]*)(?=\s|$)")
_FIELD = re.compile(r"(?:^|\s)([A-Za-z_][\w.]*)=")
# Keys the JSON line sets itself; a field with one of these names gets a ``field_`` prefix.
_RESERVED = frozenset({"time", "level", "logger", "event", "message", "exc"})


def redact(text: str) -> str:
    """``text`` with Slack tokens and webhook paths masked."""
    return _SECRET.sub(lambda m: f"{m.group(1)}-***" if m.group(1) else f"{m.group(2)}***", text)


def parse_event(message: str) -> tuple[str | None, dict[str, str]]:
    """The event name and the key=value fields of a conventional message.

    ``"poll feed=u status=200 new=3"`` gives ``("poll", {"feed": "u", "status":
    "200", "new": "3"})``. A message whose first word is not a plain name has no
    event; its fields are still read.
    """
    marks = list(_FIELD.finditer(message))
    first = _EVENT.match(message)
    event = None
    if first and "=" not in message.split(" ", 1)[0]:
        rest = message[first.end() :]
        # The convention: the name alone, or the name followed at once by fields.
        if not rest.strip() or (marks and marks[0].start() == first.end()):
            event = first.group(1)
    fields: dict[str, str] = {}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(message)
        fields[mark.group(1)] = message[mark.end() : end].strip()
    return event, fields


class RedactingFilter(logging.Filter):
    """Masks secrets in the formatted message (and its arguments) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, event, fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        event, fields = parse_event(message)
        if event is not None:
            line["event"] = event
        for key, value in fields.items():
            line[f"field_{key}" if key in _RESERVED else key] = value
        line["message"] = message
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class _RedactingTextFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return redact(super().formatException(ei))


def configure_logging(level: str, log_format: str, stream: TextIO | None = None) -> None:
    """Send logs to ``stream`` (stderr) as text or JSON, secrets masked.

    Like ``logging.basicConfig``, does nothing when the root logger already has
    handlers (an embedding application, or pytest, owns logging then).
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    formatter = JsonFormatter() if log_format == "json" else _RedactingTextFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request at INFO; our own poll log line already says what happened.
    logging.getLogger("httpx").setLevel(logging.WARNING)
