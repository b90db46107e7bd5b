"""One error tree for everything claimbot reports to a user.

Each error carries its context (file and line, feed URL, Slack error code) so
``str(e)`` reads "what: which: cause" and a user can act on it without a
traceback. Third-party exceptions are translated into these at the adapter
that calls the third party; nothing above the adapters sees httpx, feedparser,
SQLAlchemy or slack-sdk exceptions.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of every error claimbot raises on purpose."""


class ConfigError(BotError):
    """A settings value or a claims/feeds file is wrong.

    ``path`` and ``line`` point at the offending place when known; ``field`` is
    the dotted path inside the document (``claims[3].query``).
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        parts = [p for p in (where, self.field, self.problem) if p]
        return ": ".join(parts)


class FeedError(BotError):
    """A feed could not be fetched or parsed; ``url`` says which one."""

    def __init__(
        self,
        url: str,
        problem: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.url = url
        self.problem = problem
        self.status = status
        # Seconds the server asked us to stay away (Retry-After on a 429/503).
        self.retry_after = retry_after
        super().__init__(f"feed {url}: {problem}")


class StoreError(BotError):
    """The database could not be reached or refused a write."""


class DeliveryError(BotError):
    """Slack (or the terminal sink) did not take an alert.

    ``permanent`` errors will not succeed on retry (a missing channel, a revoked
    token); transient ones (rate limits, outages) will be retried later.
    ``unsure`` means Slack may have taken the message anyway (a 5xx, a dropped
    connection, a timeout): the outbox checks before posting it again.
    """

    def __init__(
        self,
        problem: str,
        *,
        code: str | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        unsure: bool = False,
    ) -> None:
        self.problem = problem
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after
        self.unsure = unsure
        label = f"slack {code}" if code else "slack"
        super().__init__(f"{label}: {problem}")
