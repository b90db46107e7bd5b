"""The composed alert, thread replies and digests: escaping, layout and Block Kit limits."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.alerts.compose import (
    DigestLine,
    DigestView,
    FeedbackView,
    ReplyView,
    compose_alert,
    compose_plain,
    feedback_line,
    outlets_line,
    render_digest,
    render_digest_plain,
    render_reply,
    render_reply_plain,
)
from bot.alerts.render import (
    BLOCKS_MAX,
    CONTEXT_MAX,
    HEADER_MAX,
    SECTION_MAX,
    AlertView,
    RenderedAlert,
    render_alert,
    render_alert_plain,
)
from tests.support.slack_server import check_message

# -- hostile and maximal text -----------------------------------------------

HOSTILE = "<!channel> <@U123> <http://x|y> AT&T"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SKIN_TONE = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # ZWJ sequence
FLAGS = "\U0001f1fa\U0001f1e6\U0001f1ef\U0001f1f5"  # UA JP
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
ARABIC = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"
HEBREW = "\u202e\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd\u202c"
MIXED = (
    f"{HOSTILE} {SKIN_TONE} {FAMILY} {FLAGS} {SCOTLAND} {ARABIC} {HEBREW} "
    "\u2067rtl\u2069 *bold* _it_ ~s~ `code` > quote\n"
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MENTION = re.compile(r"<@U0ABC123>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")
LINK = re.compile(r"<(https?://[^|<>\s]+)\|([^<>]*)>")


def maximal(length: int) -> str:
    """``length`` characters of the mixed hostile text above."""
    return (MIXED * (length // len(MIXED) + 1))[:length]


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in the blocks, buttons included."""
    found: list[str] = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element["text"]
            found.append(text if isinstance(text, str) else text["text"])
    return found


def assert_inert(text: str, *, mentions: re.Pattern[str] | None = None) -> None:
    """Nothing Slack would parse except our own links (and mentions we chose to make)."""
    body = LINK.sub("", text)
    if mentions is not None:
        body = mentions.sub("", body)
    body = ENTITY.sub("", body)
    assert "&" not in body, text
    assert "<" not in body and ">" not in body, text


def assert_clean(text: str) -> None:
    assert not set(text) & set(BIDI), repr(text)


def assert_valid(message: RenderedAlert, *, mentions: re.Pattern[str] | None = None) -> None:
    assert check_message(message.text, message.blocks) is None
    assert len(message.blocks) <= BLOCKS_MAX
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_MAX
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_MAX
        elif block["type"] == "context":
            assert all(len(e["text"]) <= CONTEXT_MAX for e in block["elements"])
    for text in [message.text, *texts(message.blocks)]:
        assert_inert(text, mentions=mentions)
        assert_clean(text)


VIEW = AlertView(
    claim_id="venezuela-air-defence",
    claim_title="Russian air defences failed to protect Venezuela",
    item_title="S-300 batteries silent during strikes",
    item_link="https://news.example/world/s300?id=7",
    source="Example News",
    published=datetime(2026, 1, 5, 14, 3, tzinfo=UTC),
    snippet="Witnesses said the S-300 batteries never fired.",
    highlights=((19, 24),),
    matched_terms=("s-300", "air defence"),
    score=0.87,
)
SNIPPET = maximal(3000)
MAXIMAL_VIEW = AlertView(
    claim_id="venezuela-air-defence",
    claim_title=maximal(200),
    item_title=maximal(200),
    item_link="https://news.example/" + "a|b<c>&d" * 30,
    source=maximal(200),
    published=NOW,
    snippet=SNIPPET,
    highlights=tuple((i, i + 7) for i in range(0, 3000, 60)),
    matched_terms=tuple(f"{maximal(30)}{i}" for i in range(50)),
    score=0.99,
    severity="critical",
)
BASE = render_alert(VIEW)
MAXIMAL_BASE = render_alert(MAXIMAL_VIEW)


# -- compose_alert ------------------------------------------------------------


