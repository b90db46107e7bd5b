"""The claim query language: a small boolean language parsed into an AST.

Grammar (precedence NOT > AND > OR; adjacent terms mean AND)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*
    unary   := "NOT" unary | primary
    primary := "(" or_expr ")" | PHRASE | WORD

A WORD may end in ``*`` (prefix wildcard). Words and phrases are folded with
the same normaliser as item text, so a word that folds to several tokens
(``S-300``) becomes a phrase. Errors carry a 1-based column so the config
loader can point at the exact place in claims.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import BotError
from bot.matching.normalize import tokenize

MIN_PREFIX = 3
_OPERATORS = {"AND", "OR", "NOT"}


class QueryError(BotError):
    """A query that cannot be parsed; ``column`` is 1-based."""

    def __init__(self, problem: str, column: int) -> None:
        self.problem = problem
        self.column = column
        super().__init__(f"{problem} at column {column}")


@dataclass(frozen=True, slots=True)
class Part:
    """One position in a phrase: a folded word, or a prefix when ``prefix``."""

    text: str
    prefix: bool = False

    def matches(self, token: str) -> bool:
        return token.startswith(self.text) if self.prefix else token == self.text


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive tokens; a single word is a phrase of one part."""

    parts: tuple[Part, ...]
    source: str


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Phrase | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # "(", ")", "op", "word", "phrase", "end"
    value: str
    column: int


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            lexemes.append(_Lexeme(ch, ch, i + 1))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError("unterminated quote", i + 1)
            lexemes.append(_Lexeme("phrase", query[i + 1 : close], i + 1))
            i = close + 1
        else:
            start = i
            while i < len(query) and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            kind = "op" if word in _OPERATORS else "word"
            lexemes.append(_Lexeme(kind, word, start + 1))
    lexemes.append(_Lexeme("end", "", len(query) + 1))
    return lexemes


def _parts_of(word: str, column: int) -> list[Part]:
    """The parts one query word folds to; a trailing ``*`` makes the last a prefix."""
    wildcard = word.endswith("*")
    body = word[:-1] if wildcard else word
    if "*" in body:
        raise QueryError("wildcard * is only allowed at the end of a word", column)
    tokens = [token.text for token in tokenize(body)]
    if not tokens:
        raise QueryError(f"{word!r} has no letters or digits to match", column)
    parts = [Part(token) for token in tokens]
    if wildcard:
        if len(tokens[-1]) < MIN_PREFIX:
            raise QueryError(f"wildcard needs at least {MIN_PREFIX} letters before *", column)
        parts[-1] = Part(tokens[-1], prefix=True)
    return parts


def _phrase(text: str, column: int) -> Phrase:
    """A word or a quoted phrase; any word in it may end in a ``*`` wildcard."""
    parts: list[Part] = []
    offset = 0
    for word in text.split():
        offset = text.index(word, offset)
        parts.extend(_parts_of(word, column + offset))
        offset += len(word)
    if not parts:
        raise QueryError("empty phrase", column)
    return Phrase(tuple(parts), text.strip())


class _Parser:
    def __init__(self, query: str) -> None:
        self.lexemes = _lex(query)
        self.pos = 0

    def peek(self) -> _Lexeme:
        return self.lexemes[self.pos]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise QueryError("empty query", 1)
        node = self.or_expr()
        extra = self.peek()
        if extra.kind == ")":
            raise QueryError("unbalanced parenthesis", extra.column)
        if extra.kind != "end":  # pragma: no cover - or_expr consumes everything else
            raise QueryError(f"unexpected {extra.value!r}", extra.column)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "op" and self.peek().value == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while True:
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value == "AND":
                self.take()
                children.append(self.unary())
            elif nxt.kind in ("word", "phrase", "(") or (nxt.kind == "op" and nxt.value == "NOT"):
                children.append(self.unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().value == "NOT":
            self.take()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "(":
            if self.peek().kind == ")":
                raise QueryError("empty parentheses", lexeme.column)
            node = self.or_expr()
            close = self.take()
            if close.kind != ")":
                raise QueryError("unbalanced parenthesis", lexeme.column)
            return node
        if lexeme.kind == "word":
            return _phrase(lexeme.value, lexeme.column)
        if lexeme.kind == "phrase":
            return _phrase(lexeme.value, lexeme.column + 1)
        if lexeme.kind == ")":
            raise QueryError("unbalanced parenthesis", lexeme.column)
        if lexeme.kind == "op":
            raise QueryError(f"{lexeme.value} needs a term before and after it", lexeme.column)
        raise QueryError("query ends where a term was expected", lexeme.column)


def _has_positive(node: Node) -> bool:
    if isinstance(node, Phrase):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_has_positive(child) for child in node.children)
    return all(_has_positive(child) for child in node.children)


def parse_query(query: str) -> Node:
    """Parse ``query`` into an AST or raise :class:`QueryError`.

    A query must require at least one term to be present: ``NOT x`` alone would
    alert on nearly every item, which is never what a user means.
    """
    node = _Parser(query).parse()
    if not _has_positive(node):
        raise QueryError("query needs at least one term that must be present", 1)
    return node


def positive_phrases(node: Node) -> list[Phrase]:
    """Phrases whose presence can make the query true (used for prefiltering)."""
    if isinstance(node, Phrase):
        return [node]
    if isinstance(node, Not):
        return []
    phrases: list[Phrase] = []
    for child in node.children:
        phrases.extend(positive_phrases(child))
    return phrases


__all__ = [
    "And",
    "Node",
    "Not",
    "Or",
    "Part",
    "Phrase",
    "QueryError",
    "parse_query",
    "positive_phrases",
]
