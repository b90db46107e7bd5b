"""Post rendered alerts to Slack: the adapter over slack-sdk.

Retries happen inside slack-sdk through its retry handlers (rate limits,
server errors, connection failures), all sharing one budget of
``max_retries`` per call. Whatever still fails leaves this module as a
``DeliveryError`` whose ``problem`` tells the user what to do, whose ``code``
is Slack's error code (or ``http_503``, ``connection_error``, ...), and whose
``permanent`` flag tells the deliverer whether trying again can help. No
slack-sdk or urllib exception escapes.

Three kinds of call, three retry policies:

* ``chat.postMessage`` is not safe to repeat: Slack has no idempotency key,
  and a 5xx or a dropped connection can come after Slack stored the message.
  Posts are retried here only when the connection was refused; other
  failures come back ``unsure``, and the outbox looks the message up
  (``find_posted``, by the alert id carried in the message metadata) before
  posting it again.
* ``chat.update`` is safe to repeat and is retried on 5xx and connection errors.
* Neither write waits out a 429 here: the caller's per-channel pacer must see
  every write it makes, or it would burst right after Slack's wait. A 429
  comes back with ``retry_after`` for the pacer to hold the channel.
* Reads (history lookups, ``auth.test``) get every handler, 429 included.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from http.client import HTTPException
from typing import Any, cast
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.alerts.render import RenderedAlert
from bot.errors import DeliveryError

DEFAULT_API_URL = "https://slack.com/api/"
METADATA_EVENT = "claimbot_alert"
# How many history pages ``find_posted`` reads before concluding a message is not there.
FIND_PAGES = 5
# Failures after which Slack may still have stored the message.
_UNSURE_KEYS = frozenset({"server_error", "connection_error", "timeout", "bad_response"})

# Slack error codes that no retry will fix: the channel, token or message must change first.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "missing_scope",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "message_not_found",
        "thread_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
    }
)
# Errors saying the alert's message is gone from Slack (deleted): its replies and edits
# have nothing to attach to.
MESSAGE_GONE = frozenset({"message_not_found", "thread_not_found", "cant_update_message"})
# Slack answered, but says part of the request may have happened: treat as a lost answer.
_MAYBE_DONE = frozenset({"internal_error", "fatal_error", "request_timeout"})

_BUG = "this is a claimbot bug, please report it with the alert that failed"

# Every text a user sees about a failed delivery, keyed by Slack error code or by
# our own code for failures Slack never answered. Fields: channel, url, code,
# needed, wait, status, cause, timeout.
PROBLEMS: dict[str, str] = {
    "channel_not_found": (
        "channel {channel} not found: check CLAIMBOT_SLACK_CHANNEL or the claim's channel"
    ),
    "not_in_channel": "the bot is not a member of {channel}: invite the bot to {channel}",
    "is_archived": (
        "channel {channel} is archived: unarchive it or route the claim to another channel"
    ),
    "restricted_action": (
        "the workspace does not let the bot post in {channel}: ask a Slack admin to allow it"
    ),
    "restricted_action_read_only_channel": (
        "{channel} is read-only for the bot: route the claim to another channel"
    ),
    "restricted_action_thread_only_channel": (
        "{channel} only allows thread replies: route the claim to another channel"
    ),
    "restricted_action_non_threadable_channel": (
        "{channel} does not allow threads, so copies of a story cannot reply there"
    ),
    "message_not_found": "the alert's message is no longer in Slack (deleted?)",
    "thread_not_found": "the alert's message is no longer in Slack (deleted?)",
    "cant_update_message": "Slack does not let the bot edit this alert any more",
    "edit_window_closed": "Slack no longer allows edits to this alert (its edit window closed)",
    "invalid_metadata_format": f"Slack rejected the message metadata: {_BUG}",
    "invalid_metadata_schema": f"Slack rejected the message metadata: {_BUG}",
    "metadata_too_large": f"Slack rejected the message metadata as too large: {_BUG}",
    "invalid_auth": "SLACK_BOT_TOKEN is invalid or revoked: set a valid bot token (xoxb-...)",
    "not_authed": "no Slack token was sent: set SLACK_BOT_TOKEN",
    "account_inactive": (
        "the bot's Slack account is deactivated: reinstall the app and update SLACK_BOT_TOKEN"
    ),
    "token_revoked": (
        "SLACK_BOT_TOKEN has been revoked: reinstall the app and update SLACK_BOT_TOKEN"
    ),
    "token_expired": "SLACK_BOT_TOKEN has expired: issue a new token and update SLACK_BOT_TOKEN",
    "missing_scope": (
        "the bot token lacks the {needed} scope: add it under OAuth & Permissions, "
        "reinstall the app and update SLACK_BOT_TOKEN"
    ),
    "invalid_blocks": f"Slack rejected the message layout: {_BUG}",
    "invalid_blocks_format": f"Slack could not read the message layout: {_BUG}",
    "msg_too_long": f"the message is longer than Slack allows: {_BUG}",
    "no_text": f"the message was empty: {_BUG}",
    "ratelimited": "Slack is rate limiting the bot: the alert will be retried in {wait}",
    "server_error": "Slack answered HTTP {status} (an outage?): the alert will be retried",
    "client_error": "Slack answered HTTP {status}: check CLAIMBOT_SLACK_API_URL ({url})",
    "bad_response": "Slack's answer was not understood ({cause}): the alert will be retried",
    "connection_error": (
        "could not reach Slack at {url} ({cause}): check the network or CLAIMBOT_SLACK_API_URL"
    ),
    "timeout": "Slack did not answer within {timeout}: the alert will be retried",
    "request_error": "could not send the request to Slack ({cause}): check CLAIMBOT_SLACK_API_URL",
    "unknown": "Slack refused the request ({code}): the alert will be retried",
}

# Failures that surface from urllib or the socket layer once the retries are spent.
_TRANSPORT_ERRORS = (URLError, OSError, HTTPException)


class SlackSender:
    """Posts ``RenderedAlert`` messages and checks the token, through slack-sdk.

    ``max_retries`` bounds the retries of one call, whatever their cause;
    ``backoff`` is the first wait in seconds after a server or connection error
    (doubling, with jitter). A rate-limited call waits what Slack's
    ``Retry-After`` asks, unless that is longer than ``max_retry_wait``: then
    the call fails at once with ``retry_after`` set, for the outbox to wait.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
    ) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client = WebClient(
            token=token,
            base_url=base_url,
            # Annotated int in slack-sdk, but passed straight to urlopen, which takes a float.
            timeout=cast(int, timeout),
            retry_handlers=build_retry_handlers(max_retries, backoff, max_retry_wait),
        )
        self._post_client = WebClient(
            token=token,
            base_url=base_url,
            timeout=cast(int, timeout),
            retry_handlers=build_post_retry_handlers(max_retries, backoff),
        )
        self._update_client = WebClient(
            token=token,
            base_url=base_url,
            timeout=cast(int, timeout),
            retry_handlers=build_update_retry_handlers(max_retries, backoff),
        )

    def post(
        self,
        channel: str,
        message: RenderedAlert,
        *,
        thread_ts: str | None = None,
        alert_id: int | None = None,
    ) -> tuple[str, str]:
        """Post one message; return (channel id, message ts) as Slack reports them.

        ``alert_id`` goes into the message metadata so ``find_posted`` can tell
        later whether this post reached Slack.
        """
        metadata = (
            {"event_type": METADATA_EVENT, "event_payload": {"alert_id": alert_id}}
            if alert_id is not None
            else None
        )
        try:
            response = self._post_client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread_ts,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, json.JSONDecodeError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, channel) from error
        return _channel_and_ts(response.get("channel"), response.get("ts"))

    def update(self, channel: str, ts: str, message: RenderedAlert) -> None:
        """Replace a posted message (``chat.update``); repeating it is harmless."""
        try:
            self._update_client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except (SlackClientError, json.JSONDecodeError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, channel) from error

    def find_posted(
        self,
        channel: str,
        alert_id: int,
        *,
        oldest: float,
        latest: float | None = None,
        thread_ts: str | None = None,
    ) -> str | None:
        """The ts of the message carrying ``alert_id`` in its metadata, if Slack has one.

        Reads the channel's history between ``oldest`` and ``latest`` (epoch
        seconds; bounding both keeps a busy channel from pushing the message
        past the pages read), or the thread's replies when ``thread_ts`` is
        given. Needs the token's ``channels:history`` scope (``groups:history``
        for private channels); raises ``DeliveryError`` when Slack cannot be asked.
        """
        since = f"{oldest:.6f}"
        until = f"{latest:.6f}" if latest is not None else None
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            try:
                if thread_ts is None:
                    response = self._client.conversations_history(
                        channel=channel, oldest=since, latest=until, limit=200,
                        include_all_metadata=True, cursor=cursor,
                    )
                else:
                    response = self._client.conversations_replies(
                        channel=channel, ts=thread_ts, oldest=since, latest=until, limit=200,
                        include_all_metadata=True, cursor=cursor,
                    )
            except (SlackClientError, json.JSONDecodeError, *_TRANSPORT_ERRORS) as error:
                raise self._translate(error, channel) from error
            for message in response.get("messages") or []:
                if _carries_alert(message, alert_id):
                    ts = message.get("ts")
                    return ts if isinstance(ts, str) else None
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                return None
        return None

    def check_auth(self) -> str:
        """Call ``auth.test``; describe the bot and workspace the token belongs to."""
        try:
            response = self._client.auth_test()
        except (SlackClientError, json.JSONDecodeError, *_TRANSPORT_ERRORS) as error:
            raise self._translate(error, channel=None) from error
        user = response.get("user") or "?"
        team = response.get("team") or "?"
        return (
            f"bot {user} ({response.get('user_id') or '?'}) "
            f"in workspace {team} ({response.get('team_id') or '?'})"
        )

    def _translate(self, error: Exception, channel: str | None) -> DeliveryError:
        """Turn whatever slack-sdk or urllib raised into a ``DeliveryError``."""
        where: dict[str, Any] = {"channel": channel or "the channel", "url": self._base_url}
        if isinstance(error, SlackApiError):
            return _translate_api_error(error, where)
        if isinstance(error, SlackClientError):  # bad URL or proxy: configuration
            return _delivery_error("request_error", permanent=True, cause=error, **where)
        if isinstance(error, json.JSONDecodeError):
            return _delivery_error("bad_response", cause="malformed JSON", **where)
        if _is_timeout(error):
            timeout = f"{self._timeout:g}s"
            return _delivery_error("timeout", timeout=timeout, **where)
        cause = error.reason if isinstance(error, URLError) else error
        return _delivery_error("connection_error", cause=cause or type(error).__name__, **where)


