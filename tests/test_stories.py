"""Story grouping: copies of one story share a fingerprint, different stories on a topic do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.stories import SAME_STORY_MAX_DISTANCE, distance, fingerprint, same_story

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


@pytest.mark.parametrize(
    ("title", "summary"),
    [
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
    ],
)
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
        f"from bot.matching.stories import fingerprint; print(fingerprint({TITLE!r}, {SUMMARY!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert int(result.stdout) == FROZEN_FINGERPRINT