def test_nothing_to_add_leaves_the_alert_unchanged() -> None:
    composed = compose_alert(BASE, alert_id=7)

    assert composed.blocks == BASE.blocks
    assert composed.text == BASE.text


def test_composing_does_not_touch_the_stored_blocks() -> None:
    before = [dict(block) for block in BASE.blocks]

    compose_alert(BASE, alert_id=7, outlets=["Reuters"], buttons=True)
    compose_alert(BASE, alert_id=7, feedback=FeedbackView("relevant", "U0ABC123", "ann"))

    assert BASE.blocks == before


def test_outlets_are_counted_copy_by_copy_and_named_once() -> None:
    composed = compose_alert(BASE, alert_id=7, outlets=["Reuters", "BBC", "BBC"])

    assert composed.blocks[: len(BASE.blocks)] == BASE.blocks
    assert composed.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "+3 outlets: Reuters, BBC (2)"}],
    }
    assert_valid(composed)


def test_one_outlet_is_singular() -> None:
    assert outlets_line(["Reuters"]) == "+1 outlet: Reuters"


def test_outlet_names_are_cleaned_before_counting() -> None:
    assert outlets_line(["  BBC\n News ", "BBC News", "\u202eBBC News", ""]) == (
        "+4 outlets: BBC News (3), ?"
    )


def test_many_outlets_list_the_first_names_and_count_the_rest() -> None:
    outlets = [f"Outlet {i}" for i in range(25)] + ["Outlet 0"] * 5

    line = outlets_line(outlets)

    assert line.startswith("+30 outlets: Outlet 0 (6), Outlet 1, Outlet 2, ")
    assert line.endswith("Outlet 9, \u2026 (+15 more)")


def test_outlet_names_are_escaped() -> None:
    composed = compose_alert(BASE, alert_id=7, outlets=[HOSTILE, "AT&T"])

    line = composed.blocks[-1]["elements"][0]["text"]
    assert line == (
        "+2 outlets: &lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt; AT&amp;T, AT&amp;T"
    )
    assert_valid(composed)


def test_buttons_carry_the_alert_id() -> None:
    composed = compose_alert(BASE, alert_id=1234, buttons=True)

    actions = composed.blocks[-1]
    assert actions["type"] == "actions"
    assert [e["action_id"] for e in actions["elements"]] == [
        "claimbot_relevant",
        "claimbot_false_positive",
        "claimbot_mute",
    ]
    assert all(e["type"] == "button" for e in actions["elements"])
    assert all(e["value"] == "1234" for e in actions["elements"])
    assert all(e["text"]["type"] == "plain_text" for e in actions["elements"])
    assert_valid(composed)


def test_outlets_come_before_the_buttons() -> None:
    composed = compose_alert(BASE, alert_id=5, outlets=["BBC"], buttons=True)

    assert [b["type"] for b in composed.blocks[-2:]] == ["context", "actions"]


def test_feedback_replaces_the_buttons() -> None:
    feedback = FeedbackView("false_positive", "U0ABC123", "ann")

    composed = compose_alert(BASE, alert_id=5, outlets=["BBC"], feedback=feedback, buttons=True)

    assert all(b["type"] != "actions" for b in composed.blocks)
    assert texts(composed.blocks[-2:]) == [
        "+1 outlet: BBC",
        "\u274c marked false positive by <@U0ABC123>",
    ]
    assert_valid(composed, mentions=MENTION)


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        ("relevant", "\u2705 marked relevant by <@U0ABC123>"),
        ("false_positive", "\u274c marked false positive by <@U0ABC123>"),
        ("mute", "\U0001f507 claim muted for 24 h by <@U0ABC123>"),
        ("<!here>", "judged &lt;!here&gt; by <@U0ABC123>"),
    ],
)
def test_feedback_line_per_verdict(verdict: str, expected: str) -> None:
    assert feedback_line(FeedbackView(verdict, "U0ABC123", "ann")) == expected


