"""Normalisation: one form for queries and text, whatever the case, accents or punctuation."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.normalize import normalize, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("S-300", "s 300"),
        ("S300", "s 300"),
        ("S 300", "s 300"),
        ("Buk-M2", "buk m 2"),
        ("Delcy Rodríguez", "delcy rodriguez"),
        ("ÉL DIJO", "el dijo"),
        ("Россия и ПВО", "россия и пво"),
        ("Ёлка", "елка"),
        ("ﬁnance", "finance"),
        ("U.S. cyber-attacks", "u s cyber attacks"),
        ("<!channel> alert", "channel alert"),
    ],
)
def test_normal_forms(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_tokens_keep_offsets_into_the_original_text() -> None:
    text = "Venezuela's S-300 failed"
    assert [(t.text, text[t.start : t.end]) for t in tokenize(text)] == [
        ("venezuela", "Venezuela"),
        ("s", "s"),
        ("s", "S"),
        ("300", "300"),
        ("failed", "failed"),
    ]


def test_decomposed_accents_fold_like_composed_ones() -> None:
    assert normalize("Rodri\u0301guez") == normalize("Rodríguez") == "rodriguez"


@given(st.text(max_size=80))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


_LATIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéíóúñüçàè ÁÉÍÓÚÑ-.,'!0123456789", max_size=40)
_PLAIN = str.maketrans("áéíóúñüçàèÁÉÍÓÚÑ", "aeiounucaeAEIOUN")


@given(_LATIN)
def test_case_does_not_change_the_normal_form(text: str) -> None:
    assert normalize(text.upper()) == normalize(text) == normalize(text.lower())


@given(_LATIN)
def test_accents_do_not_change_the_normal_form(text: str) -> None:
    assert normalize(text.translate(_PLAIN)) == normalize(text)


@given(_LATIN)
def test_punctuation_and_spacing_do_not_change_the_normal_form(text: str) -> None:
    assert normalize(text.replace(" ", "  ").replace("-", " - ")) == normalize(text)


_CYRILLIC = st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЁЙЩЯ .,-", max_size=40)


@given(_CYRILLIC)
def test_cyrillic_is_kept_and_case_folded(text: str) -> None:
    assert normalize(text.upper()) == normalize(text.lower()) == normalize(text)
    assert all(ch == " " or "а" <= ch <= "я" for ch in normalize(text))


@given(st.text(max_size=80))
def test_every_token_comes_from_the_text_at_its_offsets(text: str) -> None:
    for token in tokenize(text):
        assert 0 <= token.start < token.end <= len(text)
        assert token.text in normalize(text[token.start : token.end]).split()


@given(st.text(max_size=80))
def test_normal_forms_are_folded_words_and_single_spaces(text: str) -> None:
    normal = normalize(text)
    assert normal == " ".join(normal.split())
    assert not any(unicodedata.combining(ch) for ch in normal)
