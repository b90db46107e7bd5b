"""Story grouping: copies of one story share a fingerprint, different stories on a topic do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.stories import (
    BODY_MAX_DISTANCE,
    MIN_BODY_WORDS,
    SAME_STORY_MAX_DISTANCE,
    body_fingerprint,
    distance,
    fingerprint,
    same_story,
)

REPO = Path(__file__).resolve().parents[1]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

TITLE = "Russia delivers S-300 air defence systems to Venezuela"
SUMMARY = (
    "Russia has delivered S-300 air defence missile systems to Venezuela, the defence ministry in "
    "Caracas said on Tuesday, a move likely to anger Washington. The batteries arrived at an air "
    "base near the capital aboard two Antonov transport planes. Venezuelan officials said the "
    "systems would protect critical infrastructure and would be operated by local crews trained "
    "in Russia."
)
FIRST_SENTENCE = SUMMARY.split(". ")[0] + "."


def same(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return same_story(fingerprint(*a), fingerprint(*b))


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        pytest.param(TITLE + " - Reuters", SUMMARY, id="outlet suffix"),
        pytest.param(TITLE + " | BBC News", SUMMARY, id="site suffix"),
        pytest.param("EXCLUSIVE: " + TITLE, SUMMARY, id="label prefix"),
        pytest.param("UPDATE 2-" + TITLE, SUMMARY, id="reuters update prefix"),
        pytest.param(TITLE, "MOSCOW (Reuters) - " + SUMMARY, id="dateline"),
        pytest.param(TITLE, "CARACAS, Venezuela (AP) — " + SUMMARY, id="dateline with region"),
        pytest.param(
            TITLE,
            "By Ivan Petrov and Maria Lopez\nMOSCOW, Feb 17 (Reuters) - " + SUMMARY,
            id="byline and dated dateline",
        ),
        pytest.param(TITLE, FIRST_SENTENCE, id="truncated to the lede"),
        pytest.param(TITLE, SUMMARY[: int(len(SUMMARY) * 0.6)] + "…", id="truncated mid-sentence"),
        pytest.param(
            TITLE,
            SUMMARY + " The Kremlin declined to comment on the report.",
            id="sentence added",
        ),
        pytest.param(
            TITLE.upper(), SUMMARY.replace("'", "’").replace(" - ", " — "), id="case and quotes"
        ),
        pytest.param(
            "Russia delivers S300 air-defence systems to Venezuela",
            SUMMARY.replace("S-300", "S300"),
            id="punctuation",
        ),
        pytest.param(
            TITLE, "<p>" + SUMMARY.replace("air base", "air&nbsp;base") + "</p>", id="html left in"
        ),
    ],
)
def test_copies_of_a_story_are_one_story(title: str, summary: str) -> None:
    assert same((TITLE, SUMMARY), (title, summary))


def test_accents_and_case_do_not_matter() -> None:
    original = (
        "Delcy Rodríguez niega la llegada de misiles rusos",
        "La vicepresidenta habló en Caracas.",
    )
    plain = (
        "DELCY RODRIGUEZ NIEGA LA LLEGADA DE MISILES RUSOS",
        "La vicepresidenta hablo en Caracas.",
    )
    assert fingerprint(*original) == fingerprint(*plain)


DIFFERENT_STORIES = [
    pytest.param(
        "Venezuela denies receiving Russian S-300 air defence batteries",
        "Venezuela's government on Wednesday denied reports that Russia had sent it S-300 air "
        "defence batteries, calling the claims propaganda spread by Washington.",
        id="denial",
    ),
    pytest.param(
        "US warns Russia against sending S-300 missiles to Venezuela",
        "The State Department said any transfer of Russian S-300 air defence systems to "
        "Venezuela would be met with new sanctions on Moscow and Caracas.",
        id="warning",
    ),
    pytest.param(
        "Russia delivers S-400 air defence systems to Turkey",
        "Russia has delivered the first S-400 air defence missile systems to Turkey, the "
        "defence ministry in Ankara said on Friday, defying warnings from Washington.",
        id="same template, other country",
    ),
    pytest.param(
        "Satellite images show S-300 launchers at Venezuelan air base",
        "Commercial satellite pictures taken on Monday show what analysts say are Russian "
        "S-300 launchers and radars parked at an air base near Caracas.",
        id="follow-up",
    ),
]


@pytest.mark.parametrize(("title", "summary"), DIFFERENT_STORIES)
def test_different_stories_on_the_same_claim_are_not_one_story(title: str, summary: str) -> None:
    assert not same((TITLE, SUMMARY), (title, summary))


def test_release_notes_of_consecutive_versions_are_different_stories() -> None:
    a = (
        "Ardour 8.11 released",
        "Ardour 8.11 fixes MIDI clip launching and adds a new mixer strip.",
    )
    b = (
        "Ardour 8.12 released",
        "Ardour 8.12 is a bug-fix release for crashes on macOS at startup.",
    )
    assert not same(a, b)


def test_distance_is_zero_on_identical_input() -> None:
    assert distance(fingerprint(TITLE, SUMMARY), fingerprint(TITLE, SUMMARY)) == 0


@given(st.text(max_size=80), st.text(max_size=200), st.text(max_size=80), st.text(max_size=200))
def test_distance_is_symmetric_and_bounded(t1: str, s1: str, t2: str, s2: str) -> None:
    a, b = fingerprint(t1, s1), fingerprint(t2, s2)
    assert distance(a, b) == distance(b, a)
    assert 0 <= distance(a, b) <= 64
    assert same_story(a, b) == (distance(a, b) <= SAME_STORY_MAX_DISTANCE)


@given(st.text(max_size=200), st.text(max_size=1000))
def test_fingerprint_fits_a_signed_bigint(title: str, summary: str) -> None:
    assert INT64_MIN <= fingerprint(title, summary) <= INT64_MAX


@given(st.integers(INT64_MIN, INT64_MAX), st.integers(INT64_MIN, INT64_MAX))
def test_distance_reads_the_signed_and_unsigned_forms_alike(a: int, b: int) -> None:
    unsigned = b % 2**64
    assert distance(a, b) == distance(a, unsigned) == (a % 2**64 ^ unsigned).bit_count()


def test_distance_of_extremes() -> None:
    assert distance(-1, 0) == 64
    assert distance(INT64_MIN, INT64_MAX) == 64
    assert distance(INT64_MIN, 0) == 1


@pytest.mark.parametrize(
    ("title", "summary"), [("", ""), ("", SUMMARY), (TITLE, ""), ("  ", "—"), ("<p></p>", "&amp;")]
)
def test_empty_or_wordless_inputs_do_not_crash(title: str, summary: str) -> None:
    assert INT64_MIN <= fingerprint(title, summary) <= INT64_MAX


def test_text_without_words_fingerprints_to_zero() -> None:
    assert fingerprint("", "") == 0
    assert fingerprint("the", "— of —") == 0


# Stored fingerprints must mean the same tomorrow and in every process: a change to this value
# changes every fingerprint, and stories stored before it would stop matching new items.
FROZEN_FINGERPRINT = -3277059899230067419


def test_fingerprint_is_a_fixed_value() -> None:
    assert fingerprint(TITLE, SUMMARY) == FROZEN_FINGERPRINT


def test_fingerprint_is_the_same_in_another_process() -> None:
    # A fresh interpreter with another hash seed: nothing may depend on Python's hash().
    code = (
        "from bot.matching.stories import body_fingerprint, fingerprint; "
        f"print(fingerprint({TITLE!r}, {SUMMARY!r}), body_fingerprint({SUMMARY!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert result.stdout.split() == [str(FROZEN_FINGERPRINT), str(FROZEN_BODY_FINGERPRINT)]


# -- body fingerprints: copies under a rewritten title ----------------------------------------

DEMO_A = (
    "Venezuelan officials say Russian-built air defences failed during US raid",
    "<p>Officers in Caracas told reporters that the <b>S-300</b> and <b>Buk-M2</b> batteries "
    "bought from Moscow did little to stop US aircraft on the night Nicolás Maduro was seized. "
    'One official called the systems\' performance "a complete failure".</p>',
)
DEMO_B = (
    "Russian-made air defences failed to protect Venezuela, Caracas officials say",
    "<p>Officers in Caracas told reporters the <b>S-300</b> and <b>Buk-M2</b> batteries bought "
    "from Moscow did little to stop US aircraft on the night Nicolás Maduro was seized, calling "
    "the systems' performance a failure. <i>(via World Wire)</i></p>",
)


def same_combined(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """``same_story`` as a caller that stores both fingerprints uses it."""
    return same_story(
        fingerprint(*a), fingerprint(*b), body_fingerprint(a[1]), body_fingerprint(b[1])
    )


def test_demo_pair_is_one_story_through_its_summary() -> None:
    assert not same(DEMO_A, DEMO_B)  # the rewritten title puts the fingerprints far apart
    assert same_combined(DEMO_A, DEMO_B)


SENTENCES = SUMMARY.split(". ")


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        pytest.param(
            "Venezuela takes delivery of Russian missile batteries, Caracas says",
            SUMMARY + " (via World Wire)",
            id="new headline, attribution appended",
        ),
        pytest.param(
            "Washington angered as Moscow arms Caracas with S-300 batteries",
            SUMMARY.replace(", a move likely to anger Washington", ""),
            id="new headline, a clause dropped",
        ),
        pytest.param(
            "Antonov planes bring Russian air defences to Venezuela, ministry says",
            SUMMARY.replace("two Antonov transport planes", "two Antonov planes") + " (Reuters)",
            id="new headline, a word dropped and attribution",
        ),
        pytest.param("Caracas says Russian S-300s have arrived", SUMMARY, id="new headline"),
        pytest.param(
            "S-300 systems arrive in Venezuela from Russia",
            ". ".join(SENTENCES[:3]) + ". (with AFP)",
            id="new headline, last sentence cut",
        ),
    ],
)
def test_retitled_copies_are_one_story(title: str, summary: str) -> None:
    assert not same((TITLE, SUMMARY), (title, summary))
    assert same_combined((TITLE, SUMMARY), (title, summary))


@pytest.mark.parametrize(("title", "summary"), DIFFERENT_STORIES)
def test_different_stories_on_the_same_claim_stay_apart_with_bodies(
    title: str, summary: str
) -> None:
    assert not same_combined((TITLE, SUMMARY), (title, summary))


# Two different items of one feed each; every summary is short or mostly the feed's template.
SHORTCODE = (
    "[fusion_builder_container hundred_percent=”no” hundred_percent_height=”no” "
    "equal_height_columns=”no” menu_anchor=”” status=”published” publish_date=”” class=”” "
    "id=”” link_color=”” border_style=”solid” margin_top=”” padding_top=”” "
    "gradient_type=”linear” background_repeat=”no-repeat” fade=”no” video_loop=”yes” […]\n"
)
THANKS = "Thanks to https://www.PCBWay.com/?from=atomic for the fantastic PCBs and SMT assembly. "


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            ("Resident Evil 6", 'Resident Evil 6 was newly added and is "Running"'),
            (
                "Resident Evil Revelations",
                'Resident Evil Revelations was newly added and is "Running"',
            ),
            id="status feed",
        ),
        pytest.param(
            (
                "TMIL: forms in React",
                "Notes taken, resources collected and blog post ideas obtained from EpicReact "
                "lesson",
            ),
            (
                "TMIL: styling in React",
                "Notes taken, resources collected and blog post ideas obtained from EpicReact "
                "lesson",
            ),
            id="one short summary for every post",
        ),
        pytest.param(
            (
                "How To Retire And Live As An Expat In Panama – Greg Kitzmiller (Ep 42)",
                SHORTCODE + "The post How To Retire And Live As An Expat In Panama – Greg "
                "Kitzmiller (Ep 42) appeared first on Web • Tech • Audio.",
            ),
            (
                "Helping Entrepreneurial Women Gain Clarity – Amanda Abella (Ep 45)",
                SHORTCODE + "The post Helping Entrepreneurial Women Gain Clarity – Amanda "
                "Abella (Ep 45) appeared first on Web • Tech • Audio.",
            ),
            id="page-builder markup",
        ),
        pytest.param(
            (
                "I Turned an ESP32 into a Thermal USB Webcam",
                THANKS + "Last time, I made an ESP32 pretend to be a webcam. This time, it "
                "actually is one. In this video, I take an ESP32-S3 with native USB support and "
                "turn it into a real USB UVC webcam, first with a standard camera module and "
                "then with a 32x24 pixel thermal camera.",
            ),
            (
                "Amazon Basics vs SanDisk: I Cut Them Open",
                THANKS + "We recently repaired a broken AmazonBasics microSD adapter, and a few "
                "people in the comments pointed out that these are built to a price. So in this "
                "video, I crack open a cheap adapter and compare it with a branded SanDisk one.",
            ),
            id="sponsor line, then the episode",
        ),
    ],
)
def test_different_items_with_template_summaries_are_not_one_story(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    assert not same_combined(a, b)


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "   ",
        "<p></p>",
        "Updates: 5 Updates (See More) => 6 Updates (See More)",
        'Resident Evil 6 was newly added and is "Running"',
        "Notes taken, resources collected and blog post ideas obtained from EpicReact lesson",
        SHORTCODE,
        "MOSCOW (Reuters) - The Kremlin declined to comment.",
    ],
)
def test_short_summaries_have_no_body_fingerprint(summary: str) -> None:
    assert body_fingerprint(summary) is None


# Twelve content words, and the same with one less.
TWELVE = (
    "Caracas Moscow batteries aircraft missiles radar crews airbase capital transport planes pilots"
)


def test_body_fingerprint_needs_min_body_words_content_words() -> None:
    assert MIN_BODY_WORDS == len(TWELVE.split())
    assert body_fingerprint(TWELVE) is not None
    assert body_fingerprint(TWELVE.rsplit(" ", 1)[0]) is None
    # Stop words, agency names and datelines do not count.
    padded = "the of and to in (Reuters) said Monday " + TWELVE.rsplit(" ", 1)[0]
    assert body_fingerprint(padded) is None


def test_body_fingerprint_ignores_shortcodes_and_html() -> None:
    body = body_fingerprint(SUMMARY)
    assert body is not None
    assert body_fingerprint(SHORTCODE + SUMMARY) == body
    assert body_fingerprint("<p>" + SUMMARY.replace("air base", "air&nbsp;base") + "</p>") == body
    assert body_fingerprint("[caption id=”1″ align=”left”]" + SUMMARY + "[/caption]") == body


@given(st.text(max_size=1000))
def test_body_fingerprint_is_none_or_a_signed_bigint(summary: str) -> None:
    body = body_fingerprint(summary)
    assert body is None or INT64_MIN <= body <= INT64_MAX


@given(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(INT64_MIN, INT64_MAX),
    st.none() | st.integers(INT64_MIN, INT64_MAX),
    st.none() | st.integers(INT64_MIN, INT64_MAX),
)
def test_same_story_is_either_rule(a: int, b: int, a_body: int | None, b_body: int | None) -> None:
    by_fingerprint = distance(a, b) <= SAME_STORY_MAX_DISTANCE
    assert same_story(a, b) == by_fingerprint  # two arguments: exactly as before
    assert same_story(a, b, a_body, None) == by_fingerprint
    assert same_story(a, b, None, b_body) == by_fingerprint
    if a_body is not None and b_body is not None:
        by_body = distance(a_body, b_body) <= BODY_MAX_DISTANCE
        assert same_story(a, b, a_body, b_body) == (by_fingerprint or by_body)
        assert same_story(a, b, a_body, b_body) == same_story(b, a, b_body, a_body)


def test_same_body_alone_is_one_story() -> None:
    assert same_story(0, -1, 12345, 12345)
    assert not same_story(0, -1, 0, -1)
    assert same_story(0, -1, 0, (1 << BODY_MAX_DISTANCE) - 1)
    assert not same_story(0, -1, 0, (1 << (BODY_MAX_DISTANCE + 1)) - 1)


# Like FROZEN_FINGERPRINT: stored body fingerprints must mean the same tomorrow.
FROZEN_BODY_FINGERPRINT = 4554408464853427653


def test_body_fingerprint_is_a_fixed_value() -> None:
    assert body_fingerprint(SUMMARY) == FROZEN_BODY_FINGERPRINT