def build_retry_handlers(
    max_retries: int, backoff: float = 0.5, max_retry_wait: float = 30.0
) -> list[RetryHandler]:
    """slack-sdk retry handlers sharing one budget of ``max_retries`` per call.

    slack-sdk keeps one attempt counter per call and each handler compares it
    to its own ``max_retry_count``, so giving them all the same number makes
    it a total, not a per-cause, limit.
    """
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=_ProportionalJitter())
    return [
        _RateLimitRetryHandler(max_retry_count=max_retries, max_wait=max_retry_wait),
        _ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]


def build_post_retry_handlers(max_retries: int, backoff: float = 0.5) -> list[RetryHandler]:
    """Retries for ``chat.postMessage``: only where Slack surely did not see the request."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=_ProportionalJitter())
    return [
        _RefusedConnectionRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]


def build_update_retry_handlers(max_retries: int, backoff: float = 0.5) -> list[RetryHandler]:
    """Retries for ``chat.update``: safe to repeat, but 429s are the pacer's to wait out."""
    interval = BackoffRetryIntervalCalculator(backoff_factor=backoff, jitter=_ProportionalJitter())
    return [
        _ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
        ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=interval),
    ]


class _RefusedConnectionRetryHandler(ConnectionErrorRetryHandler):
    """Retries a refused connection only: nothing was sent, so nothing can be posted twice."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None or error is None:
            return False
        reason = error.reason if isinstance(error, URLError) else error
        return isinstance(reason, ConnectionRefusedError)


class _RateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, declining waits it cannot or should not do.

    The built-in handler sleeps ``int(Retry-After)`` plus up to a second of
    jitter, and raises ValueError on a value that is not an integer. Here a
    missing, malformed or too long ``Retry-After`` ends the retries instead, so
    the error reaches the caller with ``retry_after`` for the outbox to honour.
    """

    def __init__(self, *, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        return wait is not None and wait == int(wait) and wait <= self.max_wait


class _ServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack-sdk's server-error handler (500, 503) plus gateway errors (502, 504)."""

    _STATUSES = frozenset({500, 502, 503, 504})

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in self._STATUSES


class _ProportionalJitter(Jitter):
    """Jitter of up to 100% of the wait (slack-sdk's default adds up to a whole second)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random())


def retry_after_seconds(headers: Mapping[str, Any]) -> float | None:
    """The ``Retry-After`` header in seconds (any case, str or list value), if readable."""
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        try:
            seconds = float(value)
        except (TypeError, ValueError):  # absent, or an HTTP date
            return None
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _translate_api_error(error: SlackApiError, where: dict[str, Any]) -> DeliveryError:
    response = error.response
    status = int(response.status_code)
    data = response.data if isinstance(response.data, dict) else {}
    code = data.get("error")
    if status == 429 or code == "ratelimited":
        retry_after = retry_after_seconds(response.headers or {})
        wait = "a moment" if retry_after is None else f"{retry_after:g}s"
        return _delivery_error("ratelimited", retry_after=retry_after, wait=wait, **where)
    if status >= 500:
        return _delivery_error("server_error", code=f"http_{status}", status=status, **where)
    if isinstance(code, str) and _looks_like_code(code):
        if code in PERMANENT_ERRORS:
            needed = data.get("needed") or "needed"
            return _delivery_error(code, permanent=True, needed=needed, **where)
        unknown = _delivery_error("unknown", code=code, **where)
        unknown.unsure = code in _MAYBE_DONE
        return unknown
    if status != 200:
        # A 4xx without a Slack error: the URL does not lead to Slack's API.
        permanent = status not in (408, 425)
        return _delivery_error(
            "client_error", code=f"http_{status}", permanent=permanent, status=status, **where
        )
    cause = code if isinstance(code, str) else "no error code"
    return _delivery_error("bad_response", cause=cause, **where)


def _delivery_error(
    key: str,
    *,
    code: str | None = None,
    permanent: bool = False,
    retry_after: float | None = None,
    **fields: Any,
) -> DeliveryError:
    code = code or key
    cause = fields.get("cause")
    # A refused connection never reached Slack; other transport failures may have.
    refused = isinstance(cause, ConnectionRefusedError)
    return DeliveryError(
        _problem(key, code=code, **fields),
        code=code,
        permanent=permanent,
        retry_after=retry_after,
        unsure=key in _UNSURE_KEYS and not refused,
    )


def _channel_and_ts(channel_id: Any, ts: Any) -> tuple[str, str]:
    if not isinstance(channel_id, str) or not isinstance(ts, str):
        raise DeliveryError(
            _problem("bad_response", cause="no channel or ts in the answer"),
            code="bad_response",
            unsure=True,
        )
    return channel_id, ts


def _carries_alert(message: Any, alert_id: int) -> bool:
    if not isinstance(message, dict):
        return False
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("alert_id") == alert_id


def _problem(key: str, **fields: Any) -> str:
    return PROBLEMS[key].format_map(_Fields(fields))


class _Fields(dict[str, Any]):
    """Format fields where a missing one reads "?" instead of raising."""

    def __missing__(self, key: str) -> str:
        return "?"


def _looks_like_code(code: str) -> bool:
    # Slack codes are snake_case words; slack-sdk puts prose here for non-JSON bodies.
    return bool(code) and all(ch.islower() or ch.isdigit() or ch == "_" for ch in code)


def _is_timeout(error: BaseException) -> bool:
    if isinstance(error, URLError):
        return isinstance(error.reason, TimeoutError)
    return isinstance(error, TimeoutError)  # socket.timeout is an alias since 3.10
