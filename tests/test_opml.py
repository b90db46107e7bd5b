"""OPML: feeds out of nested outlines, a faithful round trip, and no entity tricks."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.opml import OpmlFeed, SkippedOutline, folder_tag, parse_opml, render_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="Latin America">
        <outline text="El Pitazo" type="rss" xmlUrl="https://elpitazo.net/feed/"
                 htmlUrl="https://elpitazo.net/"/>
      </outline>
      <outline title="BBC World" text="ignored when there is a title" type="rss"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" category="/en,world"/>
    </outline>
    <outline text="https://tass.com/rss/v2.xml" xmlUrl="https://tass.com/rss/v2.xml"/>
    <outline text="a folder with no feeds"/>
  </body>
</opml>
"""


def test_nested_outlines_give_every_feed_with_its_folders_as_tags() -> None:
    found = parse_opml(NESTED, source="subs.opml")
    assert found.feeds == (
        OpmlFeed("https://elpitazo.net/feed/", "El Pitazo", ("news", "latin-america")),
        OpmlFeed("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World",
                 ("news", "en", "world")),
        # Readers write the URL as the text of an unnamed feed: that is no name.
        OpmlFeed("https://tass.com/rss/v2.xml", None, ()),
    )
    assert found.skipped == ()


def test_folder_names_become_house_style_tags() -> None:
    assert folder_tag("  Latin   America ") == "latin-america"


def test_render_then_parse_gives_the_same_feeds() -> None:
    feeds = (
        OpmlFeed("https://a.example/rss", "A & B <news> \"quoted\"", ("en", "world"), "10m"),
        OpmlFeed("http://c.example/feed.xml", None, (), None, enabled=False),
        OpmlFeed("https://b.example/feed?x=1&y=2", "Б — новости", ("ru",), "1h"),
    )
    document = render_opml(feeds)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert parse_opml(document.encode(), source="export.opml").feeds == feeds


LOCAL_PATHS = b"""<?xml version="1.0"?>
<opml version="2.0"><body>
  <outline text="passwd" xmlUrl="/etc/passwd"/>
  <outline text="Fine" xmlUrl="https://fine.example/rss"/>
  <outline text="up and out" xmlUrl="../../etc/hostname"/>
  <outline text="Folder">
    <outline text="file" xmlUrl="file:///etc/shadow"/>
    <outline text="no host" xmlUrl="http:///etc/passwd"/>
    <outline text="drive" xmlUrl="C:\\Users\\me\\feed.xml"/>
    <outline text="Upper" xmlUrl="HTTP://upper.example/feed"/>
  </outline>
</body></opml>
"""


def test_only_web_feeds_are_taken_the_others_set_aside_with_why() -> None:
    """A file from someone else must not make the bot read local files."""
    found = parse_opml(LOCAL_PATHS, source="subs.opml")
    assert [f.url for f in found.feeds] == ["https://fine.example/rss",
                                            "HTTP://upper.example/feed"]
    assert found.skipped == (
        SkippedOutline("/etc/passwd", "a local file path, not an http(s) URL", 3),
        SkippedOutline("../../etc/hostname", "a local file path, not an http(s) URL", 5),
        SkippedOutline("file:///etc/shadow", "a file: URL, not http(s)", 7),
        SkippedOutline("http:///etc/passwd", "a URL with no host", 8),
        SkippedOutline("C:\\Users\\me\\feed.xml", "a local file path, not an http(s) URL", 9),
    )


@pytest.mark.parametrize("depth", [5_000, 50_000])
def test_outlines_nested_far_past_the_recursion_limit_are_read(depth: int) -> None:
    document = (
        '<opml version="2.0"><body>' + '<outline text="Deep">' * depth
        + '<outline text="Bottom" xmlUrl="https://bottom.example/rss"/>'
        + "</outline>" * depth + "</body></opml>"
    )
    found = parse_opml(document.encode(), source="deep.opml")
    assert found.feeds == (OpmlFeed("https://bottom.example/rss", "Bottom", ("deep",)),)


def test_feeds_in_nested_folders_keep_document_order_and_their_own_folders() -> None:
    document = b"""<opml version="2.0"><body>
      <outline text="A"><outline text="B">
        <outline text="1" xmlUrl="https://one.example/"/>
        <outline text="2" xmlUrl="https://two.example/">
          <outline text="inside a feed" xmlUrl="https://three.example/"/>
        </outline>
      </outline>
      <outline text="4" xmlUrl="https://four.example/"/></outline>
      <outline text="5" xmlUrl="https://five.example/"/>
    </body></opml>"""
    found = parse_opml(document, source="order.opml")
    assert [(f.name, f.tags) for f in found.feeds] == [
        ("1", ("a", "b")), ("2", ("a", "b")), ("inside a feed", ("a", "b")), ("4", ("a",)),
        ("5", ()),
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<opml version="2.0"><head><title>&lol3;</title></head>
<body><outline text="x" xmlUrl="https://x.example/"/></body></opml>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/"/></body></opml>
"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_a_doctype_is_refused_before_any_entity_is_expanded(document: bytes) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_opml(document, source="evil.opml")
    assert caught.value.path == "evil.opml"
    assert caught.value.line == 2
    assert "refusing an OPML file with a DOCTYPE" in str(caught.value)


def test_malformed_xml_names_the_file_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_opml(b'<opml version="2.0">\n<body>\n<outline text="x">\n</body></opml>',
                   source="broken.opml")
    assert str(caught.value).startswith("broken.opml:4: invalid XML: mismatched tag")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b"<rss version='2.0'><channel/></rss>", "the root element is <rss>"),
        (b"<opml version='2.0'><head/></opml>", "it has no <body>"),
    ],
)
def test_other_xml_is_not_taken_for_opml(document: bytes, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_opml(document, source="feed.xml")
