"""The query language: what parses, what it means, and where errors point."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.query import And, Not, Or, Part, Phrase, QueryError, parse_query


def words(node: object) -> object:
    """A compact view of an AST for assertions."""
    if isinstance(node, Phrase):
        return " ".join(p.text + ("*" if p.prefix else "") for p in node.parts)
    if isinstance(node, Not):
        return ("NOT", words(node.child))
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
    ],
)
def test_parses_to_the_expected_tree(query: str, expected: object) -> None:
    assert words(parse_query(query)) == expected


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
    ],
)
def test_errors_name_the_problem_and_column(query: str, problem: str, column: int) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.problem == problem
    assert caught.value.column == column
    assert str(caught.value) == f"{problem} at column {column}"


def test_prefix_parts_match_by_prefix_only() -> None:
    assert Part("sanction", prefix=True).matches("sanctions")
    assert not Part("sanction", prefix=True).matches("sanctio")
    assert not Part("sanction").matches("sanctions")


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_query_error(text: str) -> None:
    try:
        parse_query(text)
    except QueryError as exc:
        assert 1 <= exc.column <= len(text) + 1


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzáéñ", min_size=1, max_size=8)


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(_WORD)
    left = draw(queries(depth + 1))
    right = draw(queries(depth + 1))
    op = draw(st.sampled_from([" AND ", " OR ", " "]))
    return f"({left}{op}{right})"


@given(queries())
def test_generated_queries_parse(query: str) -> None:
    parse_query(query)
