"""Where outbox alerts go: Slack, or the terminal in a dry run.

A sink takes one stored alert and returns where it landed (channel, ts). It
raises :class:`DeliveryError` when it could not deliver; the outbox drain in
the pipeline decides what that means for the alert.
"""

from __future__ import annotations

from typing import Protocol, TextIO

from bot.alerts.render import RenderedAlert
from bot.alerts.slack import SlackSender
from bot.store import OutboxAlert

DRY_RUN_CHANNEL = "(terminal)"


class AlertSink(Protocol):
    def deliver(self, alert: OutboxAlert) -> tuple[str, str]: ...


class SlackSink:
    """Posts alerts with the real slack-sdk client."""

    def __init__(self, sender: SlackSender) -> None:
        self.sender = sender

    def deliver(self, alert: OutboxAlert) -> tuple[str, str]:
        return self.sender.post(alert.channel, RenderedAlert(text=alert.text, blocks=alert.blocks))


class TerminalSink:
    """The dry run: prints each alert instead of posting it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def deliver(self, alert: OutboxAlert) -> tuple[str, str]:
        rule = "─" * 72
        self.stream.write(f"{rule}\nALERT → {alert.channel}\n{alert.plain}\n")
        self.stream.flush()
        return DRY_RUN_CHANNEL, f"dry-run-{alert.id}"
