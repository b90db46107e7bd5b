"""Small builders for test feeds, claims files and a pinned clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Entry:
    guid: str
    title: str
    summary: str = ""
    link: str | None = None


def rss(title: str, entries: list[Entry]) -> bytes:
    """An RSS 2.0 document; every text is XML-escaped, so titles may hold '<' and '&'."""
    items = "".join(
        "<item>"
        f"<guid isPermaLink=\"false\">{escape(e.guid)}</guid>"
        f"<title>{escape(e.title)}</title>"
        f"<link>{escape(e.link or 'https://news.example/' + e.guid)}</link>"
        f"<description>{escape(e.summary)}</description>"
        "<pubDate>Mon, 05 Jan 2026 10:00:00 GMT</pubDate>"
        "</item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>test feed</description>{items}</channel></rss>"
    ).encode()


TEST_CLAIMS = """\
# claims used by the pipeline tests
claims:
  - id: air-defence-failure
    title: Russian air defences failed in Venezuela
    statement: Russian-supplied S-300 and Buk-M2 air defences failed to protect Venezuela.
    query: (S-300 OR Buk-M2 OR "air defen*") AND (Venezuel* OR Caracas) AND (fail* OR falla*)
    tags: [venezuela]
  - id: cuban-agents-killed
    title: Cuban agents killed in US operation
    statement: Havana announced 32 Cuban agents were killed in the US operation.
    query: (Cuba* OR Havana OR Habana) AND (agent* OR agentes) AND (killed OR muertos OR 32)
    tags: [cuba]
    channel: "#cuba"
"""


def write_claims(directory: Path, text: str = TEST_CLAIMS) -> Path:
    path = directory / "claims.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_feeds(directory: Path, urls: dict[str, str]) -> Path:
    """A feeds.yaml with one feed per (name, url)."""
    lines = ["feeds:"]
    for name, url in urls.items():
        lines += [f"  - url: {url}", f"    name: {name}"]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class FakeClock:
    """A pinned clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
