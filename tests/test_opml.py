"""OPML: feeds out of nested outlines, a faithful round trip, and no entity tricks."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.opml import OpmlFeed, folder_tag, parse_opml, render_opml

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
    feeds = parse_opml(NESTED, source="subs.opml")
    assert feeds == [
        OpmlFeed("https://elpitazo.net/feed/", "El Pitazo", ("news", "latin-america")),
        OpmlFeed("https://feeds.bbci.co.uk/news/world/rss.xml", "BBC World",
                 ("news", "en", "world")),
        # Readers write the URL as the text of an unnamed feed: that is no name.
        OpmlFeed("https://tass.com/rss/v2.xml", None, ()),
    ]


def test_folder_names_become_house_style_tags() -> None:
    assert folder_tag("  Latin   America ") == "latin-america"


def test_render_then_parse_gives_the_same_feeds() -> None:
    feeds = [
        OpmlFeed("https://a.example/rss", "A & B <news> \"quoted\"", ("en", "world"), "10m"),
        OpmlFeed("/srv/feeds/local.xml", None, (), None, enabled=False),
        OpmlFeed("https://b.example/feed?x=1&y=2", "Б — новости", ("ru",), "1h"),
    ]
    document = render_opml(feeds)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert parse_opml(document.encode(), source="export.opml") == feeds


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