@pytest.mark.parametrize(
    ("user_id", "user_name", "shown"),
    [
        ("W0ABC123", None, "<@W0ABC123>"),  # enterprise user ids start with W
        ("unknown", "<!channel> & co", "&lt;!channel&gt; &amp; co"),
        ("U123<!channel>", None, "U123&lt;!channel&gt;"),
        ("<@U0ABC123>", "ann", "ann"),
        ("u0abc123", "ann", "ann"),  # not how Slack writes ids
        ("U0ABC123 ", "ann", "ann"),
        ("", "", "someone"),
        ("unknown", f"\u202eann{BIDI}\n<b>", "ann &lt;b&gt;"),
    ],
)
def test_feedback_mentions_only_real_user_ids(
    user_id: str, user_name: str | None, shown: str
) -> None:
    line = feedback_line(FeedbackView("relevant", user_id, user_name))

    assert line == f"\u2705 marked relevant by {shown}"
    assert_inert(line, mentions=re.compile(r"<@[UW]0ABC123>"))
    assert_clean(line)


def test_feedback_user_id_with_trailing_newline_is_not_a_mention() -> None:
    line = feedback_line(FeedbackView("relevant", "U0ABC123\n", "ann"))

    assert "\n" not in line
    assert line == "\u2705 marked relevant by ann"


def test_maximal_alert_composes_within_limits() -> None:
    outlets = [maximal(150 + i % 50) + str(i % 120) for i in range(500)]

    for extra in (
        {"buttons": True},
        {"feedback": FeedbackView("mute", "unknown", maximal(300))},
        {"feedback": FeedbackView("relevant", "U0ABC123", None)},
    ):
        composed = compose_alert(MAXIMAL_BASE, alert_id=2**31, outlets=outlets, **extra)

        assert_valid(composed, mentions=MENTION)
        assert composed.blocks[: len(MAXIMAL_BASE.blocks)] == MAXIMAL_BASE.blocks
        assert texts([composed.blocks[len(MAXIMAL_BASE.blocks)]])[0].startswith("+500 outlets: ")


@pytest.mark.parametrize("pad", range(4))
def test_maximal_outlet_names_fit_a_context_block(pad: int) -> None:
    outlets = [f"{i:03d} " + "x" * pad + (FAMILY + SKIN_TONE + FLAGS) * 40 for i in range(500)]

    line = outlets_line(outlets)

    assert line.startswith("+500 outlets: 000 ")
    assert len(line.encode("utf-16-le")) // 2 <= CONTEXT_MAX
    assert not re.search(r"&[a-z]*$", line.removesuffix("\u2026"))  # no half entity
    assert check_message("x", [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": line}]}]) is None


def test_cut_outlets_line_keeps_emoji_whole() -> None:
    flag = "\U0001f1fa\U0001f1f8"
    flags = outlets_line([f"{i:02d} x" + flag * 60 for i in range(12)]).removesuffix("\u2026")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    zwj = outlets_line([f"{i:02d} x" + family * 40 for i in range(12)]).removesuffix("\u2026")

    run = re.search("[\U0001f1e6-\U0001f1ff]+$", flags)
    assert run is None or len(run.group()) % 2 == 0, "half a flag left at the cut"
    assert not zwj.endswith("\u200d"), "dangling zero-width joiner at the cut"


def test_compose_plain() -> None:
    plain = render_alert_plain(VIEW)

    assert compose_plain(plain, []) == plain
    assert compose_plain(plain, ["Reuters", "AT&T", "AT&T"]) == (
        plain + "\n  +3 outlets: Reuters, AT&T (2)"
    )
    hostile = compose_plain(plain, [f"\u202e{HOSTILE}\nnext"] * 3)
    assert hostile.splitlines()[-1] == f"  +3 outlets: {HOSTILE} next (3)"
    assert_clean(hostile)


# -- replies ------------------------------------------------------------------

REPLY = ReplyView(
    item_title="S-300 batteries silent",
    item_link="https://other.example/s300",
    source="Other News",
    published=datetime(2026, 1, 5, 15, 0, tzinfo=UTC),
)


def test_reply_layout() -> None:
    reply = render_reply(REPLY)

    assert reply.blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "Also reported by *Other News* · 2026-01-05 15:00 UTC\n"
                "<https://other.example/s300|S-300 batteries silent>",
            },
        }
    ]
    assert reply.text == "Also reported by Other News: S-300 batteries silent"
    assert_valid(reply)


