"""Parsing feeds into items: sample files paired with expected results, and the real corpus."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.errors import FeedError
from bot.feeds.parse import ParsedFeed, html_to_text, parse_feed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parent / "data" / "feeds"
SAMPLES = sorted(p for p in DATA.iterdir() if not p.name.endswith(".expected.json"))
# shared/ sits beside the repository clone (repo root is this file's parents[1]).
REAL_FEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "feeds" / "real-2026"


def _expected(sample: Path) -> dict[str, Any]:
    expected: dict[str, Any] = json.loads(
        sample.with_name(sample.name + ".expected.json").read_text("utf-8")
    )
    return expected


def _as_dict(parsed: ParsedFeed) -> dict[str, Any]:
    items = []
    for item in parsed.items:
        fields = asdict(item)
        fields["published"] = item.published.isoformat() if item.published else None
        items.append(fields)
    return {"title": parsed.title, "link": parsed.link, "items": items}


def test_every_sample_has_an_expected_result() -> None:
    assert len(SAMPLES) >= 13
    for sample in SAMPLES:
        assert sample.with_name(sample.name + ".expected.json").exists(), sample.name


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_parses_as_expected(sample: Path) -> None:
    expected = _expected(sample)
    kwargs = {"url": expected["url"], "now": NOW, "content_type": expected.get("content_type")}
    if "error" in expected:
        with pytest.raises(FeedError) as caught:
            parse_feed(sample.read_bytes(), **kwargs)
        assert caught.value.url == expected["url"]
        assert expected["error"] in caught.value.problem
        return

    parsed = parse_feed(sample.read_bytes(), **kwargs)

    assert _as_dict(parsed) == {
        "title": expected["title"],
        "link": expected["link"],
        "items": expected["items"],
    }
    assert len(parsed.warnings) == len(expected["warnings"]), parsed.warnings
    for got, want in zip(parsed.warnings, expected["warnings"], strict=True):
        assert want in got


def test_items_are_utc_and_tz_aware() -> None:
    parsed = parse_feed((DATA / "atom.xml").read_bytes(), url="https://a.example/", now=NOW)
    for item in parsed.items:
        assert item.published is not None
        assert item.published.utcoffset() is not None
        assert item.published.tzinfo == UTC


@pytest.mark.parametrize("body", [b"", b"   \n", b"<?xml version='1.0'?>"])
def test_empty_documents_are_not_feeds(body: bytes) -> None:
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(body, url="https://e.example/feed", now=NOW)


def test_well_formed_xml_that_is_not_a_feed() -> None:
    body = b'<?xml version="1.0"?><urlset><url><loc>https://x.example/</loc></url></urlset>'
    with pytest.raises(FeedError, match="not a feed: no RSS, Atom or JSON Feed"):
        parse_feed(body, url="https://x.example/sitemap.xml", now=NOW)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"items": [', "invalid JSON"),
        (b'{"title": "no items"}', "without a JSON Feed 'items' list"),
        (b"[1, 2]", "not a feed"),
    ],
)
def test_bad_json(body: bytes, problem: str) -> None:
    with pytest.raises(FeedError, match=problem):
        parse_feed(
            body, url="https://j.example/feed.json", now=NOW, content_type="application/json"
        )


def test_an_empty_but_valid_feed_has_no_items() -> None:
    body = b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    parsed = parse_feed(body, url="https://q.example/rss", now=NOW)
    assert parsed.title == "Quiet"
    assert parsed.items == ()
    assert parsed.warnings == ()


def test_a_body_that_names_a_local_file_is_not_read_as_that_file(tmp_path: Path) -> None:
    # Given bytes, feedparser first tries them as a file name; we must never let it.
    secret = tmp_path / "secret.xml"
    secret.write_bytes((DATA / "rss20.xml").read_bytes())
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(str(secret).encode(), url="https://evil.example/feed", now=NOW)


def test_charset_from_the_content_type_decides_the_encoding() -> None:
    body = "<rss version='2.0'><channel><item><title>Señal</title></item></channel></rss>"
    parsed = parse_feed(
        body.encode("iso-8859-1"),
        url="https://l.example/rss",
        now=NOW,
        content_type="text/xml; charset=ISO-8859-1",
    )
    assert parsed.items[0].title == "Señal"
    assert parsed.warnings == ()


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_feed(b"", url="x", now=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1 2"),
        ("keep<script>var x = '<p>no</p>';</script> this", "keep this"),
        ("<style>p { color: red }</style>visible", "visible"),
        ("<svg><title>icon</title><path d='M0'/></svg>shown", "shown"),
        ("Fish &amp; chips &lt;3 &eacute;t&#233; &#x2014; ok", "Fish & chips <3 été — ok"),
        ("  lots   of\n\n  space\t here ", "lots of space here"),
        ("caf&eacute;&nbsp;au&nbsp;lait", "café au lait"),
        ("<!channel> and <!here|here>", "<!channel> and <!here|here>"),
        ("<!-- hidden -->shown<!DOCTYPE html>", "shown"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("unclosed <b>bold", "unclosed bold"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_html_to_text(fragment: str, text: str) -> None:
    assert html_to_text(fragment) == text


def test_html_to_text_survives_markup_html_parser_rejects() -> None:
    # html.parser raises AssertionError on unknown marked sections.
    assert html_to_text("before <![foo[ x ]]> <b>after</b> &amp;") == "before after &"


def test_one_broken_entry_is_skipped_not_the_feed() -> None:
    body = b"""<rss version="2.0"><channel><title>T</title>
      <item><title>good</title><guid>g1</guid></item>
      <item></item>
      <item><title>also good</title><guid>g2</guid></item>
    </channel></rss>"""
    parsed = parse_feed(body, url="https://b.example/rss", now=NOW)
    # A guid that is not a URL stays as it is, though isPermaLink defaults to true.
    assert [i.identity for i in parsed.items] == ["g1", "g2"]
    assert [i.link for i in parsed.items] == [None, None]
    assert parsed.warnings == ("entry 2 skipped: no title, link or content",)


def test_warnings_are_capped() -> None:
    body = b"<rss version='2.0'><channel>" + b"<item></item>" * 50 + b"</channel></rss>"
    parsed = parse_feed(body, url="https://w.example/rss", now=NOW)
    assert len(parsed.warnings) == 21
    assert parsed.warnings[-1] == "... and 30 more warnings"


