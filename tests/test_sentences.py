"""Sentence splitting: spans that cover the text, and the full stops that do not end a sentence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.sentences import split_sentences


def sentences(text: str) -> str:
    """The sentences of ``text``, joined by " | " so expectations read at a glance."""
    return " | ".join(text[start:end] for start, end in split_sentences(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "S-300s failed in Venezuela\nThey did not stop US jets. Moscow is silent.",
            "S-300s failed in Venezuela | They did not stop US jets. | Moscow is silent.",
        ),
        ("Title without a stop\nSummary.", "Title without a stop | Summary."),
        ("Wow! Really? Yes… Fine.", "Wow! | Really? | Yes… | Fine."),
        (
            "The U.S. struck first. It was 3.5 km away.",
            "The U.S. struck first. | It was 3.5 km away.",
        ),
        (
            "Dr. Smith and Mr. Jones met. They talked.",
            "Dr. Smith and Mr. Jones met. | They talked.",
        ),
        ("J. R. R. Tolkien wrote it. Fine.", "J. R. R. Tolkien wrote it. | Fine."),
        ("Prices rose, e.g. fuel. Then fell.", "Prices rose, e.g. fuel. | Then fell."),
        ("It costs approx. five dollars.", "It costs approx. five dollars."),
        ("Wait... what? Go.", "Wait... what? | Go."),
        ("On Jan. 3 at 9 a.m. in Caracas.", "On Jan. 3 at 9 a.m. in Caracas."),
        ("The answer is no. No. 5 won.", "The answer is no. | No. 5 won."),
        ('He said "Stop." Then he left.', 'He said "Stop." | Then he left.'),
        ("See example.com. Next one.", "See example.com. | Next one."),
        (
            "¿Qué pasó? ¡Nadie lo sabe! El Sr. García dijo que EE.UU. atacó. Fin.",
            "¿Qué pasó? | ¡Nadie lo sabe! | El Sr. García dijo que EE.UU. atacó. | Fin.",
        ),
        (
            "ПВО не сработала. В 2020 г. в Москве А. С. Иванов сказал, т.е. признал. Конец!",
            "ПВО не сработала. | В 2020 г. в Москве А. С. Иванов сказал, т.е. признал. | Конец!",
        ),
        ("防空失败了。美国飞机进入了。", "防空失败了。 | 美国飞机进入了。"),
        ("  padded.   \r\n\n  lines  ", "padded. | lines"),
        ("", ""),
        (" \n\t ", ""),
    ],
)
def test_sentences(text: str, expected: str) -> None:
    assert sentences(text) == expected


def test_title_line_is_its_own_sentence_even_without_punctuation() -> None:
    text = "Dr\nSmith said. More"
    assert sentences(text) == "Dr | Smith said. | More"


def test_spans_point_into_the_original_text() -> None:
    text = "One. Two!\nThree?"
    assert split_sentences(text) == [(0, 4), (5, 9), (10, 16)]


# Text made mostly of the characters the splitter looks at, so hypothesis reaches its branches.
_PIECES = list('aZ ёЖ 7.!?…¿¡"»)。\n\r\t\u2028\u00a0') + ["Dr.", "U.S.", "3.5", "no. 5", ". ."]
texts = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=60).map("".join),
    st.text(max_size=200),
)


@given(texts)
def test_spans_are_ordered_trimmed_and_within_the_text(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end


@given(texts)
def test_spans_cover_every_non_space_character(text: str) -> None:
    covered = {i for start, end in split_sentences(text) for i in range(start, end)}
    assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered


@given(texts)
def test_no_span_crosses_a_line_break(text: str) -> None:
    for start, end in split_sentences(text):
        assert len(text[start:end].splitlines()) == 1


@given(texts)
def test_a_sentence_on_its_own_is_one_sentence(text: str) -> None:
    for start, end in split_sentences(text):
        sentence = text[start:end]
        assert split_sentences(sentence) == [(0, len(sentence))]
