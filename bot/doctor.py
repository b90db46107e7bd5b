"""``claimbot doctor``: check everything the bot depends on, and say what to fix.

Each check returns :class:`Check` lines (OK, WARN or FAIL, what was found, what
to do); the command prints them and exits 1 when any failed. Nothing here
changes anything: the database is inspected, not migrated; Slack gets
``auth.test`` only (a webhook is not tried, since trying it would post); feeds
are fetched without validators and nothing is stored.

A FAIL is something that stops the bot or all of its alerts (a broken claims
file, an unreachable database, a refused token, no feed reachable at all). One
failing feed is a WARN: the running bot isolates it and retries with backoff.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Feed, Settings, load_claims, load_feeds
from bot.errors import BotError, ConfigError, FeedError, StoreError
from bot.feeds.fetch import Fetcher, FetchLimits, format_size

Level = Literal["OK", "WARN", "FAIL"]
T = TypeVar("T")

DEFAULT_FEED_SAMPLE = 5
# Seconds the database and Slack get to answer: a doctor that hangs helps nobody.
CHECK_TIMEOUT = 10.0
_TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired",
                 "account_inactive"}


@dataclass(frozen=True)
class Check:
    level: Level
    name: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.level:<4} {self.name}: {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text


def run_checks(settings: Settings, *, feed_sample: int = DEFAULT_FEED_SAMPLE) -> list[Check]:
    """Every check, in the order a user would fix them."""
    checks = [check_claims(settings)]
    feeds_check, feeds = check_feeds_file(settings)
    checks.append(feeds_check)
    checks.append(check_database(settings))
    checks.append(check_slack(settings))
    if feed_sample > 0 and feeds:
        checks.extend(check_feed_sample(settings, feeds[:feed_sample]))
    return checks


def _config_failure(name: str, exc: ConfigError, validate: str, setting: str) -> Check:
    lines = str(exc).splitlines() or [type(exc).__name__]
    more = f" (+{len(lines) - 1} more: `{validate}` lists them)" if len(lines) > 1 else ""
    if exc.problem == "file not found":
        fix = f"create it, or point {setting} at yours"
    else:
        fix = f"fix that place in the file, then run `{validate}`"
    return Check("FAIL", name, lines[0] + more, fix)


def check_claims(settings: Settings) -> Check:
    try:
        claims = load_claims(settings.claims_file)
    except ConfigError as exc:
        return _config_failure("claims", exc, "claimbot claims validate", "CLAIMBOT_CLAIMS_FILE")
    enabled = len(claims.enabled)
    detail = f"{claims.path}: {len(claims.claims)} claims, {enabled} enabled"
    if not enabled:
        return Check("WARN", "claims", detail, "enable a claim, or nothing can alert")
    return Check("OK", "claims", detail)


def check_feeds_file(settings: Settings) -> tuple[Check, tuple[Feed, ...]]:
    try:
        feed_set = load_feeds(settings.feeds_file)
    except ConfigError as exc:
        return _config_failure("feeds", exc, "claimbot feeds list", "CLAIMBOT_FEEDS_FILE"), ()
    enabled = feed_set.enabled
    detail = f"{feed_set.path}: {len(feed_set.feeds)} feeds, {len(enabled)} enabled"
    if not enabled:
        return Check("WARN", "feeds", detail, "add a feed: claimbot feeds add URL"), ()
    return Check("OK", "feeds", detail), enabled


def check_database(settings: Settings) -> Check:
    from bot.store.schema_check import inspect_schema

    try:
        report = _within(CHECK_TIMEOUT, lambda: inspect_schema(settings.database_url))
    except TimeoutError:
        return Check(
            "FAIL", "database", f"no answer within {CHECK_TIMEOUT:g}s",
            "check the host and port in CLAIMBOT_DATABASE_URL and that nothing blocks them",
        )
    except StoreError as exc:
        return Check(
            "FAIL", "database", str(exc),
            "check CLAIMBOT_DATABASE_URL, that the server runs, and that this user may connect",
        )
    where = report.label
    if report.problem:
        return Check(
            "FAIL", "database", f"{where}: {report.problem}",
            "move that database aside and start afresh, or keep the older claimbot for it",
        )
    if report.empty:
        found = "no database file yet" if report.no_file else "answers, no claimbot tables yet"
        return Check(
            "WARN", "database", f"{where}: {found}",
            "`claimbot run` or `claimbot poll --once` creates the schema",
        )
    if not report.up_to_date:
        found = f"schema revision {report.revision or 'none (made before migrations)'}"
        return Check(
            "WARN", "database", f"{where}: {found}, this claimbot's is {report.head}",
            "the next start upgrades it, or run `claimbot db upgrade` now",
        )
    return Check("OK", "database", f"{where}: schema revision {report.revision} (up to date)")


def check_slack(settings: Settings) -> Check:
    token = settings.slack_bot_token
    if not token:
        if settings.slack_webhook_url:
            return Check(
                "OK", "slack", "incoming webhook set (not tried: trying it would post)",
            )
        return Check(
            "WARN", "slack", "dry run: no token, so alerts are printed, not posted",
            "set SLACK_BOT_TOKEN (xoxb-...) to post to Slack",
        )
    client = WebClient(
        token=token, base_url=settings.slack_api_url, timeout=cast(int, CHECK_TIMEOUT)
    )
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if code in _TOKEN_ERRORS:
            return Check(
                "FAIL", "slack", f"Slack refused SLACK_BOT_TOKEN ({code})",
                "copy the Bot User OAuth Token (xoxb-...) again from your app's"
                " OAuth & Permissions page",
            )
        return Check("FAIL", "slack", f"auth.test failed: {code}",
                     f"check CLAIMBOT_SLACK_API_URL ({settings.slack_api_url})")
    except (OSError, ValueError) as exc:  # urllib: refused, DNS, timeout; bad URL
        return Check(
            "FAIL", "slack", f"cannot reach {settings.slack_api_url}: {exc}",
            "check CLAIMBOT_SLACK_API_URL and the network (or HTTPS_PROXY)",
        )
    detail = f"authenticated as {answer.get('user')} in {answer.get('team')}"
    if settings.slack_app_token is None:
        return Check("OK", "slack", detail + " (no SLACK_APP_TOKEN: alerts without buttons)")
    return Check("OK", "slack", detail)


def check_feed_sample(settings: Settings, feeds: Sequence[Feed]) -> list[Check]:
    """Fetch and parse ``feeds`` (concurrently); one line each, and a FAIL when none worked."""
    limits = FetchLimits(
        read_timeout=settings.fetch_timeout,
        total_timeout=max(30.0, settings.fetch_timeout * 1.5),
        max_bytes=settings.max_feed_bytes,
        max_concurrency=settings.fetch_concurrency,
    )
    checks = asyncio.run(_fetch_all(feeds, limits))
    if checks and all(c.level != "OK" for c in checks):
        checks.append(Check(
            "FAIL", "feeds", f"none of the {len(feeds)} feeds tried could be read",
            "check the network (or HTTPS_PROXY) and the URLs in feeds.yaml",
        ))
    return checks


async def _fetch_all(feeds: Sequence[Feed], limits: FetchLimits) -> list[Check]:
    async with Fetcher(limits) as fetcher:
        return list(await asyncio.gather(*(_fetch_one(fetcher, feed) for feed in feeds)))


async def _fetch_one(fetcher: Fetcher, feed: Feed) -> Check:
    from bot.feeds.parse import parse_feed  # the parsers load only when feeds are checked

    name = f"feed {feed.label}"
    fix = "the bot skips it and retries later; fix or remove its url in feeds.yaml"
    try:
        result = await fetcher.fetch(feed.url)
        body = result.body or b""
        parsed = await asyncio.to_thread(
            parse_feed, body, url=feed.url, now=datetime.now(UTC),
            content_type=result.content_type,
        )
    except FeedError as exc:
        return Check("WARN", name, exc.problem, fix)
    except BotError as exc:
        return Check("WARN", name, str(exc), fix)
    detail = f"HTTP {result.status}, {len(parsed.items)} items, {format_size(len(body))}"
    if result.permanent_redirect:
        return Check("WARN", name, f"{detail}; moved to {result.final_url}",
                     "put the new URL in feeds.yaml")
    return Check("OK", name, detail)


def _within(seconds: float, action: Callable[[], T]) -> T:
    """``action()``'s result, or TimeoutError after ``seconds`` (the call is left behind)."""
    box: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            box.append(action())
        except BaseException as exc:  # handed to the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="doctor-check", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if error:
        raise error[0]
    return box[0]