def test_reply_without_link_source_title_or_time() -> None:
    reply = render_reply(ReplyView("", "javascript:alert(1)", " ", None))

    assert texts(reply.blocks) == ["Also reported by *another outlet*\n(untitled)"]
    assert_valid(reply)


def test_reply_escapes_feed_text() -> None:
    reply = render_reply(
        ReplyView(f"{HOSTILE}\u202e", "https://x.example/?a=<b>|c&d", HOSTILE, None)
    )

    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt; AT&amp;T" in reply.text
    assert_valid(reply)


def test_maximal_reply_fits() -> None:
    reply = render_reply(
        ReplyView(maximal(3000), "https://x.example/" + "|<>&" * 500, maximal(3000), NOW)
    )

    assert_valid(reply)


def test_reply_source_with_asterisks_keeps_its_bold() -> None:
    text = texts(render_reply(dataclasses.replace(REPLY, source="*Star* News")).blocks)[0]

    bold = text.splitlines()[0].removeprefix("Also reported by ").split(" · ")[0]
    assert bold.startswith("*") and bold.endswith("*")
    assert "*" not in bold[1:-1]


def test_reply_plain_is_one_clean_line() -> None:
    plain = render_reply_plain(
        ReplyView("Title\u202e\nsecond", "https://x.example/a b", f"{HOSTILE}\u2066", None)
    )

    assert plain == (
        f"  \u21b3 also reported by {HOSTILE}: Title second https://x.example/a b"
    )
    assert_clean(plain)


# -- digests ------------------------------------------------------------------


def line(i: int, **changes: Any) -> DigestLine:
    base = DigestLine(
        title=f"Story {i}",
        link=f"https://news.example/{i}",
        source="Example News",
        published=NOW - timedelta(minutes=i),
        copies=1,
    )
    return dataclasses.replace(base, **changes)


def digest(lines: list[DigestLine], **changes: Any) -> DigestView:
    base = DigestView(
        claim_id="venezuela-air-defence",
        claim_title="Russian air defences failed",
        period="daily digest to 2026-11-25 09:00 UTC",
        lines=tuple(lines),
    )
    return dataclasses.replace(base, **changes)


def entries(message: RenderedAlert) -> list[str]:
    """The story lines of a digest, in order."""
    found: list[str] = []
    for block in message.blocks:
        if block["type"] == "section":
            found.extend(block["text"]["text"].split("\n"))
    return found


def overflow(message: RenderedAlert) -> str | None:
    last = message.blocks[-1]
    if last["type"] != "context":
        return None
    text: str = last["elements"][0]["text"]
    return text if text.startswith("\u2026 and ") else None


def test_digest_layout() -> None:
    message = render_digest(digest([line(1, copies=3), line(2, link=None, published=None)]))

    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Digest: Russian air defences failed"},
    }
    assert texts([message.blocks[1]]) == [
        "2 stories · daily digest to 2026-11-25 09:00 UTC · claim venezuela-air-defence"
    ]
    assert entries(message) == [
        "\u2022 <https://news.example/1|Story 1> — Example News · 2026-11-25 08:59 UTC"
        " · +2 outlets",
        "\u2022 Story 2 — Example News",
    ]
    assert overflow(message) is None
    assert message.text == "Russian air defences failed: 2 new stories"
    assert_valid(message)


def test_digest_of_one_story_is_singular() -> None:
    message = render_digest(digest([line(1)]))

    assert texts([message.blocks[1]])[0].startswith("1 story · ")
    assert message.text.endswith(": 1 new story")


