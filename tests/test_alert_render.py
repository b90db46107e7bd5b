"""The alert renderer: layout, escaping, link safety, bold highlights and limits."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.alerts.render import (
    AlertView,
    escape_mrkdwn,
    render_alert,
    render_alert_plain,
)
from tests.support.slack_server import check_message

ZWSP = "\u200b"
ENTITY = re.compile(r"&(?:amp|lt|gt);")
LINK = re.compile(r"<(https?://[^|<>\s]+)\|([^<>]*)>")

VIEW = AlertView(
    claim_id="venezuela-air-defence",
    claim_title="Russian air defences failed to protect Venezuela",
    item_title="S-300 batteries silent during strikes",
    item_link="https://news.example/world/s300?id=7",
    source="Example News",
    published=datetime(2026, 1, 5, 14, 3, 59, tzinfo=UTC),
    snippet="Witnesses said the S-300 batteries never fired.",
    highlights=((19, 24),),
    matched_terms=("s-300", "air defence", "venezuela"),
    score=0.8712,
)

HOSTILE = "<!channel> <@U123> & <https://evil.example|click> *bold* >quote"


def view(**changes: Any) -> AlertView:
    return dataclasses.replace(VIEW, **changes)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in the blocks claimbot sends."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(element["text"] for element in block.get("elements", []))
    return found


def assert_inert(text: str) -> None:
    """Nothing Slack would parse except our own links; every "&" starts a whole entity."""
    body = ENTITY.sub("", LINK.sub("", text))
    assert "&" not in body, text
    assert "<" not in body and ">" not in body, text


def snippet_text(blocks: list[dict[str, Any]]) -> str:
    return blocks[3]["text"]["text"]


# -- layout -----------------------------------------------------------------


def test_layout() -> None:
    rendered = render_alert(VIEW)
    blocks = rendered.blocks

    assert [b["type"] for b in blocks] == ["header", "section", "context", "section", "context"]
    assert blocks[0]["text"] == {
        "type": "plain_text",
        "text": "Russian air defences failed to protect Venezuela",
    }
    assert blocks[1]["text"] == {
        "type": "mrkdwn",
        "text": "<https://news.example/world/s300?id=7|S-300 batteries silent during strikes>",
    }
    assert texts([blocks[2]]) == ["Example News · 2026-01-05 14:03 UTC"]
    assert snippet_text(blocks) == "Witnesses said the *S-300* batteries never fired."
    assert texts([blocks[4]]) == [
        "claim venezuela-air-defence · score 0.87 · matched: s-300, air defence, venezuela"
    ]
    assert rendered.text == (
        "Russian air defences failed to protect Venezuela: "
        "S-300 batteries silent during strikes (Example News)"
    )
    assert check_message(rendered.text, blocks) is None


def test_optional_parts_are_left_out() -> None:
    blocks = render_alert(view(item_link=None, published=None, source="", snippet="")).blocks

    assert [b["type"] for b in blocks] == ["header", "section", "context"]
    assert blocks[1]["text"]["text"] == "S-300 batteries silent during strikes"


@pytest.mark.parametrize(
    "published",
    [
        datetime(2026, 1, 5, 14, 3, tzinfo=UTC),
        datetime(2026, 1, 5, 16, 3, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 1, 5, 14, 3),  # naive: taken as UTC
    ],
)
def test_time_is_shown_in_utc(published: datetime) -> None:
    blocks = render_alert(view(published=published)).blocks
    assert texts([blocks[2]]) == ["Example News · 2026-01-05 14:03 UTC"]


# -- escaping ---------------------------------------------------------------


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    assert escape_mrkdwn("&lt;") == "&amp;lt;"  # an entity in feed text stays text
    assert escape_mrkdwn("plain") == "plain"


def test_feed_text_cannot_mention_or_link() -> None:
    hostile = view(
        claim_id=f"id {HOSTILE}",
        claim_title=HOSTILE,
        item_title=HOSTILE,
        source=HOSTILE,
        snippet=HOSTILE,
        highlights=((0, 10),),
        matched_terms=(HOSTILE, "<@U999>"),
    )
    rendered = render_alert(hostile)

    for text in [rendered.text, *texts(rendered.blocks)]:
        assert_inert(text)
        assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt;" in rendered.text
    assert all("&lt;!channel&gt;" in text for text in texts(rendered.blocks))
    # The only link is the item's own.
    assert LINK.findall(rendered.blocks[1]["text"]["text"])[0][0] == VIEW.item_link


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<script>",
        "ftp://files.example/x",
        "file:///etc/passwd",
        "https://",
        "not a url",
        "",
        None,
        "https://example.com/" + "a" * 2100,
        "https://example.com/" + "&|" * 300,  # short, but too long once encoded
    ],
)
def test_unsafe_links_are_dropped(link: str | None) -> None:
    headline = render_alert(view(item_link=link, item_title="Title & co")).blocks[1]
    assert headline["text"]["text"] == "Title &amp; co"


@pytest.mark.parametrize(
    ("link", "sent"),
    [
        ("https://x.example/a|b", "https://x.example/a%7Cb"),
        ("https://x.example/<!channel>", "https://x.example/%3C!channel%3E"),
        ("https://x.example/?a=1&b=2", "https://x.example/?a=1&amp;b=2"),
        ("https://x.example/a b\n", "https://x.example/a%20b"),
        ("HTTP://X.example/Path", "HTTP://X.example/Path"),
        ("https://x.example/\u202eevil", "https://x.example/%E2%80%AEevil"),
    ],
)
def test_link_characters_that_would_break_out_are_encoded(link: str, sent: str) -> None:
    headline = render_alert(view(item_link=link, item_title="t")).blocks[1]["text"]["text"]
    assert headline == f"<{sent}|t>"


def test_title_cannot_close_the_link() -> None:
    headline = render_alert(view(item_title="x> <!here|y")).blocks[1]["text"]["text"]
    assert headline == "<https://news.example/world/s300?id=7|x&gt; &lt;!here|y>"


def test_control_and_bidi_override_characters_are_dropped() -> None:
    rendered = render_alert(
        view(
            item_title="\x1b[31mred\x1b[0m \u202eevil", snippet="a\x00b\u2066c\u2069", highlights=()
        )
    )
    everything = rendered.text + "".join(texts(rendered.blocks))
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", everything)
    assert snippet_text(rendered.blocks) == "abc"


def test_right_to_left_text_is_kept() -> None:
    arabic = "أنظمة الدفاع الجوي الروسية فشلت"
    hebrew = "מערכות ההגנה האווירית"
    rendered = render_alert(
        view(item_title=arabic, snippet=f"{hebrew} {arabic}", highlights=((0, 6),))
    )
    assert arabic in rendered.blocks[1]["text"]["text"]
    assert snippet_text(rendered.blocks) == f"*{hebrew[:6]}* {hebrew[7:]} {arabic}"


# -- highlights -------------------------------------------------------------


def test_asterisks_inside_a_highlight_cannot_break_the_bold() -> None:
    blocks = render_alert(view(snippet="a **S*300** b", highlights=((2, 11),))).blocks
    assert snippet_text(blocks) == "a *∗∗S∗300∗∗* b"


def test_highlight_edges_and_mid_word_spans() -> None:
    # " S-300" has a leading space (moved outside); "300" sits inside a word.
    blocks = render_alert(view(snippet="the S-300s fired", highlights=((3, 9),))).blocks
    assert snippet_text(blocks) == f"the *S-300*{ZWSP}s fired"
    blocks = render_alert(view(snippet="xS-300", highlights=((1, 6),))).blocks
    assert snippet_text(blocks) == f"x{ZWSP}*S-300*"


def test_newline_inside_a_highlight_becomes_a_space() -> None:
    blocks = render_alert(view(snippet="air\ndefence here", highlights=((0, 11),))).blocks
    assert snippet_text(blocks) == "*air defence* here"


@pytest.mark.parametrize(
    "highlights",
    [((5, 2),), ((-4, 3),), ((0, 500),), ((0, 10), (5, 15)), ((3, 3),), ((10, 12), (0, 2))],
)
def test_sloppy_spans_do_not_lose_text(highlights: tuple[tuple[int, int], ...]) -> None:
    snippet = "Witnesses said the batteries never fired."
    text = snippet_text(render_alert(view(snippet=snippet, highlights=highlights)).blocks)
    assert unescape(text.replace("*", "").replace(ZWSP, "")) == snippet


safe_chars = st.characters(
    exclude_categories=("Cc", "Cs"),
    exclude_characters="\u202a\u202b\u202c\u202d\u202e\u200b",  # ZWSP: our own marker
)


@st.composite
def snippets_with_spans(draw: st.DrawFn, max_size: int = 400) -> tuple[str, list[tuple[int, int]]]:
    text = draw(
        st.text(alphabet=st.one_of(safe_chars, st.sampled_from("&<>* \n")), max_size=max_size)
    )
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=10, unique=True)))
    return text, list(zip(cuts[::2], cuts[1::2], strict=False))


@settings(max_examples=150, deadline=None)
@given(snippets_with_spans())
def test_snippet_round_trips(case: tuple[str, list[tuple[int, int]]]) -> None:
    """Short snippets lose nothing: strip the markup and the input comes back."""
    snippet, spans = case
    if any("\u2066" <= ch <= "\u2069" for ch in snippet):
        return  # dropped on purpose, see test_control_and_bidi_override_characters_are_dropped
    blocks = render_alert(view(snippet=snippet, highlights=tuple(spans))).blocks
    if not snippet.strip():
        return
    text = snippet_text(blocks)
    assert_inert(text)
    expected = "".join(
        snippet[start:end].replace("*", "∗").replace("\n", " ") if (start, end) in spans else ch
        for start, end, ch in _runs(snippet, spans)
    )
    assert unescape(text.replace(ZWSP, "")).replace("*", "") == expected.replace("*", "")


def _runs(snippet: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """(start, end, text) runs in order: spans, and the plain text between them."""
    runs, pos = [], 0
    for start, end in spans:
        if start > pos:
            runs.append((pos, start, snippet[pos:start]))
        if end > start:
            runs.append((start, end, snippet[start:end]))
        pos = max(pos, end)
    runs.append((pos, len(snippet), snippet[pos:]))
    return runs


@settings(max_examples=60, deadline=None)
@given(
    snippets_with_spans(max_size=4000),
    st.text(alphabet=st.one_of(safe_chars, st.sampled_from("&<>")), max_size=400),
)
def test_any_input_is_accepted_by_slack(
    case: tuple[str, list[tuple[int, int]]], title: str
) -> None:
    snippet, spans = case
    rendered = render_alert(
        view(snippet=snippet, highlights=tuple(spans), item_title=title, claim_title=title)
    )
    assert check_message(rendered.text, rendered.blocks) is None
    for text in [rendered.text, *texts(rendered.blocks)]:
        assert_inert(text)


# -- limits -----------------------------------------------------------------


def test_long_claim_title_is_cut_to_150_with_ellipsis() -> None:
    header = render_alert(view(claim_title="word " * 40)).blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    assert not header[:-1].endswith(" ")


def test_cut_never_splits_an_entity() -> None:
    for title in ["&" * 200, "a" + "&" * 199, "ab" + "<" * 198, "abc" + ">" * 197]:
        rendered = render_alert(view(claim_title=title, item_title=title * 5))
        header = rendered.blocks[0]["text"]["text"]
        assert len(header) <= 150 and header.endswith("…")
        assert_inert(header)
        assert_inert(rendered.blocks[1]["text"]["text"])


def maximal_view() -> AlertView:
    unit = "Ru & <!channel> S-300 👍🏽 مرحبا "
    snippet = (unit * 200)[:3000]
    spans = tuple((i, i + 5) for i in range(5, 2990, 30))
    return view(
        claim_id="c-" + "x" * 198,
        claim_title="T&<" * 67,
        item_title="<@U123> " * 25,
        item_link="https://news.example/" + "a" * 1975,  # 1996 chars: just fits
        source="S&" * 100,
        snippet=snippet,
        highlights=spans,
        matched_terms=tuple(f"term-{n}-" + "&" * 60 for n in range(50)),
        score=1.0,
    )


def test_maximal_input_respects_every_limit() -> None:
    rendered = render_alert(maximal_view())
    blocks = rendered.blocks

    assert check_message(rendered.text, blocks) is None
    assert len(blocks) <= 50
    assert utf16_len(blocks[0]["text"]["text"]) <= 150
    for block in blocks:
        if block["type"] == "section":
            assert utf16_len(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            assert utf16_len(element["text"]) <= 2000
    assert utf16_len(rendered.text) <= 3000
    for text in [rendered.text, *texts(blocks)]:
        assert_inert(text)
    assert snippet_text(blocks).endswith("…")
    assert blocks[1]["text"]["text"].startswith("<https://news.example/aaa")
    claim_line = texts([blocks[4]])[0]
    assert re.search(r"\(\+\d+ more\)$", claim_line)


def test_fifty_short_terms_are_all_shown() -> None:
    terms = tuple(f"t{n}" for n in range(50))
    line = texts([render_alert(view(matched_terms=terms)).blocks[4]])[0]
    assert line.endswith("matched: " + ", ".join(terms))


def test_snippet_cut_keeps_bold_balanced() -> None:
    snippet = "alpha beta " * 300
    spans = tuple((m.start(), m.end()) for m in re.finditer("beta", snippet))
    text = snippet_text(render_alert(view(snippet=snippet, highlights=spans)).blocks)

    assert utf16_len(text) <= 3000 and text.endswith("…")
    assert text.count("*") % 2 == 0
    assert re.fullmatch(r"(alpha \*beta\* ?)+(alpha ?)?…", text)


@pytest.mark.parametrize(
    "unit",
    [
        "👍🏽",  # emoji + skin tone
        "🇻🇪",  # flag: two regional indicators
        "👨\u200d👩\u200d👧",  # ZWJ family
        "e\u0301",  # e + combining acute
    ],
)
def test_cut_never_splits_a_character_from_its_modifiers(unit: str) -> None:
    text = snippet_text(render_alert(view(snippet=unit * 3000, highlights=())).blocks)

    assert utf16_len(text) <= 3000 and text.endswith("…")
    kept = text[: -len("…")]
    assert kept and kept == unit * (len(kept) // len(unit))


# -- fallback text and the terminal -------------------------------------------


def test_fallback_text_is_escaped_and_short() -> None:
    rendered = render_alert(maximal_view())
    assert "<@U123>" not in rendered.text and "&lt;@U123&gt;" in rendered.text
    assert "\n" not in rendered.text


def test_plain_rendering_for_the_terminal() -> None:
    plain = render_alert_plain(
        view(item_title="A & B <!channel> \x1b[2J", snippet="the S-300 fired", highlights=((4, 9),))
    )
    lines = plain.splitlines()

    assert lines[0] == "[venezuela-air-defence] Russian air defences failed to protect Venezuela"
    assert lines[1] == "  A & B <!channel> [2J"
    assert lines[2] == "  https://news.example/world/s300?id=7"
    assert lines[3] == "  Example News · 2026-01-05 14:03 UTC"
    assert lines[4] == "  the [S-300] fired"
    assert (
        lines[5]
        == "  claim venezuela-air-defence · score 0.87 · matched: s-300, air defence, venezuela"
    )
    assert "\x1b" not in plain


# -- purity -----------------------------------------------------------------


def test_renderer_loads_no_adapters() -> None:
    code = (
        "import sys, bot.alerts.render\n"
        "heavy = {'slack_sdk', 'sqlmodel', 'httpx', 'feedparser', 'apscheduler'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_clean_text_drops_exactly_the_control_characters_but_newlines() -> None:
    """Every code point against the rule ``_clean_text`` implements with one regex:
    category Cc and the bidi controls go, newlines stay, tabs become spaces."""
    from bot.alerts.render import _clean_text, _is_control

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    expected = "".join(
        " " if ch == "\t" else ch for ch in every if ch in "\t\n" or not _is_control(ch)
    )
    assert _clean_text(every.replace("\r", "")) == expected.replace("\r", "")
    assert _clean_text("a\r\nb\rc") == "a\nb\nc"


@pytest.mark.parametrize("room", [0, 1, 5, 6, 9, 10, 11, 40])
def test_fit_raw_cuts_where_walking_character_by_character_would(room: int) -> None:
    """The whole-text shortcut changes nothing: a text that fits comes back escaped and
    whole, one that does not is cut within ``room`` units, entities never split."""
    from bot.alerts.render import _fit_raw, _slack_len, escape_mrkdwn

    for text in ("fits", "a <b> & c", "Señal 🇺🇦🇷🇺 <!channel> ends", "x" * 12):
        prefix, cut = _fit_raw(text, room)
        assert cut == (_slack_len(escape_mrkdwn(text)) > room)
        assert _slack_len(prefix) <= room
        if not cut:
            assert prefix == escape_mrkdwn(text)
        assert re.search(r"&(?!amp;|lt;|gt;)", prefix) is None
