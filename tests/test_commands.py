"""The /claimbot slash command: parsing, errors and the answers it sends back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from bot.alerts.commands import (
    ANSWER_MAX,
    USAGE,
    Command,
    CommandError,
    answer_matches,
    answer_stats,
    parse_command,
)
from bot.store.records import ClaimStats, StoredMatch
from tests.support.slack_server import check_message

CLAIMS = ("air-defence", "grain-deal", "vote-fraud")
HOSTILE = "<!channel> <@U123> <http://x|y> AT&T"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ENTITY = re.compile(r"&(?:amp|lt|gt);")
LINK = re.compile(r"<(https?://[^|<>\s]+)\|([^<>]*)>")


def assert_inert(text: str) -> None:
    """Nothing Slack would parse except our own links; every "&" starts an entity."""
    body = ENTITY.sub("", LINK.sub("", text))
    assert "&" not in body, text
    assert "<" not in body and ">" not in body, text
    assert not set(text) & set(BIDI), repr(text)


def error_of(text: str, claims: Sequence[str] = CLAIMS) -> str:
    with pytest.raises(CommandError) as caught:
        parse_command(text, claims)
    return str(caught.value)


# -- parsing ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "help", "HELP", "?", "help me"])
def test_help(text: str) -> None:
    assert parse_command(text, CLAIMS) == Command("help")


def test_recent() -> None:
    assert parse_command("recent", CLAIMS) == Command("recent")
    assert parse_command("  Recent   grain-deal ", CLAIMS) == Command("recent", claim="grain-deal")


def test_recent_takes_one_claim_at_most() -> None:
    message = error_of("recent air-defence grain-deal")

    assert "at most one claim" in message
    assert message.endswith(USAGE)


def test_unknown_claim_lists_the_known_ones() -> None:
    message = error_of("recent nope")

    assert message == "no claim `nope` is watched (claims: air-defence, grain-deal, vote-fraud)"


def test_unknown_claim_with_no_claims_watched() -> None:
    assert error_of("unmute nope", []) == "no claim `nope` is watched (claims: none)"


def test_unknown_claim_is_escaped() -> None:
    message = error_of("recent <!channel>")

    assert "`&lt;!channel&gt;`" in message
    assert_inert(message)


def test_claim_ids_are_matched_exactly() -> None:
    assert "no claim `Air-Defence`" in error_of("recent Air-Defence")


def test_search() -> None:
    assert parse_command("search  S-300   batteries ", CLAIMS) == Command(
        "search", text="S-300 batteries"
    )
    assert parse_command("SEARCH x", CLAIMS).text == "x"


def test_search_needs_text() -> None:
    message = error_of("search   ")

    assert "needs some text" in message
    assert message.endswith(USAGE)


def test_search_text_is_capped() -> None:
    command = parse_command("search " + "word " * 100, CLAIMS)

    assert command.text is not None and len(command.text) == 200


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("3600", timedelta(hours=1)),
        ("1.5h", timedelta(minutes=90)),
        ("365d", timedelta(days=365)),
        ("8760h", timedelta(days=365)),
    ],
)
def test_mute(duration: str, expected: timedelta) -> None:
    assert parse_command(f"mute grain-deal {duration}", CLAIMS) == Command(
        "mute", claim="grain-deal", duration=expected
    )


@pytest.mark.parametrize("duration", ["366d", "8761h", "525601m", "99999999d", "0", "0m"])
def test_mute_outside_the_limits_is_refused(duration: str) -> None:
    assert error_of(f"mute grain-deal {duration}") == "a mute lasts between 1 second and 365 days"


def test_mute_shorter_than_a_second_is_refused() -> None:
    assert error_of("mute grain-deal 0.5s") == "a mute lasts between 1 second and 365 days"


@pytest.mark.parametrize("duration", ["tomorrow", "24hours", "-1h", "1w", "h", "1e3"])
def test_mute_with_a_bad_duration(duration: str) -> None:
    message = error_of(f"mute grain-deal {duration}")

    assert "is not a duration" in message
    assert message.endswith(USAGE)


def test_bad_duration_is_escaped() -> None:
    message = error_of("mute grain-deal <!here>&")

    assert "&lt;!here&gt;&amp;" in message
    assert "<!here>" not in message


@pytest.mark.parametrize(
    "text", ["mute", "mute grain-deal", "mute grain-deal 24h now", "mute grain-deal 24 h"]
)
def test_mute_needs_a_claim_and_a_duration(text: str) -> None:
    message = error_of(text)

    assert "needs a claim id and a duration" in message
    assert message.endswith(USAGE)


def test_mute_of_an_unknown_claim() -> None:
    assert error_of("mute nope 24h").startswith("no claim `nope` is watched (claims: air-")


def test_unmute() -> None:
    assert parse_command("unmute vote-fraud", CLAIMS) == Command("unmute", claim="vote-fraud")
    assert "needs a claim id" in error_of("unmute")
    assert "needs a claim id" in error_of("unmute vote-fraud grain-deal")
    assert error_of("unmute nope").startswith("no claim `nope`")


def test_stats() -> None:
    assert parse_command("stats", CLAIMS) == Command("stats")
    assert parse_command("STATS", CLAIMS) == Command("stats")


def test_unknown_command() -> None:
    assert error_of("frobnicate now") == f"unknown command `frobnicate`. {USAGE}"


def test_unknown_command_is_escaped_and_cut() -> None:
    message = error_of(f"{HOSTILE.replace(' ', '')}{'x' * 100}")

    assert message.startswith("unknown command `&lt;!channel&gt;&lt;@u123&gt;")
    assert len(message.split("`")[1]) <= 40
    assert_inert(message.removesuffix(USAGE))


def test_long_claim_lists_are_cut() -> None:
    claims = [f"claim-{i:03d}-" + "x" * 60 for i in range(100)]

    message = error_of("recent nope", claims)

    assert claims[0] in message and claims[19] in message
    assert claims[20] not in message
    assert len(message) <= ANSWER_MAX


# -- answers ------------------------------------------------------------------


def match(i: int, **changes: Any) -> StoredMatch:
    fields: dict[str, Any] = {
        "id": i,
        "claim_id": "air-defence",
        "score": 0.875,
        "alert": True,
        "evidence": {},
        "created_at": NOW - timedelta(minutes=i),
        "item_title": f"Story {i}",
        "item_link": f"https://news.example/{i}",
        "item_published": None,
        "feed_url": "https://feeds.example/rss",
        "feed_name": "Example News",
    }
    fields.update(changes)
    return StoredMatch(**fields)


def test_answer_with_nothing_found() -> None:
    assert answer_matches([], "Latest alerts") == "Latest alerts: nothing stored yet."


def test_answer_matches_layout() -> None:
    answer = answer_matches([match(1), match(2, item_link=None, feed_name=None)], "Latest alerts")

    assert answer.splitlines() == [
        "*Latest alerts*",
        "\u2022 `air-defence` 0.88 · <https://news.example/1|Story 1> — Example News"
        " · 2026-11-25 08:59",
        "\u2022 `air-defence` 0.88 · Story 2 — https://feeds.example/rss · 2026-11-25 08:58",
    ]


def test_answer_matches_escapes_feed_text() -> None:
    answer = answer_matches(
        [
            match(
                1,
                item_title=f"{HOSTILE}\u202e\nline",
                item_link="javascript:alert(1)",
                feed_name=f"{HOSTILE}\u2066",
            ),
            match(2, item_title="", item_link="https://x.example/<a>|b&c"),
        ],
        "Latest alerts",
    )

    lines = answer.splitlines()
    assert len(lines) == 3
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt; AT&amp;T line" in lines[1]
    assert "<https://x.example/%3Ca%3E%7Cb&amp;c|(untitled)>" in lines[2]
    assert_inert(answer)


def test_many_long_matches_fit_one_answer() -> None:
    maximal = (
        f"{HOSTILE} \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 "
        "\U0001f1fa\U0001f1e6 \u0645\u0631\u062d\u0628\u0627 \u202e\u05e9\u05dc\u05d5\u05dd "
    ) * 40
    found = [
        match(i, item_title=maximal, feed_name=maximal, item_link="https://x.example/" + "a" * 900)
        for i in range(50)
    ]

    answer = answer_matches(found, "Latest alerts")

    assert len(answer) <= ANSWER_MAX
    assert check_message(answer, None) is None
    shown = answer.count("\n\u2022 ")
    assert 0 < shown < 50
    assert answer.endswith(f"\u2026 and {50 - shown} more")
    assert_inert(answer)


def stats(claim_id: str = "air-defence", **changes: Any) -> ClaimStats:
    return ClaimStats(claim_id=claim_id, **changes)


def test_stats_with_nothing_stored() -> None:
    assert answer_stats([], {}, {}) == "No matches stored yet."


def test_stats_lines() -> None:
    answer = answer_stats(
        [
            stats(matches=10, alerts=4, stories=3, relevant=3, false_positive=1),
            stats("grain-deal", matches=2, alerts=1, stories=1),
        ],
        {"air-defence": 0.5},
        {"grain-deal": datetime(2026, 11, 26, 9, 30, tzinfo=UTC)},
    )

    assert answer.splitlines() == [
        "*Per claim (last 30 days)*",
        "\u2022 `air-defence`: 4 alerts, 3 stories, 10 matches; feedback 3 relevant / "
        "1 false positive (precision 75%)",
        "\u2022 `grain-deal`: 1 alerts, 1 stories, 2 matches; feedback 0 relevant / "
        "0 false positive (precision n/a) · muted until 2026-11-26 09:30 UTC",
    ]


JUDGED = ((0.55, False), (0.6, False), (0.7, True), (0.8, True), (0.85, True), (0.9, True))


def test_stats_suggest_a_threshold_from_feedback() -> None:
    row = stats(alerts=6, relevant=4, false_positive=2, judged_scores=JUDGED)

    answer = answer_stats([row], {"air-defence": 0.5}, {})

    assert answer.splitlines()[-1] == (
        "    \u2192 raise air-defence's alert_at to 0.70: precision 67% -> 100%, "
        "2 false positive(s) avoided, 0 relevant alert(s) lost"
    )


def test_stats_default_to_a_threshold_of_one_half() -> None:
    row = stats(alerts=6, relevant=4, false_positive=2, judged_scores=JUDGED)

    assert answer_stats([row], {}, {}) == answer_stats([row], {"air-defence": 0.5}, {})
    assert "\u2192" not in answer_stats([row], {"air-defence": 0.9}, {})


def test_stats_for_many_claims_fit_one_answer() -> None:
    rows = [
        stats(f"claim-{i:03d}", alerts=6, relevant=4, false_positive=2, judged_scores=JUDGED)
        for i in range(100)
    ]

    answer = answer_stats(rows, {}, {r.claim_id: NOW for r in rows})

    assert len(answer) <= ANSWER_MAX
    assert check_message(answer, None) is None
    shown = answer.count("\n\u2022 ")
    assert answer.endswith(f"\u2026 and {100 - shown} more")


# -- the answer as /claimbot sends it ---------------------------------------


class _Store:
    """Just what ``SlackInteractions`` reads for ``search``."""

    def search_matches(self, text: str, limit: int) -> list[StoredMatch]:
        return [match(1, item_title=f"about {text}")]


def test_search_text_is_escaped_in_the_answer() -> None:
    from bot.alerts.interactive import SlackInteractions

    bot = SlackInteractions(
        app_token="xapp-test",
        bot_token="xoxb-test",
        api_url="http://127.0.0.1:9/api/",
        store=cast(Any, _Store()),
        claims=lambda: {},
        clock=lambda: NOW,
    )
    try:
        answer = bot.answer_command({"text": f"search {HOSTILE}"})["text"]
    finally:
        bot.stop()

    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt; AT&amp;T" in answer
    assert_inert(answer)