def test_digest_escapes_titles_sources_and_claim_title() -> None:
    message = render_digest(
        digest(
            [line(1, title=HOSTILE, source=HOSTILE, link="https://x.example/<a>|&")],
            claim_title=f"{HOSTILE}\u202e",
            period=f"daily {HOSTILE}",
        )
    )

    assert entries(message)[0].startswith(
        "\u2022 <https://x.example/%3Ca%3E%7C&amp;|&lt;!channel&gt; &lt;@U123&gt; "
        "&lt;http://x|y&gt; AT&amp;T> — &lt;!channel&gt;"
    )
    assert_valid(message)


def test_digest_falls_back_to_the_claim_id_and_untitled() -> None:
    message = render_digest(digest([line(1, title=" \u202e ")], claim_title=""))

    assert message.blocks[0]["text"]["text"] == "Digest: venezuela-air-defence"
    assert entries(message)[0].startswith("\u2022 <https://news.example/1|(untitled)>")


def test_digest_of_many_short_stories_shows_them_all() -> None:
    message = render_digest(digest([line(i) for i in range(300)]))

    shown = entries(message)
    assert len(shown) == 300
    assert [s.split("|")[1].split(">")[0] for s in shown] == [f"Story {i}" for i in range(300)]
    assert overflow(message) is None
    assert texts([message.blocks[1]])[0].startswith("300 stories · ")
    assert_valid(message)


def test_digest_of_maximal_stories_shows_what_fits_and_counts_the_rest() -> None:
    lines = [
        line(
            i,
            title=f"{i} {maximal(300)}",
            link=f"https://news.example/{i}/" + "a|<>&" * 120,  # 1,800 units encoded
            source=maximal(200),
            copies=1 + i % 4,
        )
        for i in range(300)
    ]

    message = render_digest(digest(lines, claim_title=maximal(200), claim_id="c" * 200))

    shown = entries(message)
    assert len(message.blocks) == BLOCKS_MAX
    assert len(shown) == BLOCKS_MAX - 3  # each story fills most of a section
    for i, entry in enumerate(shown):
        assert entry.startswith(f"\u2022 <https://news.example/{i}/"), entry[:80]
    more = overflow(message)
    assert more is not None and more.startswith(f"\u2026 and {300 - len(shown)} more")
    assert texts([message.blocks[1]])[0].startswith("300 stories · ")
    assert_valid(message)


def test_digest_packs_sections_when_stories_overflow() -> None:
    lines = [
        line(i, title=f"{i} " + "word " * 55, source="s" * 100, link=f"https://news.example/{i}"
             + "/path" * 100)
        for i in range(300)
    ]

    message = render_digest(digest(lines))

    shown = entries(message)
    more = overflow(message)
    assert more is not None
    assert more.startswith(f"\u2026 and {300 - len(shown)} more")
    assert len(shown) > BLOCKS_MAX  # several stories share each section
    assert [e.split("/", 4)[3] for e in shown] == [str(i) for i in range(len(shown))]
    assert_valid(message)


@pytest.mark.parametrize("stories", [0, 1, 47, 48, 299, 300])
def test_digest_of_any_size_is_valid(stories: int) -> None:
    lines = [
        line(i, title=maximal(1000), source=maximal(500), link=None) for i in range(stories)
    ]

    message = render_digest(digest(lines, period=maximal(3000)))

    assert_valid(message)
    shown = len(entries(message))
    more = overflow(message)
    if shown < stories:
        assert more is not None and more.startswith(f"\u2026 and {stories - shown} more")
    else:
        assert more is None
    assert texts([message.blocks[1]])[0].startswith(
        f"{stories} stor{'y' if stories == 1 else 'ies'} · "
    )


def test_digest_plain_lists_every_story() -> None:
    lines = [line(i, title=f"{maximal(80)} {i}", copies=1 + i % 3) for i in range(300)]

    plain = render_digest_plain(digest(lines))

    rows = plain.splitlines()
    assert rows[0] == (
        "[venezuela-air-defence] digest: 300 stories, daily digest to 2026-11-25 09:00 UTC"
    )
    assert len(rows) == 301
    for i, row in enumerate(rows[1:]):
        assert row.startswith("  - ")
        assert row.endswith(f" {i} (Example News)" + (f" (+{i % 3} outlets)" if i % 3 else ""))
    assert_clean(plain)
