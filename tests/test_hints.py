"""Freshness hints read from headers and documents: what counts, and what is no hint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.hints import cache_max_age, retry_after_seconds
from bot.feeds.parse import parse_feed

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cache_control", "age", "expected"),
    [
        ("max-age=600", None, 600),
        ("public, max-age=600, must-revalidate", None, 600),
        ('MAX-AGE="600"', None, 600),
        ("max-age=600", "200", 400),
        ("max-age=600", "900", None),  # already stale
        ("max-age=600", "soon", 600),  # an unreadable Age is no Age
        ("no-cache, max-age=600", None, None),  # revalidate: a conditional GET does that
        ("no-store", None, None),
        ("s-maxage=600", None, None),  # for shared caches only
        ("max-age=0", None, None),
        ("max-age=-5", None, None),
        ("max-age=abc", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_cache_max_age(cache_control: str | None, age: str | None, expected: float | None) -> None:
    assert cache_max_age(cache_control, age) == expected


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(" 0 ") == 0
    # An HTTP-date counts from the response's Date header when it has one...
    assert retry_after_seconds(
        "Mon, 05 Jan 2026 14:00:00 GMT", date="Mon, 05 Jan 2026 13:00:00 GMT", now=NOW
    ) == 3600
    # ...else from now; a date in the past means "now".
    assert retry_after_seconds("Mon, 05 Jan 2026 12:30:00 GMT", now=NOW) == 1800
    assert retry_after_seconds("Mon, 05 Jan 2026 11:00:00 GMT", now=NOW) == 0
    assert retry_after_seconds(
        "Mon, 05 Jan 2026 12:30:00 GMT", date="not a date", now=NOW
    ) == 1800
    for nonsense in ("soon", "-5", "1.5", "", None):
        assert retry_after_seconds(nonsense, now=NOW) is None
    assert retry_after_seconds("Mon, 05 Jan 2026 12:30:00 GMT") is None  # no reference


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [("60", 3600.0), (" 15 ", 900.0), ("0", None), ("-5", None), ("an hour", None)],
)
def test_rss_ttl_in_seconds(ttl: str, expected: float | None) -> None:
    body = (
        f'<rss version="2.0"><channel><title>T</title><ttl>{ttl}</ttl>'
        "<item><title>a</title><guid>1</guid></item></channel></rss>"
    ).encode()
    assert parse_feed(body, url="https://feeds.example/rss", now=NOW).ttl == expected


def test_atom_and_json_feeds_have_no_ttl() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b"<entry><id>1</id><title>a</title></entry></feed>"
    )
    assert parse_feed(atom, url="https://feeds.example/atom", now=NOW).ttl is None
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T",'
        b' "items": [{"id": "1", "title": "a"}]}'
    )
    assert parse_feed(json_feed, url="https://feeds.example/j", now=NOW).ttl is None
