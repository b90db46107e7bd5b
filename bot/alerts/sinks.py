"""Where outbox messages go: Slack's Web API, an incoming webhook, or the terminal.

A sink posts a composed message and says where it landed (channel, ts); it
raises :class:`DeliveryError` when it could not. ``threads`` says whether it
can reply in a thread and edit a posted message; ``find_posted`` looks up
whether an earlier, unconfirmed post reached its destination (None when it
did not, or when the sink cannot tell).
"""

from __future__ import annotations

from typing import Protocol, TextIO

from slack_sdk.webhook import WebhookClient

from bot.alerts.render import RenderedAlert
from bot.alerts.slack import SlackSender, retry_after_seconds
from bot.errors import DeliveryError

DRY_RUN_CHANNEL = "(terminal)"
WEBHOOK_CHANNEL = "(webhook)"


class AlertSink(Protocol):
    threads: bool
    interactive: bool
    paced: bool  # whether Slack's per-channel pace applies
    # Where this sink's messages land when that is not a Slack channel (the terminal, a
    # webhook): replies and edits can only follow an alert that went to the same place.
    destination: str | None

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]: ...

    def update(self, channel: str, ts: str, message: RenderedAlert, plain: str) -> None: ...

    def pace_key(self, channel: str) -> str:
        """What Slack's per-channel pace counts this channel's writes under."""
        ...

    def find_posted(
        self,
        channel: str,
        alert_id: int,
        *,
        oldest: float,
        latest: float | None = None,
        thread_ts: str | None = None,
    ) -> str | None: ...


class SlackSink:
    """Posts with the real slack-sdk client; threads, edits and lookups all work."""

    threads = True
    paced = True
    destination: str | None = None

    def __init__(self, sender: SlackSender, *, interactive: bool = False) -> None:
        self.sender = sender
        self.interactive = interactive

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        return self.sender.post(channel, message, thread_ts=thread_ts, alert_id=alert_id)

    def update(self, channel: str, ts: str, message: RenderedAlert, plain: str) -> None:
        self.sender.update(channel, ts, message)

    def pace_key(self, channel: str) -> str:
        return channel

    def find_posted(
        self,
        channel: str,
        alert_id: int,
        *,
        oldest: float,
        latest: float | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        return self.sender.find_posted(
            channel, alert_id, oldest=oldest, latest=latest, thread_ts=thread_ts
        )


class WebhookSink:
    """An incoming webhook: posts only, into the one channel the webhook belongs to.

    Webhooks cannot reply in threads, edit, or read history, so copies of a
    story are not posted (the first alert stands for the story) and a post
    whose answer was lost is posted again: at least once, not exactly once.
    """

    threads = False
    interactive = False
    paced = True
    destination: str | None = WEBHOOK_CHANNEL

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.client = WebhookClient(url, timeout=int(timeout))

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        try:
            response = self.client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except OSError as exc:  # urllib's URLError and socket errors
            raise DeliveryError(
                f"could not reach the Slack webhook ({exc}): the alert will be retried",
                code="connection_error",
                unsure=not isinstance(getattr(exc, "reason", exc), ConnectionRefusedError),
            ) from exc
        # WebhookClient returns every answer, errors included; the status tells.
        if response.status_code == 200:
            return WEBHOOK_CHANNEL, f"webhook-{alert_id}"
        body = (response.body or "").strip()[:200]
        if response.status_code == 429:
            wait = retry_after_seconds(response.headers or {})
            raise DeliveryError(
                "Slack is rate limiting the webhook: the alert will be retried",
                code="ratelimited",
                retry_after=wait,
            )
        if response.status_code >= 500:
            raise DeliveryError(
                f"the Slack webhook answered HTTP {response.status_code}: the alert will be"
                " retried",
                code=f"http_{response.status_code}",
                unsure=True,
            )
        reasons = {
            "no_service": "the webhook URL is unknown or revoked: set CLAIMBOT_SLACK_WEBHOOK_URL",
            "channel_is_archived": "the webhook's channel is archived: create a new webhook",
            "invalid_blocks": "Slack rejected the message layout: this is a claimbot bug",
            "invalid_payload": "Slack could not read the message: this is a claimbot bug",
        }
        raise DeliveryError(
            reasons.get(body, f"the Slack webhook refused the message (HTTP"
                              f" {response.status_code} {body or 'no body'})"),
            code=body or f"http_{response.status_code}",
            permanent=True,
        )

    def update(self, channel: str, ts: str, message: RenderedAlert, plain: str) -> None:
        raise DeliveryError("a webhook cannot edit messages", code="unsupported", permanent=True)

    def pace_key(self, channel: str) -> str:
        return WEBHOOK_CHANNEL  # every post lands in the webhook's one channel

    def find_posted(
        self,
        channel: str,
        alert_id: int,
        *,
        oldest: float,
        latest: float | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        return None


class TerminalSink:
    """The dry run: prints each message instead of posting it."""

    threads = True
    interactive = False
    paced = False
    destination: str | None = DRY_RUN_CHANNEL

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        plain: str,
        *,
        alert_id: int,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        if thread_ts is None:
            rule = "─" * 72
            self.stream.write(f"{rule}\nALERT → {channel}\n{plain}\n")
        else:
            self.stream.write(f"{plain}\n")
        self.stream.flush()
        return DRY_RUN_CHANNEL, f"dry-run-{alert_id}"

    def update(self, channel: str, ts: str, message: RenderedAlert, plain: str) -> None:
        self.stream.write(f"{plain}\n")
        self.stream.flush()

    def pace_key(self, channel: str) -> str:
        return channel

    def find_posted(
        self,
        channel: str,
        alert_id: int,
        *,
        oldest: float,
        latest: float | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        return None
