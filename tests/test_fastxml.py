"""The fast XML path (bot/feeds/fastxml.py) against its oracle, feedparser.

Whenever ``read_plain_xml`` takes a document, ``parse_feed`` must return exactly what the
feedparser path returns: feed title, link, ttl, warnings and every item field. Checked on
the real-2026 corpus, the malformed set, the demo and sample feeds, the benchmark farm's
documents, hand-written tricky cases and generated documents. Declining is always allowed;
the tests also pin down where it must decline and that it does take most real feeds.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from feedparser.datetimes import _parse_date
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.feed_farm import FarmSpec, feed_body
from bot.demo import demo_data_dir
from bot.errors import FeedError
from bot.feeds import parse
from bot.feeds.fastxml import decline_reason, parse_date, read_plain_xml
from bot.feeds.parse import ParsedFeed, parse_feed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TESTS = Path(__file__).resolve().parent
# shared/ sits beside the repository clone.
REAL = Path(__file__).resolve().parents[2] / "shared" / "feeds" / "real-2026"
MALFORMED = TESTS / "data" / "malformed"
SAMPLES = TESTS / "data" / "feeds"


# -- comparing both paths ----------------------------------------------------------------


def _feedparser_only(
    body: bytes, url: str, content_type: str | None
) -> ParsedFeed | FeedError:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "read_plain_xml", lambda body, content_type: None)
        try:
            return parse_feed(body, url=url, now=NOW, content_type=content_type)
        except FeedError as error:
            return error


def _differences(fast: ParsedFeed, oracle: ParsedFeed | FeedError) -> list[str]:
    """What differs, field by field (empty when the results are equal)."""
    if isinstance(oracle, FeedError):
        return [f"feedparser says {oracle.problem!r}, the fast path read a feed"]
    found = [
        f"{name}: {getattr(fast, name)!r} != {getattr(oracle, name)!r}"
        for name in ("title", "link", "ttl", "warnings")
        if getattr(fast, name) != getattr(oracle, name)
    ]
    if len(fast.items) != len(oracle.items):
        found.append(f"{len(fast.items)} items != {len(oracle.items)}")
    for mine, theirs in zip(fast.items, oracle.items, strict=False):
        for field in fields(mine):
            if getattr(mine, field.name) != getattr(theirs, field.name):
                found.append(
                    f"item {theirs.identity!r} {field.name}: "
                    f"{getattr(mine, field.name)!r:.200} != {getattr(theirs, field.name)!r:.200}"
                )
    if not found and fast != oracle:
        found.append("unequal, though no field differs")
    return found


@dataclass
class Coverage:
    files: int = 0
    fast_files: int = 0
    items: int = 0
    fast_items: int = 0


def _compare(
    body: bytes, url: str, content_type: str | None, coverage: Coverage, reasons: Counter[str],
    results: list[ParsedFeed | FeedError] | None = None,
) -> list[str]:
    """Both paths on ``body``; the differences when the fast path takes it. The oracle's
    result is added to ``results`` when given."""
    oracle = _feedparser_only(body, url, content_type)
    if results is not None:
        results.append(oracle)
    items = 0 if isinstance(oracle, FeedError) else len(oracle.items)
    coverage.files += 1
    coverage.items += items
    reason = decline_reason(body, content_type)
    if reason is not None:
        reasons[reason.split(":")[0]] += 1
        return []
    coverage.fast_files += 1
    coverage.fast_items += items
    try:
        fast = parse_feed(body, url=url, now=NOW, content_type=content_type)
    except FeedError as error:
        return [f"the fast path's feed raised {error}"]
    return _differences(fast, oracle)


def _assert_same(body: bytes, content_type: str | None = None) -> ParsedFeed:
    """``body`` must take the fast path and read as feedparser reads it."""
    assert decline_reason(body, content_type) is None
    fast = parse_feed(body, url="https://news.example/feed", now=NOW, content_type=content_type)
    oracle = _feedparser_only(body, "https://news.example/feed", content_type)
    assert _differences(fast, oracle) == []
    return fast


# -- corpora -----------------------------------------------------------------------------


def test_real_feeds_read_the_same_on_both_paths() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real feed corpus not found at {REAL} (shared/ beside the clone)")
    coverage, reasons = Coverage(), Counter[str]()
    mismatches = {}
    results: list[ParsedFeed | FeedError] = []
    with pytest.MonkeyPatch.context() as patch:
        # Both paths turn the same HTML into text (a pure function) when they read alike:
        # done once, the comparison takes half the time. Different inputs still differ.
        patch.setattr(parse, "html_to_text", functools.lru_cache(maxsize=None)(
            parse.html_to_text))
        for path in sorted(REAL.iterdir()):
            found = _compare(path.read_bytes(), f"https://feeds.example/{path.name}", None,
                             coverage, reasons, results)
            if found:
                mismatches[path.name] = found[:5]
    assert mismatches == {}
    # What either path gives (they agree): nothing escapes but FeedError, every item has
    # an identity, a timezone-aware date and something to show. Two files are not feeds.
    assert len(results) == 200
    assert sum(isinstance(r, FeedError) for r in results) <= 2
    items = [item for r in results if not isinstance(r, FeedError) for item in r.items]
    assert len(items) > 6000
    for item in items:
        assert item.identity
        assert item.published is not None and item.published.tzinfo is not None
        assert item.title or item.link or item.summary or item.content
    # Declining is safe, but the point is speed: most real feeds must take the fast path.
    # (February 2026: 191 of 200 files, 96% of the items; the rest are malformed, UTF-16,
    # ISO-8859-1, a DOCTYPE and a JSON feed.)
    assert coverage.fast_files >= 185, (coverage, reasons)
    assert coverage.fast_items >= 0.9 * coverage.items, (coverage, reasons)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/xml", "text/xml; charset=utf-8", "application/rss+xml; charset=latin-1"],
)
def test_malformed_demo_and_sample_feeds_read_the_same(content_type: str | None) -> None:
    paths = [
        *sorted(MALFORMED.iterdir()),
        *sorted(p for p in demo_data_dir().iterdir() if p.suffix in (".xml", ".atom")),
        *sorted(p for p in SAMPLES.iterdir() if not p.name.endswith(".json")),
    ]
    coverage, reasons = Coverage(), Counter[str]()
    mismatches = {}
    for path in paths:
        found = _compare(path.read_bytes(), "https://feeds.example/f", content_type,
                         coverage, reasons)
        if found:
            mismatches[path.name] = found[:5]
    assert mismatches == {}
    if content_type is None:  # the demo feeds, and the well-formed UTF-8 ones among the rest
        assert coverage.fast_files >= 8, (coverage, reasons)
        for path in demo_data_dir().iterdir():
            if path.suffix in (".xml", ".atom"):
                assert read_plain_xml(path.read_bytes(), None) is not None, path.name


def test_sample_feeds_with_their_own_content_types() -> None:
    for path in sorted(SAMPLES.glob("*.expected.json")):
        expected = json.loads(path.read_text("utf-8"))
        body = path.with_name(path.name.removesuffix(".expected.json")).read_bytes()
        content_type = expected.get("content_type")
        if read_plain_xml(body, content_type) is None:
            continue
        fast = parse_feed(body, url=expected["url"], now=NOW, content_type=content_type)
        assert _differences(fast, _feedparser_only(body, expected["url"], content_type)) == []


def test_the_benchmark_farms_feeds_take_the_fast_path() -> None:
    texts = [
        ("Kremlin & Caracas: <no> \"deal\"", "Officials 'said' the S-300 & Buk-M2 failed."),
        ("Plain title", "Summary with an ampersand & a <tag>."),
        ("Ünïcödé — title", "Ещё одна новость"),
    ]
    spec = FarmSpec(feeds=8, items=25, update=0.1, faults=0.0, hang=1.0, slow=0.0,
                    latency=0.0, ports=1, fresh=1, texts=texts)
    kinds = Counter[str]()
    for index in range(8):
        for generation in (0, 1):
            body, _ = feed_body(index, generation, spec)
            parsed = _assert_same(body, "application/xml")
            assert len(parsed.items) == 25
            kinds["atom" if b"<feed" in body else "rss"] += 1
    assert kinds["atom"] and kinds["rss"]


# -- where it must decline ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("billion-laughs-inline.xml", "DOCTYPE"),
        ("billion-laughs.xml", "DOCTYPE"),
        ("external-entity.xml", "DOCTYPE"),
        ("utf16-bom.xml", "byte-order mark"),
        ("latin1-declared-utf8.xml", "not valid UTF-8"),
        ("truncated.xml", "not well-formed"),
        ("garbage.xml", "not valid UTF-8"),
        ("html-login-page.xml", "DOCTYPE"),
        ("not-a-feed.xml", "root <config>"),
        ("unknown-encoding.xml", "x-klingon"),
        ("empty.xml", "no root element"),
        ("whitespace-only.xml", "no root element"),
    ],
)
def test_declines_malformed_files(name: str, reason: str) -> None:
    why = decline_reason((MALFORMED / name).read_bytes(), None)
    assert why is not None and reason in why


RSS_ITEM = (
    b"<rss version='2.0'><channel><title>T</title><item><title>A</title></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"<!DOCTYPE rss [<!ENTITY e 'x'>]>" + RSS_ITEM, None, "DOCTYPE"),
        (b"<?xml version='1.0'?>\n<!-- note -->\n<!DOCTYPE rss>" + RSS_ITEM, None, "DOCTYPE"),
        (b"<!-- <!DOCTYPE in a comment: feedparser rewrites it -->" + RSS_ITEM, None, "DOCTYPE"),
        (b"<?xml version='1.0' encoding='iso-8859-1'?>" + RSS_ITEM, None, "encoding"),
        (b"<?xml version='1.0' encoding='windows-1252'?>" + RSS_ITEM, None, "encoding"),
        (b"<?xml version='1.1'?>" + RSS_ITEM, None, "version 1.0"),
        (RSS_ITEM, "text/xml; charset=iso-8859-1", "encoding"),
        (RSS_ITEM.replace(b"A<", "Á<".encode()), "text/xml; charset=us-ascii", "US-ASCII"),
        (RSS_ITEM.replace(b"A<", "Á<".encode("latin-1")), None, "not valid UTF-8"),
        (b"\xfe\xff" + RSS_ITEM.decode().encode("utf-16-be"), None, "byte-order mark"),
        (b"  <?xml version='1.0'?>" + RSS_ITEM, None, "not well-formed"),
        (RSS_ITEM.replace(b"A<", b"&nbsp;<"), None, "undefined entity"),
        (RSS_ITEM[:-6], None, "not well-formed"),
        (b"<html><body><p>Sign in</p></body></html>", None, "root <html>"),
        (b"<opml version='2.0'><body/></opml>", None, "root <opml>"),
        (b"<feed xmlns='http://purl.org/atom/ns#'><title>0.3</title></feed>", None, "'atom'"),
        (b"<feed><title>no namespace</title></feed>", None, "version 'atom'"),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>t</title>"
            b"<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'><p>x</p></div>"
            b"</content></entry></feed>",
            None,
            "XHTML",
        ),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>"
            b"<content type='image/png'>iVBORw0KGgo=</content></entry></feed>",
            None,
            "base64",
        ),
        (RSS_ITEM.replace(b"<title>A</title>", b"<description>a <b>b</b></description>"),
         None, "markup inside <description>"),
        (RSS_ITEM.replace(b"<item>", b"<item xmlns:cc='http://web.resource.org/cc/'>"
                          b"<cc:license rdf:resource='x' xmlns:rdf="
                          b"'http://www.w3.org/1999/02/22-rdf-syntax-ns#'/>"),
         None, "not reproduced"),
        (RSS_ITEM.replace(b"<item>", b"<item><links>x</links>"), None, "'links'"),
    ],
)
def test_declines_what_it_does_not_reproduce(
    body: bytes, content_type: str | None, reason: str
) -> None:
    why = decline_reason(body, content_type)
    assert why is not None and reason in why, why
    assert read_plain_xml(body, content_type) is None


def test_a_declined_document_still_parses_through_feedparser() -> None:
    body = RSS_ITEM.replace(b"A<", "Á<".encode("latin-1"))
    assert read_plain_xml(body, None) is None
    parsed = parse_feed(body, url="https://news.example/feed", now=NOW)
    assert [item.title for item in parsed.items] == ["Á"]
    assert parsed.warnings  # feedparser's encoding override, reported


# -- tricky cases it does reproduce ------------------------------------------------------


def _rss(items: str, channel: str = "<title>News</title><link>https://news.example/</link>",
         namespaces: str = "") -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'"
        f" xmlns:content='http://purl.org/rss/1.0/modules/content/'"
        f" xmlns:media='http://search.yahoo.com/mrss/'"
        f" xmlns:atom='http://www.w3.org/2005/Atom'{namespaces}>"
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


def _atom(entries: str, head: str = "<title>Desk</title>") -> bytes:
    return (
        f"<feed xmlns='http://www.w3.org/2005/Atom'"
        f" xmlns:media='http://search.yahoo.com/mrss/'>{head}{entries}</feed>"
    ).encode()


def test_cdata_entities_and_html_in_text() -> None:
    parsed = _assert_same(_rss(
        "<item><title><![CDATA[Fish & <b>chips</b>]]></title>"
        "<description><![CDATA[<p>One &amp; two</p><p>Three</p>]]></description>"
        "<guid>g1</guid></item>"
        "<item><title>Tom &amp;amp; Jerry &lt;3 &#169;</title><guid>g2</guid></item>"
        "<item><title>Tom &amp;amp; Jerry &#169;</title><guid>g3</guid></item>"
    ))
    first, second, third = parsed.items
    assert first.title == "Fish & chips"  # feedparser: it looks like HTML
    assert first.summary == "One & two\nThree"
    assert second.title == "Tom &amp; Jerry <3 ©"  # "<3" is no HTML tag: plain text
    assert third.title == "Tom & Jerry ©"


def test_links_guids_and_permalinks() -> None:
    parsed = _assert_same(_rss(
        "<item><title>relative link</title><link>/story/1?a=1&amp;b=2</link></item>"
        "<item><title>no guid, no link</title><description>text</description></item>"
        "<item><title>permalink guid</title><guid>https://news.example/p/3</guid></item>"
        "<item><title>not a permalink</title>"
        "<guid isPermaLink='false'>https://news.example/p/4</guid></item>"
        "<item><title>a number</title><guid isPermaLink='true'>1234</guid></item>"
        "<item><title>True is not true</title><guid isPermaLink='True'>/p/6</guid></item>"
        "<item><title>guid and link</title><guid>/p/7</guid>"
        "<link>https://news.example/p/7b</link></item>"
        "<item><title>extra slashes</title><link>https:///news.example/p/8</link></item>"
    ))
    assert [(i.identity, i.link) for i in parsed.items] == [
        ("https://news.example/story/1?a=1&b=2", "https://news.example/story/1?a=1&b=2"),
        (parsed.items[1].identity, None),
        ("https://news.example/p/3", "https://news.example/p/3"),
        ("https://news.example/p/4", None),
        ("1234", None),
        ("/p/6", None),
        ("/p/7", "https://news.example/p/7b"),
        ("https://news.example/p/8", "https://news.example/p/8"),
    ]
    assert parsed.items[1].identity.startswith("sha256:")


def test_atom_links_ids_authors_and_dates() -> None:
    parsed = _assert_same(_atom(
        "<entry><id>tag:desk,2026:1</id><title type='html'>&lt;b&gt;Bold&lt;/b&gt; move</title>"
        "<link rel='self' href='https://desk.example/self/1'/>"
        "<link rel='related' href='https://other.example/x'/>"
        "<link href='https://desk.example/1'/>"
        "<updated>2026-02-02T10:00:00Z</updated><published>2026-02-01T09:00:00+02:00</published>"
        "<author><name>Ann</name><email>ann@desk.example</email></author>"
        "<author><name>Bob</name></author>"
        "<summary type='html'>&lt;p&gt;S&lt;/p&gt;</summary>"
        "<content type='html'>&lt;p&gt;Long &lt;i&gt;body&lt;/i&gt;&lt;/p&gt;</content></entry>"
        "<entry><id>https://desk.example/2</id><title>Only an id</title>"
        "<link rel='alternate' type='application/xhtml+xml' href='/x/2'/>"
        "<updated>2026-02-03T10:00:00Z</updated></entry>"
        "<entry><id>https://desk.example/3</id><title>Id stands in</title>"
        "<link rel='enclosure' href='https://desk.example/3.mp3'/></entry>"
    ))
    first, second, third = parsed.items
    assert (first.link, first.author, first.title) == ("https://desk.example/1", "Bob", "Bold move")
    assert first.published == datetime(2026, 2, 1, 7, tzinfo=UTC)
    assert (first.summary, first.content) == ("S", "Long body")
    assert second.link == "https://news.example/x/2"
    assert third.link == "https://desk.example/3"


def test_summary_and_content_swaps() -> None:
    _assert_same(_rss(
        "<item><title>content first</title><content:encoded>&lt;p&gt;Full&lt;/p&gt;"
        "</content:encoded><description>Short</description></item>"
        "<item><title>two descriptions</title><description>One</description>"
        "<description>Two, taken as content</description></item>"
        "<item><title>media</title><media:group><media:title>Media title</media:title>"
        "<media:description>Media words</media:description>"
        "<media:content url='https://cdn.example/v.mp4'/></media:group></item>"
        "<item><media:title>media title first</media:title><title>Real title</title></item>"
        "<item><title>Real</title><media:title>media title after</media:title></item>"
    ))
    _assert_same(_atom(
        "<entry><id>a</id><title>content before summary</title>"
        "<content type='html'>&lt;p&gt;Body&lt;/p&gt;</content><summary>Sum</summary></entry>"
        "<entry><id>b</id><title>two summaries</title><summary>One</summary>"
        "<summary type='html'>&lt;b&gt;Two&lt;/b&gt;</summary></entry>"
    ))


def test_languages_bases_and_repairs() -> None:
    parsed = _assert_same(
        _rss(
            "<item xml:lang='fr_FR'><title>Bonjour</title><guid>1</guid></item>"
            "<item><title xml:lang='de'>Hallo</title><guid>2</guid>"
            "<description xml:base='https://base.example/dir/'>x</description>"
            "<link>rel/3</link></item>"
            "<item><title>\u00c3\u00a9t\u00c3\u00a9</title><guid>3</guid>"
            "<link>rel/4</link></item>"
            "<item><title>\u0093quoted\u0094</title><guid>4</guid></item>",
            channel="<title>Nouvelles</title><language>fr</language><ttl>30</ttl>",
        )
    )
    assert [i.language for i in parsed.items] == ["fr-FR", "de", "fr", "fr"]
    assert parsed.items[2].title == "été"  # UTF-8 read as ISO-8859-1, repaired
    assert parsed.items[3].title == "\u201cquoted\u201d"  # C1 controls read as cp1252
    assert parsed.items[2].link == "https://base.example/dir/rel/4"  # feedparser's base leaks
    assert parsed.ttl == 1800.0


def test_authors_dates_and_odd_namespaces() -> None:
    _assert_same(_rss(
        "<item><title>a</title><author>jane@news.example (Jane Doe)</author>"
        "<dc:creator>Dee</dc:creator><pubDate>not a date</pubDate>"
        "<dc:date>2026-02-01T10:00:00Z</dc:date></item>"
        "<item><title>b</title><dc2:creator>https dc</dc2:creator>"
        "<pubDate>Sun, 01 Feb 2026 12:34:56 +0100</pubDate><x:title>odd</x:title></item>",
        namespaces=" xmlns:dc2='https://purl.org/dc/elements/1.1/'"
        " xmlns:x='http://unknown.example/'",
    ))
    # A known prefix bound to an unknown namespace: feedparser goes by the prefix.
    _assert_same(
        _rss("<item><title>c</title><dc:creator>by prefix</dc:creator></item>").replace(
            b"http://purl.org/dc/elements/1.1/", b"https://purl.org/dc/elements/1.1/"
        )
    )


def test_rss_1_0() -> None:
    body = (
        b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
        b" xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        b"<channel rdf:about='https://r.example/'><title>R</title><link>https://r.example/</link>"
        b"<items><rdf:Seq><rdf:li rdf:resource='https://r.example/1'/></rdf:Seq></items>"
        b"</channel><item rdf:about='https://r.example/1'><title>One</title>"
        b"<link>https://r.example/1</link><dc:date>2026-02-01T00:00:00Z</dc:date></item>"
        b"</rdf:RDF>"
    )
    parsed = _assert_same(body)
    assert [i.identity for i in parsed.items] == ["https://r.example/1"]


# -- generated documents -----------------------------------------------------------------

TEXTS = [
    "", "  Plain   words ", "Fish &amp; chips", "<![CDATA[<p>Hi</p> & more]]>",
    "&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;", "&lt;b&gt;bold&lt;/b&gt; text", "1 &lt; 2",
    "caf\u00e9 \u00fcber", "\u00c3\u00a9t\u00c3\u00a9", "\u0093smart\u0094 \u0085",
    "&#169; &#x2014;",
    "line one\n  line two", "Tom &amp;amp; Jerry", "&lt;i&gt;unclosed", "&lt;!channel&gt; hi",
    "jane@news.example (Jane Doe)", "Jane &lt;jane@news.example&gt;", "\u2603",
]
URLS = [
    "https://news.example/a/1", "/relative/2", "relative-3", "https://news.example/q?a=1&amp;b=2",
    "http:///news.example/x", "https://news.example/p#frag", "1234", "tag:news.example,2026:1",
    "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "", "  https://news.example/spaced  ",
    "mailto:x@news.example", "https://news.example/a?x=1&amp;y;=2", "HTTPS://NEWS.EXAMPLE/UP",
]
DATES = [
    "Sun, 01 Feb 2026 12:34:56 GMT", "Mon, 02 Feb 2026 08:00:00 +0100", "2026-02-01T12:34:56Z",
    "2026-02-03T01:02:03.456+05:30", "2026-02-30", "not a date", "", "Tue, 3 Feb 2026 7:08 EST",
    "2026-02-04", "9999-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 GMT",
]
NAMESPACES = {
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "atom": "http://www.w3.org/2005/Atom",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "x": "http://unknown.example/ns",
    "dc2": "https://purl.org/dc/elements/1.1/",
}

# Any XML-safe string, escaped: exercises the mojibake and cp1252 repairs and the HTML sniffing.
free_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff\r")
    .filter(lambda c: c >= " " or c in "\t\n"),
    max_size=30,
).map(lambda t: escape(t))
text = st.one_of(st.sampled_from(TEXTS), free_text)
url = st.sampled_from(URLS)
date = st.sampled_from(DATES)


def _attr(name: str, values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), st.sampled_from(values).map(lambda v: f" {name}='{v}'"))


xml_lang = _attr("xml:lang", ["en", "fr_FR", "", "de-DE"])
xml_base = _attr("xml:base", ["https://base.example/dir/", "sub/", ""])
kind = _attr("type", ["html", "text", "text/html", "text/plain", "HTML"])


def _simple(tag: str, value: st.SearchStrategy[str], *attrs: st.SearchStrategy[str]) -> (
    st.SearchStrategy[str]
):
    return st.tuples(value, *attrs).map(lambda t: f"<{tag}{''.join(t[1:])}>{t[0]}</{tag}>")


def _group(tag: str, parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(parts, max_size=4).map(lambda ps: f"<{tag}>{''.join(ps)}</{tag}>")


rss_item_parts = st.one_of(
    _simple("title", text, kind, xml_lang),
    _simple("link", url, xml_base),
    _simple("guid", url, _attr("isPermaLink", ["true", "false", "True"])),
    _simple("description", text, xml_lang, xml_base),
    _simple("content:encoded", text, xml_lang),
    _simple("pubDate", date),
    _simple("dc:date", date),
    _simple("dcterms:modified", date),
    _simple("dcterms:created", date),
    _simple("author", text),
    _simple("dc:creator", text),
    _simple("itunes:author", text),
    _simple("dc:title", text),
    _simple("media:title", text),
    _simple("media:description", text),
    _simple("itunes:summary", text),
    _simple("category", text),
    _simple("comments", url),
    _simple("slash:comments", st.just("3")),
    _simple("x:extra", text),
    _simple("dc2:creator", text),
    _simple("language", st.sampled_from(["en", "es_ES", ""])),
    _simple("source", text, _attr("url", ["https://src.example/"])),
    url.map(lambda u: f"<enclosure url='{u}' type='audio/mpeg' length='1'/>"),
    st.tuples(url, _attr("rel", ["alternate", "self", "related", "ALTERNATE"]),
              _attr("type", ["text/html", "application/rss+xml", "application/xhtml+xml"]))
    .map(lambda t: f"<atom:link href='{t[0]}'{t[1]}{t[2]}/>"),
    _group("media:group", st.one_of(
        _simple("media:title", text), _simple("media:description", text),
        st.just("<media:content url='https://cdn.example/v.mp4'/>"),
        _simple("media:thumbnail", st.just(""), _attr("url", ["https://cdn.example/t.jpg"])),
    )),
    _group("image", st.one_of(_simple("title", text), _simple("url", url),
                              _simple("link", url))),
    _group("atom:author", st.one_of(_simple("atom:name", text), _simple("atom:email", text))),
    _group("author", _simple("name", text)),
    _group("x:wrapper", st.one_of(_simple("title", text), _simple("link", url))),
    _simple("x:attr", text, _attr("a", ["1"])),
    _simple("y:thing", text, st.just(f" xmlns:y='{'http://unknown.example/ns'}'")),
    _group("other", _simple("title", text)).map(
        lambda g: g.replace("<other>", "<other xmlns='http://other.example/'>")),
    _simple("link", st.just(""), _attr("href", ["https://news.example/h"])),
    _simple("content:encoded", text, xml_base),
    _group("media:content", _simple("media:title", text)),
    _simple("description", st.just("raw <b>bold</b> text")),
    _simple("atom:content", text, _attr("type", ["html", "xhtml"])),
    _group("textInput", _simple("title", text)),
    _simple("guid", url, st.just(" x:isPermaLink='false'")),
    _simple("title", text, _attr("lang", ["es"])),
    st.just("<link/>"),
    _group("source", st.one_of(_simple("title", text), _simple("link", url))),
    _simple("link", url, st.just(" xmlns='http://purl.org/rss/1.0/'")),
)
rss_channel_parts = st.one_of(
    _simple("title", text, xml_lang),
    _simple("link", url),
    _simple("description", text),
    _simple("language", st.sampled_from(["en", "pt_BR", " fr "])),
    _simple("dc:language", st.sampled_from(["de"])),
    _simple("ttl", st.sampled_from(["15", "0", "abc", " 60 "])),
    _simple("dc:title", text),
    _simple("lastBuildDate", date),
    _group("image", st.one_of(_simple("title", text), _simple("url", url),
                              _simple("link", url))),
    _group("textInput", st.one_of(_simple("title", text), _simple("name", text),
                                  _simple("link", url))),
    url.map(lambda u: f"<atom:link href='{u}' rel='self' type='application/rss+xml'/>"),
    url.map(lambda u: f"<atom:link href='{u}'/>"),
    st.just("<itunes:image href='https://cdn.example/i.jpg'/>"),
    _group("itunes:owner", st.one_of(_simple("itunes:name", text),
                                     _simple("itunes:email", text))),
    _simple("description", st.just("raw <b>bold</b> <title>odd</title> text")),
    _simple("webMaster", text),
    _simple("managingEditor", text),
)
atom_entry_parts = st.one_of(
    _simple("title", text, kind, xml_lang),
    st.tuples(url, _attr("rel", ["alternate", "self", "related", "enclosure"]),
              _attr("type", ["text/html", "application/xhtml+xml", "text/plain"]), xml_base)
    .map(lambda t: f"<link href='{t[0]}'{t[1]}{t[2]}{t[3]}/>"),
    _simple("id", url),
    _simple("updated", date),
    _simple("published", date),
    _simple("summary", text, kind, xml_lang),
    _simple("content", text, kind, xml_lang, xml_base),
    _group("author", st.one_of(_simple("name", text), _simple("email", text),
                               _simple("uri", url))),
    _group("contributor", _simple("name", text)),
    _simple("category", st.just(""), _attr("term", ["world"])),
    _group("source", st.one_of(_simple("title", text), _simple("id", url),
                               _simple("updated", date))),
    _simple("rights", text),
    _group("media:group", _simple("media:title", text)),
    st.tuples(url, _attr("type", ["text/html; charset=utf-8", "TEXT/HTML"])).map(
        lambda t: f"<link rel='alternate' href='{t[0]}'{t[1]}/>"),
    _group("author", _simple("uri", url)),
    _simple("summary", text, st.just(" xml:lang=''")),
)
atom_feed_parts = st.one_of(
    _simple("title", text, kind),
    st.tuples(url, _attr("rel", ["alternate", "self"])).map(
        lambda t: f"<link href='{t[0]}'{t[1]}/>"),
    _simple("subtitle", text, kind),
    _simple("id", url),
    _simple("updated", date),
    _group("author", _simple("name", text)),
    st.just("<subtitle type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
            "<p>Sub <b>title</b></p></div></subtitle>"),
    _simple("rights", text, _attr("type", ["xhtml", "html"])),
)


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    declaration = draw(st.sampled_from(
        ["", "<?xml version='1.0'?>", "<?xml version='1.0' encoding='UTF-8'?>\n",
         "\ufeff<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>"]))
    namespaces = "".join(f" xmlns:{p}='{u}'" for p, u in NAMESPACES.items())
    if draw(st.booleans()):
        parts = draw(st.lists(rss_channel_parts, max_size=5))
        items = draw(st.lists(st.tuples(st.lists(rss_item_parts, max_size=8), xml_lang,
                                        xml_base), max_size=4))
        body = "".join(f"<item{lang}{base}>{''.join(ps)}</item>" for ps, lang, base in items)
        root = (f"<rss version='2.0'{namespaces}{draw(xml_lang)}{draw(xml_base)}>"
                f"<channel{draw(xml_base)}>{''.join(parts)}")
        document = f"{root}{body}</channel></rss>"
    else:
        parts = draw(st.lists(atom_feed_parts, max_size=4))
        entries = draw(st.lists(st.tuples(st.lists(atom_entry_parts, max_size=8), xml_lang,
                                          xml_base), max_size=4))
        body = "".join(f"<entry{lang}{base}>{''.join(ps)}</entry>" for ps, lang, base in entries)
        root = (f"<feed xmlns='http://www.w3.org/2005/Atom'"
                f" xmlns:media='{NAMESPACES['media']}'{draw(xml_lang)}{draw(xml_base)}>")
        document = f"{root}{''.join(parts)}{body}</feed>"
    return (declaration + document).encode("utf-8")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([None, "application/rss+xml; charset=UTF-8"]))
def test_generated_feeds_read_the_same_on_both_paths(
    body: bytes, content_type: str | None
) -> None:
    if read_plain_xml(body, content_type) is None:
        return
    fast = parse_feed(body, url="https://news.example/feed", now=NOW, content_type=content_type)
    oracle = _feedparser_only(body, "https://news.example/feed", content_type)
    assert _differences(fast, oracle) == []


# -- dates -------------------------------------------------------------------------------


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


rfc822_dates = st.builds(
    "{}{} {} {} {}:{}:{} {}".format,
    st.sampled_from(["", "Mon, ", "sat,  ", "Thu, ", "WED, "]),
    st.integers(0, 32).map(str) | _two(0, 32),
    st.sampled_from(["Jan", "feb", "Mar", "SEP", "Oct", "Dec"]),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    _two(0, 25), _two(0, 60), _two(0, 61),
    st.sampled_from(["GMT", "UT", "utc", "Z", "+0000", "-0500", "+0530", "-1230", "+9999"]),
)
rfc3339_dates = st.builds(
    "{:04d}-{}-{}{}{}:{}:{}{}{}".format,
    st.integers(0, 9999), _two(0, 13), _two(0, 32), st.sampled_from(["T", "t"]),
    _two(0, 25), _two(0, 60), _two(0, 61),
    st.sampled_from(["", ".1", ".123456", ".999999"]),
    st.sampled_from(["Z", "z", "+00:00", "-05:00", "+05:30", "-23:59", "+99:99"]),
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(rfc822_dates, rfc3339_dates, st.sampled_from(DATES), st.text(max_size=40)))
def test_dates_read_as_feedparser_reads_them(raw: str) -> None:
    assert parse_date(raw) == _parse_date(raw)


def test_every_date_in_the_real_corpus_reads_as_feedparser_reads_it() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real feed corpus not found at {REAL}")
    seen = 0
    for path in sorted(REAL.iterdir()):
        plain = read_plain_xml(path.read_bytes(), None)
        for entry in plain.entries if plain else []:
            for key in ("published", "updated", "created"):
                if isinstance(entry.get(key), str):
                    seen += 1
                    assert parse_date(entry[key]) == _parse_date(entry[key]), entry[key]
    assert seen > 5000
