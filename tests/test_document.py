"""The evaluator over real sentences: proximity, field scopes, stems and their evidence."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.items import Item
from bot.matching.document import Document, evaluate, evaluate_tokens
from bot.matching.query import Phrase, parse_query


def found(query: str, text: str, title_length: int = 0, stem: str | None = None) -> list[str]:
    """The evidence of ``query`` in ``text`` as the words it covers, or [] when it fails."""
    doc = Document(text, title_length)
    held, spans = evaluate(parse_query(query, stem=stem), doc)
    assert held == bool(spans)
    return [text[start:end] for start, end in sorted(set(spans))]


EN = "Officials in Caracas say the Russian S-300 batteries failed, and the Buk-M2 failed too."
ES = "Las defensas antiaéreas rusas fallaron en Caracas, según fuentes del gobierno venezolano."
RU = "Российские зенитные комплексы не смогли защитить Каракас, признали в Минобороны."


def test_phrases_are_found_as_token_spans_and_character_spans() -> None:
    doc = Document(EN)
    phrase = parse_query("S-300")
    assert isinstance(phrase, Phrase)
    assert doc.find_tokens(phrase) == [(6, 8)]  # officials in caracas say the russian [s 300]
    start = EN.index("S-300")
    assert doc.find(phrase) == [(start, start + 5)]
    assert doc.char_span((6, 8)) == (start, start + 5)


@pytest.mark.parametrize(
    ("query", "text", "evidence"),
    [
        ("S-300 NEAR/2 fail*", EN, ["S-300", "failed"]),
        ("S-300 ONEAR/2 fail*", EN, ["S-300", "failed"]),
        ("fail* ONEAR/2 S-300", EN, []),  # "failed" comes after S-300
        ("fail* NEAR/2 S-300", EN, ["S-300", "failed"]),
        ('"Buk M2" NEAR/1 failed', EN, ["Buk-M2", "failed"]),  # not the first "failed"
        ("Caracas NEAR/3 fail*", EN, []),
        ("(Russia* OR Caracas) NEAR/4 batter*", EN, ["Russian", "batteries"]),
        ('"S 300 batteries" ONEAR/1 failed', EN, ["S-300 batteries", "failed"]),
        ("(rusa* OR ruso*) NEAR/3 falla*", ES, ["rusas", "fallaron"]),
        ("antiaere* ONEAR/1 rusas", ES, ["antiaéreas", "rusas"]),
        ("rusas ONEAR/1 antiaere*", ES, []),
        ("falla* NEAR/2 Caracas", ES, ["fallaron", "Caracas"]),
        ('зенитн* ONEAR/2 "не смогл*"', RU, ["зенитные", "не смогли"]),
        ('"не смогл*" NEAR/2 Каракас*', RU, ["не смогли", "Каракас"]),
        ("Российск* NEAR/1 комплексы", RU, ["Российские", "комплексы"]),
        ("Российск* ONEAR/1 Каракас", RU, []),
    ],
)
def test_proximity_on_real_sentences(query: str, text: str, evidence: list[str]) -> None:
    assert found(query, text) == evidence


@pytest.mark.parametrize(
    ("text", "near1", "near2"),
    [
        ("a b", True, True),
        ("a x b", True, True),
        ("a x y b", False, True),
        ("b x a", True, True),
        ("a, - b!", True, True),  # punctuation is not a word
        ("a x-y b", False, True),  # but a hyphenated word is two
        ("a", False, False),
    ],
)
def test_distance_counts_the_words_between(text: str, near1: bool, near2: bool) -> None:
    assert bool(found("a NEAR/1 b", text)) is near1
    assert bool(found("a NEAR/2 b", text)) is near2


def test_a_phrase_counts_from_its_edge() -> None:
    assert found('"a b" NEAR/1 c', "a b x c") == ["a b", "c"]
    assert found('"a b" NEAR/1 c', "c x a b") == ["c", "a b"]
    assert found('"a b" NEAR/1 c', "a b x y c") == []


def test_overlapping_occurrences_are_not_near() -> None:
    assert found("russia* NEAR/5 russia", "Russia") == []
    assert found("(a OR b) NEAR/1 (b OR c)", "b") == []
    assert found("(a OR b) NEAR/1 (b OR c)", "b x c") == ["b", "c"]
    assert found("a NEAR/1 a", "a a") == ["a", "a"]


def test_evidence_is_only_the_occurrences_that_satisfied_the_proximity() -> None:
    text = "Russia denied it. Much later, far away, a report said the Kremlin failed."
    assert found("(Russia OR Kremlin) NEAR/2 failed", text) == ["Kremlin", "failed"]
    assert found("Russia AND failed", text) == ["Russia", "failed"]


def test_a_group_operand_must_hold() -> None:
    assert found("(a AND b) NEAR/1 c", "a c") == []
    assert found("(a AND b) NEAR/1 c", "a c x x x b") == ["a", "c"]
    assert found("(a NOT b) NEAR/1 c", "a c b") == []


def test_a_chain_links_each_pair_through_the_same_middle() -> None:
    text = "a b x x x x b c"
    assert found("a NEAR/1 b NEAR/1 c", text) == []
    assert found("a NEAR/1 b AND b NEAR/1 c", text) == ["a", "b", "b", "c"]
    assert found("a NEAR/1 b NEAR/1 c", "a x b c") == ["a", "b", "c"]
    assert found("a ONEAR/1 b ONEAR/1 c", "c b a") == []
    assert found("a NEAR/1 b ONEAR/1 c", "b a c") == ["b", "a", "c"]
    assert found("a NEAR/1 b ONEAR/1 c", "c b a") == []
    assert found("a NEAR/2 b ONEAR/1 c", "b x a c") == []
    assert found("a NEAR/1 b ONEAR/2 c", "a b x c b") == ["a", "b", "c"]


def test_nested_proximity_uses_the_inner_match() -> None:
    assert found("(a NEAR/1 b) NEAR/1 c", "a b c") == ["a", "b", "c"]
    assert found("(a NEAR/1 b) NEAR/1 c", "c x x a b") == []
    assert found("(a NEAR/1 b) NEAR/2 c", "c x a b") == ["c", "a", "b"]


def test_negated_proximity() -> None:
    assert found("Caracas NOT (S-300 NEAR/1 fail*)", EN) == []
    assert found("Caracas NOT (S-300 NEAR/1 worked)", EN) == ["Caracas"]


TITLE = "Caracas: Russian air defences failed"
BODY = "Officials blame Moscow. Russia denies it."


def scoped(query: str) -> list[str]:
    return found(query, f"{TITLE}\n{BODY}", len(TITLE))


def test_title_and_body_scopes() -> None:
    assert scoped("title:Russia*") == ["Russian"]
    assert scoped("body:Russia*") == ["Russia"]
    assert scoped("Russia*") == ["Russian", "Russia"]
    assert scoped("title:Moscow") == []
    assert scoped('title:"air defences"') == ["air defences"]
    assert scoped("title:(Moscow OR Caracas)") == ["Caracas"]
    assert scoped("title:(Russia* NOT Moscow)") == ["Russian"]  # Moscow is only in the body
    assert scoped("title:(Russia* NEAR/5 Moscow)") == []
    assert scoped("Russia* NEAR/5 Moscow") == ["Russian", "Moscow", "Russia"]
    assert scoped("Russia* NEAR/4 Moscow") == ["Moscow", "Russia"]
    assert scoped("title:Caracas NEAR/5 body:Moscow") == []
    assert scoped("title:Caracas NEAR/6 body:Officials") == ["Caracas", "Officials"]
    assert scoped("title:body:Russia*") == []


def test_document_of_an_item_knows_its_title() -> None:
    doc = Document.of(Item(identity="1", title=TITLE, summary=BODY))
    held, spans = evaluate(parse_query("title:failed body:denies"), doc)
    assert held and [doc.text[a:b] for a, b in spans] == ["failed", "denies"]
    untitled = Document.of(Item(identity="2", title="", summary=BODY))
    assert evaluate(parse_query("title:Moscow"), untitled) == (False, [])
    assert evaluate(parse_query("body:Moscow"), untitled)[0]


def test_stemmed_words_match_other_forms() -> None:
    text = "The radar was failing, and both batteries failed."
    assert found("fails", text, stem="en") == ["failing", "failed"]
    assert found("fails", text) == []
    assert found('"fails"', text, stem="en") == []  # quoted stays exact
    assert found("battery NEAR/1 fails", text, stem="en") == ["batteries", "failed"]
    assert found("fallar", ES, stem="es") == ["fallaron"]
    assert found("defensa rusa", ES, stem="es") == ["defensas", "rusas"]
    assert found("Каракаса", RU, stem="ru") == ["Каракас"]
    assert found("комплекс", RU, stem="ru") == ["комплексы"]


def test_stems_are_computed_once_per_language_and_only_when_asked() -> None:
    doc = Document("Failed failing fails")
    evaluate(parse_query("failed"), doc)
    forms, where = doc.stems("english")
    assert forms == ["fail", "fail", "fail"] and where == {"fail": [0, 1, 2]}
    assert doc.stems("english") is doc.stems("english")
    assert doc.stems("spanish") is not doc.stems("english")


def test_evaluate_tokens_gives_token_spans() -> None:
    doc = Document("a b x c")
    assert evaluate_tokens(parse_query('"a b" NEAR/1 c'), doc) == (True, [(0, 2), (3, 4)])


# Properties. Texts are short runs of a small vocabulary so that NEAR both holds and fails.
_VOCAB = ["a", "b", "c", "x"]
_TEXTS = st.lists(st.sampled_from(_VOCAB), max_size=14).map(" ".join)
_OPERANDS = st.sampled_from(["a", "b", "c", '"a b"', "(a OR c)", "(b NEAR/1 c)"])
_N = st.integers(min_value=1, max_value=6)


def run(query: str, text: str) -> tuple[bool, set[tuple[int, int]]]:
    held, spans = evaluate(parse_query(query), Document(text))
    return held, set(spans)


@given(_TEXTS, _OPERANDS, _OPERANDS, _N)
def test_near_is_symmetric(text: str, left: str, right: str, n: int) -> None:
    assert run(f"{left} NEAR/{n} {right}", text) == run(f"{right} NEAR/{n} {left}", text)


@given(_TEXTS, _OPERANDS, _OPERANDS, _N)
def test_ordered_near_implies_near(text: str, left: str, right: str, n: int) -> None:
    if run(f"{left} ONEAR/{n} {right}", text)[0]:
        assert run(f"{left} NEAR/{n} {right}", text)[0]


@given(_TEXTS, _OPERANDS, _OPERANDS, _N, st.sampled_from(["NEAR", "ONEAR"]))
def test_a_larger_distance_never_loses_a_match(
    text: str, left: str, right: str, n: int, op: str
) -> None:
    if run(f"{left} {op}/{n} {right}", text)[0]:
        assert run(f"{left} {op}/{n + 1} {right}", text)[0]


def _naive_chain(words: list[str], chain: list[str], n: int, ordered: bool) -> set[int]:
    """Positions on a complete chain of single words, by brute force."""
    def linked(i: int, j: int) -> bool:
        return (i < j or not ordered and j < i) and abs(i - j) - 1 <= n

    paths = [[i] for i, w in enumerate(words) if w == chain[0]]
    for word in chain[1:]:
        ends = [j for j, w in enumerate(words) if w == word]
        paths = [p + [j] for p in paths for j in ends if linked(p[-1], j)]
    return {i for p in paths for i in p}


@given(
    st.lists(st.sampled_from(_VOCAB), max_size=14),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=3),
    _N,
    st.booleans(),
)
def test_proximity_agrees_with_brute_force(
    words: list[str], chain: list[str], n: int, ordered: bool
) -> None:
    op = f" {'ONEAR' if ordered else 'NEAR'}/{n} "
    held, spans = evaluate_tokens(parse_query(op.join(chain)), Document(" ".join(words)))
    expected = _naive_chain(words, chain, n, ordered)
    assert held == bool(expected)
    assert {start for start, _ in spans} == expected


_SPANISH = ["Rodríguez", "acepta", "cooperación", "Rusia", "Habana", "rompe", "con", "EE.UU."]
_SEPARATORS = st.sampled_from([" ", "  ", ", ", " - ", "; ", " (", ") ", "… ", "\n"])


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@given(
    st.lists(st.sampled_from(_SPANISH), max_size=10),
    st.lists(_SEPARATORS, min_size=10, max_size=10),
    st.sampled_from([str.upper, str.lower, str.title, _strip_accents, str]),
    st.sampled_from(
        [
            "Rodriguez NEAR/2 cooperacion",
            "cooperación ONEAR/3 (Rusia OR Habana)",
            '"rompe con" NEAR/1 (Rusia OR "EE UU")',
            "acept* ONEAR/1 cooperacion ONEAR/4 Rusia",
        ]
    ),
    _N,
)
def test_case_accents_and_punctuation_never_change_a_near_match(
    words: list[str], separators: list[str], variant: object, query: str, n: int
) -> None:
    plain = " ".join(words)
    styled = "".join(variant(w) + sep for w, sep in zip(words, separators, strict=False))  # type: ignore[operator]
    assert run(query, plain)[0] == run(query, styled)[0]
