"""The query language: what parses, what it means, and where errors point."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    Part,
    Phrase,
    QueryError,
    Scope,
    expand_aliases,
    format_query,
    parse_query,
    parse_term,
)

ALIASES: dict[str, Node] = {
    "russia": parse_query('Russia* OR Moscow OR Kremlin OR Росси* OR "Vladimir Putin"'),
    "cuba": parse_query("Cuba* OR Havana OR Habana"),
}


def words(node: object) -> object:
    """A compact view of an AST for assertions."""
    if isinstance(node, Phrase):
        return " ".join(p.text + ("*" if p.prefix else "") for p in node.parts)
    if isinstance(node, Not):
        return ("NOT", words(node.child))
    if isinstance(node, Scope):
        return (f"{node.name}:", words(node.child))
    if isinstance(node, Near):
        view: list[object] = ["NEAR", words(node.operands[0])]
        for link, operand in zip(node.links, node.operands[1:], strict=True):
            view += [str(link), words(operand)]
        return tuple(view)
    if isinstance(node, And):
        return ("AND", *(words(c) for c in node.children))
    assert isinstance(node, Or)
    return ("OR", *(words(c) for c in node.children))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("russia", "russia"),
        ("Russia Venezuela", ("AND", "russia", "venezuela")),
        ("a OR b c", ("OR", "a", ("AND", "b", "c"))),
        ("(a OR b) c", ("AND", ("OR", "a", "b"), "c")),
        ("a AND NOT b", ("AND", "a", ("NOT", "b"))),
        ("a NOT b", ("AND", "a", ("NOT", "b"))),
        ('"air defence" OR S-300', ("OR", "air defence", "s 300")),
        ("sanction*", "sanction*"),
        ('"бумажн* тигр*"', "бумажн* тигр*"),
        ("Buk-M2", "buk m 2"),
        ("Rodríguez", "rodriguez"),
        ("a and b", ("AND", "a", "and", "b")),  # lowercase operators are words
        # Proximity binds tighter than NOT, AND and OR.
        ("x a NEAR/3 b", ("AND", "x", ("NEAR", "a", "NEAR/3", "b"))),
        ("a OR b ONEAR/2 c", ("OR", "a", ("NEAR", "b", "ONEAR/2", "c"))),
        ("NOT a NEAR/2 b c", ("AND", ("NOT", ("NEAR", "a", "NEAR/2", "b")), "c")),
        ("a NEAR/3 b ONEAR/5 c", ("NEAR", "a", "NEAR/3", "b", "ONEAR/5", "c")),
        ("a NEAR/007 b", ("NEAR", "a", "NEAR/7", "b")),
        (
            '"air defen*" NEAR/5 (fail* OR falla*)',
            ("NEAR", "air defen*", "NEAR/5", ("OR", "fail*", "falla*")),
        ),
        ("(a NEAR/2 b) NEAR/5 c", ("NEAR", ("NEAR", "a", "NEAR/2", "b"), "NEAR/5", "c")),
        ("S-300 NEAR/1 Венесуэл*", ("NEAR", "s 300", "NEAR/1", "венесуэл*")),
        ("NEARBY nearly", ("AND", "nearby", "nearly")),
        # Field scopes bind to the one term or group after the colon.
        ("title:russia", ("title:", "russia")),
        ('title:"air defence"', ("title:", "air defence")),
        ("title:(a OR b) c", ("AND", ("title:", ("OR", "a", "b")), "c")),
        ("Title:x body:yyy*", ("AND", ("title:", "x"), ("body:", "yyy*"))),
        ("title:a NEAR/3 b", ("NEAR", ("title:", "a"), "NEAR/3", "b")),
        ("title:(NOT a) b", ("AND", ("title:", ("NOT", "a")), "b")),
        ("10:30", "10 30"),  # not a field: fields start with a letter
        ('"title:x"', "title x"),  # nor inside quotes
    ],
)
def test_parses_to_the_expected_tree(query: str, expected: object) -> None:
    assert words(parse_query(query)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("@cuba", ("OR", "cuba*", "havana", "habana")),
        (
            "@russia NEAR/5 fail*",
            (
                "NEAR",
                ("OR", "russia*", "moscow", "kremlin", "росси*", "vladimir putin"),
                "NEAR/5",
                "fail*",
            ),
        ),
        ("title:@cuba", ("title:", ("OR", "cuba*", "havana", "habana"))),
        ('"@cuba"', "cuba"),  # quoted: a word, not an alias
    ],
)
def test_aliases_stand_for_their_term_sets(query: str, expected: object) -> None:
    assert words(parse_query(query, ALIASES)) == expected


_NOT_ALIAS = "is not an alias: use @ and lowercase letters, digits, - or _"


@pytest.mark.parametrize(
    ("query", "problem", "column"),
    [
        ("(a OR b", "unbalanced parenthesis", 1),
        ("a OR b)", "unbalanced parenthesis", 7),
        ("x AND (a OR b", "unbalanced parenthesis", 7),
        ('a "open phrase', "unterminated quote", 3),
        ("a AND", "query ends where a term was expected", 6),
        ("a OR OR b", "OR needs a term before and after it", 6),
        ("NOT a", "query needs at least one term that must be present", 1),
        ("a OR NOT b", "query needs at least one term that must be present", 1),
        ("ab*", "wildcard needs at least 3 letters before *", 1),
        ("a*b", "wildcard * is only allowed at the end of a word", 1),
        ("()", "empty parentheses", 1),
        ("", "empty query", 1),
        ("x ---", "'---' has no letters or digits to match", 3),
        # proximity
        ("a NEAR b", "NEAR needs a distance: NEAR/n with n from 1 to 100", 3),
        ("a ONEAR b", "ONEAR needs a distance: ONEAR/n with n from 1 to 100", 3),
        ("a NEAR/0 b", "NEAR/0: the distance must be a whole number from 1 to 100", 3),
        ("a  NEAR/101 b", "NEAR/101: the distance must be a whole number from 1 to 100", 4),
        ("a ONEAR/x b", "ONEAR/x: the distance must be a whole number from 1 to 100", 3),
        ("a NEAR/ b", "NEAR/: the distance must be a whole number from 1 to 100", 3),
        ("a near/3 b", "write proximity operators in capitals: NEAR/3", 3),
        ("a Onear/3 b", "write proximity operators in capitals: ONEAR/3", 3),
        ("NEAR/3 b", "NEAR/3 needs a term before and after it", 1),
        ("a NEAR/3", "query ends where a term was expected", 9),
        ("a NEAR/3 ONEAR/2 b", "ONEAR/2 needs a term before and after it", 10),
        ("a NEAR/3 NOT b", "NOT cannot be an operand of NEAR/3", 10),
        ("(NOT a) NEAR/2 b", "each side of NEAR/2 needs a term that must be present", 1),
        ("x b ONEAR/2 (NOT a)", "each side of ONEAR/2 needs a term that must be present", 13),
        ("a NEAR/2 (b NEAR/2 c", "unbalanced parenthesis", 10),
        # fields
        ("author:smith", "unknown field author:; allowed fields: title:, body:", 1),
        ("x https://example.com", "unknown field https:; allowed fields: title:, body:", 3),
        ("x title: y", "title: needs a term right after the colon", 3),
        ("x title:", "title: needs a term right after the colon", 3),
        ("(title:) x", "title: needs a term right after the colon", 2),
        ("title:NOT x", "title: takes a term or a group: write title:(NOT ...)", 7),
        ("title:(NOT a)", "query needs at least one term that must be present", 1),
        ("title:OR", "OR needs a term before and after it", 7),
        # aliases
        ("x @nope", "unknown alias @nope; no aliases are defined", 3),
        ("@Russia", f"'@Russia' {_NOT_ALIAS}", 1),
        ("a @russia*", f"'@russia*' {_NOT_ALIAS}", 3),
        ("a @", f"'@' {_NOT_ALIAS}", 3),
    ],
)
def test_errors_name_the_problem_and_column(query: str, problem: str, column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.problem == problem
    assert caught.value.column == column
    assert str(caught.value) == f"{problem} at column {column}"


def test_unknown_alias_lists_the_defined_ones() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("fail* AND (@rusia OR x)", ALIASES)
    assert str(caught.value) == "unknown alias @rusia; defined: @cuba, @russia at column 12"


def test_prefix_parts_match_by_prefix_only() -> None:
    assert Part("sanction", prefix=True).matches("sanctions")
    assert not Part("sanction", prefix=True).matches("sanctio")
    assert not Part("sanction").matches("sanctions")


def test_stemming_applies_to_plain_words_only() -> None:
    node = parse_query('fails "fails" fail* @cuba', ALIASES, stem="en")
    assert isinstance(node, And)
    plain, quoted, wildcard, alias = node.children
    assert plain == Phrase((Part("fail", stem="english"),))
    assert quoted == Phrase((Part("fails"),))
    assert wildcard == Phrase((Part("fail", prefix=True),))
    assert alias == ALIASES["cuba"]
    assert parse_query("fails", stem="english") == parse_query("failing", stem="en")
    assert parse_query("S-300", stem="en") == Phrase(
        (Part("s", stem="english"), Part("300", stem="english"))
    )


def test_stemming_follows_the_language() -> None:
    assert parse_query("fallaron", stem="es") == parse_query("fallar", stem="spanish")
    assert parse_query("системы", stem="ru") == parse_query("система", stem="ru")
    with pytest.raises(ValueError, match="unknown stemming language 'xx'"):
        parse_query("x", stem="xx")


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Russia*", "russia*"),
        ("Vladimir Putin", "vladimir putin"),  # YAML ate the quotes of ["Vladimir Putin"]
        ('"Vladimir Putin"', "vladimir putin"),
        ("  U.S. ", "u s"),
        ("Росси*", "росси*"),
        ("@cuba", ("OR", "cuba*", "havana", "habana")),
    ],
)
def test_a_term_is_a_word_wildcard_phrase_or_alias(term: str, expected: object) -> None:
    assert words(parse_term(term, ALIASES)) == expected


@pytest.mark.parametrize(
    ("term", "column"),
    [("a OR b", 3), ("(a b)", 1), ("title:x", 1), ('a "b c"', 3), ("a NEAR/2 b", 3)],
)
def test_a_term_with_operators_needs_a_query_string(term: str, column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_term(term)
    assert caught.value.problem.startswith("a list item is one word, wildcard or phrase")
    assert caught.value.column == column


def test_empty_term_and_unknown_alias_term() -> None:
    with pytest.raises(QueryError, match="empty term at column 1"):
        parse_term("  ")
    with pytest.raises(QueryError, match="unknown alias @x; defined: @cuba, @russia at column 2"):
        parse_term(" @x", ALIASES)


def test_expanded_aliases_parse_alone_to_the_same_tree() -> None:
    query = 'title:@russia NEAR/5 fails AND NOT "@cuba" @cuba'
    expanded = expand_aliases(query, ALIASES)
    assert "@" not in expanded.replace('"@cuba"', "")
    assert parse_query(expanded, stem="en") == parse_query(query, ALIASES, stem="en")
    assert expand_aliases("no aliases here", ALIASES) == "no aliases here"


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_query_error(text: str) -> None:
    try:
        parse_query(text, ALIASES)
    except QueryError as exc:
        assert 1 <= exc.column <= len(text) + 1


_PIECES = st.sampled_from(
    [
        "AND", "OR", "NOT", "NEAR/3", "ONEAR/1", "NEAR", "NEAR/0", "near/2", "title:", "body:",
        "head:", "@russia", "@cuba", "@nope", "@", "(", ")", '"', "*", "a", "ccc*", "S-300",
        "Россия", "ab*", ":", "/", "-", "title:(", 'title:"',
    ]
)


@given(st.lists(st.tuples(_PIECES, st.sampled_from(["", " ", "  "])), max_size=12))
def test_operator_soup_either_parses_or_raises_query_error(pieces: list[tuple[str, str]]) -> None:
    text = "".join(piece + gap for piece, gap in pieces)
    try:
        node = parse_query(text, ALIASES)
    except QueryError as exc:
        assert 1 <= exc.column <= len(text) + 1
    else:
        assert parse_query(format_query(node)) == node


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéñ", min_size=1, max_size=8)
_TERM = st.one_of(
    _WORD,
    _WORD.map(lambda w: f'"{w} {w[::-1]}"'),
    st.text(alphabet="abcdefgh", min_size=3, max_size=6).map(lambda w: w + "*"),
    st.sampled_from(["@russia", "@cuba"]),
)


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        term = draw(_TERM)
        field = draw(st.sampled_from(["", "", "title:", "body:"]))
        return field + term
    left = draw(queries(depth + 1))
    right = draw(queries(depth + 1))
    distance = draw(st.integers(min_value=1, max_value=100))
    op = draw(
        st.sampled_from([" AND ", " OR ", " ", f" NEAR/{distance} ", f" ONEAR/{distance} "])
    )
    scope = draw(st.sampled_from(["", "", "title:"]))
    return f"{scope}({left}{op}{right})"


@given(queries())
def test_generated_queries_parse(query: str) -> None:
    parse_query(query, ALIASES)


@given(queries(), st.sampled_from([None, "en", "es", "ru"]))
def test_formatting_and_alias_expansion_round_trip(query: str, stem: str | None) -> None:
    node = parse_query(query, ALIASES)
    assert parse_query(format_query(node)) == node
    assert parse_query(expand_aliases(query, ALIASES), stem=stem) == parse_query(
        query, ALIASES, stem=stem
    )
