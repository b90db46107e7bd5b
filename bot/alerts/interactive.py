"""Slack's side of the conversation: feedback buttons and ``/claimbot``, over Socket Mode.

Socket Mode needs no public URL: the bot opens a WebSocket to Slack with an
app-level token (``SLACK_APP_TOKEN``, scope ``connections:write``), and Slack
sends button presses and slash commands down it. Each must be acknowledged
within 3 seconds, so a button press is acknowledged first and then stored; a
slash command is answered in its acknowledgement (Slack shows that payload
to the user only: an ephemeral reply), from the database.

A verdict is stored with who gave it and when, in the same transaction that
queues the alert's re-render; the outbox then edits the message so the
buttons become "marked false positive by @x".
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.alerts.commands import (
    USAGE,
    CommandError,
    answer_matches,
    answer_stats,
    parse_command,
)
from bot.alerts.compose import FEEDBACK_ACTIONS
from bot.alerts.render import _clean_line, _fit
from bot.config import Claim
from bot.errors import BotError, StoreError
from bot.matching.thresholds import DEFAULT_ALERT_AT
from bot.store import Store

log = logging.getLogger("claimbot.slack")

MUTE_BUTTON_DURATION = timedelta(hours=24)
STATS_WINDOW = timedelta(days=30)

Clock = Callable[[], datetime]


class SlackInteractions:
    """Listens on Socket Mode and turns what users do in Slack into store changes."""

    def __init__(
        self,
        *,
        app_token: str,
        bot_token: str | None,
        api_url: str,
        store: Store,
        claims: Callable[[], Mapping[str, Claim]],
        clock: Clock,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.claims = claims
        self.clock = clock
        self.on_change = on_change
        self.client = SocketModeClient(
            app_token=app_token,
            web_client=WebClient(token=bot_token, base_url=api_url),
            auto_reconnect_enabled=True,
        )
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Connect; raises ``BotError`` when Slack refuses (wrong token type, no Socket Mode)."""
        try:
            self.client.connect()
        except Exception as exc:  # slack-sdk raises SlackApiError or socket errors here
            raise BotError(
                f"slack: could not open Socket Mode ({exc}): check SLACK_APP_TOKEN (xapp-...,"
                " scope connections:write) and that Socket Mode is on in the app settings"
            ) from exc
        log.info("socket_mode_connected")

    def stop(self) -> None:
        """Close the connection at once. The builtin client reads with a 3 s timeout and
        close() waits for that read; shutting the socket down first ends the read now."""
        self.client.auto_reconnect_enabled = False
        self.client.closed = True
        sock = getattr(getattr(self.client, "current_session", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.client.close()

    # -- dispatch ---------------------------------------------------------------

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        try:
            if request.type == "slash_commands":
                self._ack(request, self.answer_command(request.payload))
            elif request.type == "interactive":
                self._ack(request)  # first: Slack wants it within 3 s
                self.handle_actions(request.payload)
            else:
                self._ack(request)
        except Exception:  # a listener must never take the connection down
            log.exception("socket_mode_request_failed type=%s", request.type)

    def _ack(self, request: SocketModeRequest, payload: dict[str, Any] | None = None) -> None:
        response = SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
        self.client.send_socket_mode_response(response)

    # -- buttons ----------------------------------------------------------------

    def handle_actions(self, payload: Mapping[str, Any]) -> int:
        """Store the verdict of each claimbot button in ``payload``; returns how many."""
        if payload.get("type") != "block_actions":
            return 0
        user = payload.get("user") or {}
        user_id = str(user.get("id") or "unknown")
        user_name = user.get("username") or user.get("name")
        stored = 0
        for action in payload.get("actions") or []:
            verdict = FEEDBACK_ACTIONS.get(str(action.get("action_id")))
            if verdict is None:
                continue
            try:
                alert_id = int(action.get("value"))
            except (TypeError, ValueError):
                log.warning("feedback_ignored reason=bad-value value=%r", action.get("value"))
                continue
            now = self.clock()
            mute_until = now + MUTE_BUTTON_DURATION if verdict == "mute" else None
            try:
                claim_id = self.store.record_feedback(
                    alert_id, verdict=verdict, user_id=user_id, user_name=user_name, now=now,
                    mute_until=mute_until,
                )
            except StoreError as exc:
                log.warning("feedback_failed alert=%d error=%s", alert_id, exc)
                continue
            stored += 1
            log.info("feedback alert=%d claim=%s verdict=%s user=%s", alert_id, claim_id,
                     verdict, user_id)
        if stored:
            self.on_change()
        return stored

    # -- /claimbot --------------------------------------------------------------

    def answer_command(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The ephemeral answer to one ``/claimbot`` command."""
        claims = self.claims()
        try:
            command = parse_command(str(payload.get("text") or ""), sorted(claims))
            text = self._run(command, claims, payload)
        except CommandError as exc:
            text = str(exc)
        except BotError as exc:
            log.error("command_failed text=%r error=%s", payload.get("text"), exc)
            text = f"Sorry, that failed: {exc}"
        return {"response_type": "ephemeral", "text": text}

    def _run(self, command: Any, claims: Mapping[str, Claim], payload: Mapping[str, Any]) -> str:
        now = self.clock()
        who = str(payload.get("user_name") or payload.get("user_id") or "someone")
        if command.name == "help":
            return USAGE
        if command.name == "recent":
            found = self.store.recent_matches(claim_id=command.claim, limit=10, alerts_only=True)
            heading = f"Latest alerts for {command.claim}" if command.claim else "Latest alerts"
            return answer_matches(found, heading)
        if command.name == "search":
            found = self.store.search_matches(command.text, limit=10)
            shown = _fit(_clean_line(command.text), 200)
            return answer_matches(found, f"Matches mentioning \u201c{shown}\u201d")
        if command.name == "mute":
            until = now + command.duration
            self.store.mute_claim(command.claim, until=until, by=who, now=now)
            log.info("claim_muted claim=%s until=%s by=%s", command.claim, until.isoformat(), who)
            return f"Muted `{command.claim}` until {until:%Y-%m-%d %H:%M} UTC."
        if command.name == "unmute":
            if self.store.unmute_claim(command.claim):
                log.info("claim_unmuted claim=%s by=%s", command.claim, who)
                return f"`{command.claim}` is no longer muted."
            return f"`{command.claim}` was not muted from Slack (claims.yaml may mute it)."
        thresholds = {
            cid: c.alert_at if c.alert_at is not None else DEFAULT_ALERT_AT
            for cid, c in claims.items()
        }
        stats = self.store.claim_stats(since=now - STATS_WINDOW)
        return answer_stats(stats, thresholds, self.store.mutes(now))
