"""The claim query language: a small boolean language parsed into an AST.

Grammar, loosest binding first::

    query     := or_expr
    or_expr   := and_expr ("OR" and_expr)*
    and_expr  := unary (["AND"] unary)*              adjacent terms mean AND
    unary     := "NOT" unary | near_expr
    near_expr := primary (("NEAR/n" | "ONEAR/n") primary)*
    primary   := "(" or_expr ")" | FIELD ":" primary | "@" ALIAS | PHRASE | WORD

So ``x a NEAR/3 b`` is ``x AND (a NEAR/3 b)`` and ``NOT a NEAR/3 b`` is
``NOT (a NEAR/3 b)``. A chain ``a NEAR/3 b ONEAR/5 c`` is one :class:`Near`
whose neighbouring operands must each satisfy their link through the *same*
occurrence of the middle operand (``document.py`` defines the distance).
Operators are uppercase only; ``near/5`` in lowercase is an error rather than
two search words, because it is always a typo.

A WORD may end in ``*`` (prefix wildcard). Words and phrases are folded with
the same normaliser as item text, so a word that folds to several tokens
(``S-300``) becomes a phrase. With ``stem=`` plain words are matched by their
Snowball stem; quoted phrases, wildcards and alias terms stay exact. ``@name``
is replaced by the term set the caller defines under that name. Errors carry a
1-based column so the config loader can point at the exact place in
claims.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import BotError
from bot.matching.normalize import tokenize
from bot.matching.stemming import resolve_language, stem_words

MIN_PREFIX = 3
MAX_DISTANCE = 100
FIELDS = ("title", "body")
ALIAS_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_OPERATORS = {"AND", "OR", "NOT"}
_PROXIMITY = re.compile(r"(O?NEAR)(?:/(.*))?", re.S)
_LOWERCASE_PROXIMITY = re.compile(r"o?near/[0-9]+", re.I)
_DISTANCE = re.compile(r"[0-9]{1,4}")
_FIELD = re.compile(r"([^\W\d_]\w*):")
_TERM_STARTS = ("word", "phrase", "(", "field", "alias")


class QueryError(BotError):
    """A query that cannot be parsed; ``column`` is 1-based."""

    def __init__(self, problem: str, column: int) -> None:
        self.problem = problem
        self.column = column
        super().__init__(f"{problem} at column {column}")


@dataclass(frozen=True, slots=True)
class Part:
    """One position in a phrase: a folded word, a prefix when ``prefix``, or a
    Snowball stem (of algorithm ``stem``) compared with the tokens' stems."""

    text: str
    prefix: bool = False
    stem: str | None = None

    def matches(self, token: str) -> bool:
        """Whether ``token``, in this part's form (its stem when ``stem``), matches."""
        return token.startswith(self.text) if self.prefix else token == self.text


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive tokens; a single word is a phrase of one part."""

    parts: tuple[Part, ...]
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Proximity:
    """At most ``distance`` tokens between two operands; left one first when ``ordered``."""

    distance: int
    ordered: bool = False

    def __str__(self) -> str:
        return f"{'ONEAR' if self.ordered else 'NEAR'}/{self.distance}"


@dataclass(frozen=True, slots=True)
class Near:
    """``operands[i]`` and ``operands[i + 1]`` must lie as ``links[i]`` says."""

    operands: tuple[Node, ...]
    links: tuple[Proximity, ...]


@dataclass(frozen=True, slots=True)
class Scope:
    """``child`` evaluated on one field of the item only (``title`` or ``body``)."""

    name: str
    child: Node


Node = Phrase | And | Or | Not | Near | Scope


@dataclass(frozen=True, slots=True)
class _Lexeme:
    kind: str  # "(", ")", "op", "near", "word", "phrase", "field", "alias", "end"
    value: str
    column: int
    width: int = 0
    link: Proximity | None = None


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            lexemes.append(_Lexeme(ch, ch, i + 1, 1))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QueryError("unterminated quote", i + 1)
            lexemes.append(_Lexeme("phrase", query[i + 1 : close], i + 1, close + 1 - i))
            i = close + 1
        else:
            start = i
            while i < len(query) and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            scope = _FIELD.match(word)
            if scope:
                # The field applies to what follows the colon, lexed on its own.
                i = start + scope.end()
                lexemes.append(_field_lexeme(scope.group(1), start + 1, query[i : i + 1]))
            else:
                lexemes.append(_word_lexeme(word, start + 1))
    lexemes.append(_Lexeme("end", "", len(query) + 1))
    return lexemes


def _field_lexeme(name: str, column: int, following: str) -> _Lexeme:
    name = name.lower()
    if name not in FIELDS:
        allowed = ", ".join(f"{f}:" for f in FIELDS)
        raise QueryError(f"unknown field {name}:; allowed fields: {allowed}", column)
    if not following or following.isspace() or following == ")":
        raise QueryError(f"{name}: needs a term right after the colon", column)
    return _Lexeme("field", name, column, len(name) + 1)


def _word_lexeme(word: str, column: int) -> _Lexeme:
    if word in _OPERATORS:
        return _Lexeme("op", word, column, len(word))
    proximity = _PROXIMITY.fullmatch(word)
    if proximity:
        name, distance = proximity.groups()
        if distance is None:
            raise QueryError(
                f"{name} needs a distance: {name}/n with n from 1 to {MAX_DISTANCE}", column
            )
        if not _DISTANCE.fullmatch(distance) or not 1 <= int(distance) <= MAX_DISTANCE:
            raise QueryError(
                f"{word}: the distance must be a whole number from 1 to {MAX_DISTANCE}", column
            )
        link = Proximity(int(distance), ordered=name == "ONEAR")
        return _Lexeme("near", word, column, len(word), link)
    if _LOWERCASE_PROXIMITY.fullmatch(word):
        raise QueryError(f"write proximity operators in capitals: {word.upper()}", column)
    if word.startswith("@"):
        if not ALIAS_NAME.fullmatch(word[1:]):
            raise QueryError(
                f"{word!r} is not an alias: use @ and lowercase letters, digits, - or _", column
            )
        return _Lexeme("alias", word[1:], column, len(word))
    return _Lexeme("word", word, column, len(word))


def _parts_of(word: str, column: int, stem: str | None) -> list[Part]:
    """The parts one query word folds to; a trailing ``*`` makes the last a prefix."""
    wildcard = word.endswith("*")
    body = word[:-1] if wildcard else word
    if "*" in body:
        raise QueryError("wildcard * is only allowed at the end of a word", column)
    tokens = [token.text for token in tokenize(body)]
    if not tokens:
        raise QueryError(f"{word!r} has no letters or digits to match", column)
    if wildcard:
        if len(tokens[-1]) < MIN_PREFIX:
            raise QueryError(f"wildcard needs at least {MIN_PREFIX} letters before *", column)
        return [*(Part(token) for token in tokens[:-1]), Part(tokens[-1], prefix=True)]
    if stem is None:
        return [Part(token) for token in tokens]
    return [Part(stemmed, stem=stem) for stemmed in stem_words(stem, tokens)]


def _phrase(text: str, column: int, stem: str | None = None) -> Phrase:
    """A word or a quoted phrase; any word in it may end in a ``*`` wildcard."""
    parts: list[Part] = []
    offset = 0
    for word in text.split():
        offset = text.index(word, offset)
        parts.extend(_parts_of(word, column + offset, stem))
        offset += len(word)
    if not parts:
        raise QueryError("empty phrase", column)
    return Phrase(tuple(parts), text.strip())


def _resolve_alias(name: str, column: int, aliases: Mapping[str, Node]) -> Node:
    node = aliases.get(name)
    if node is None:
        defined = ", ".join(f"@{known}" for known in sorted(aliases))
        known = f"defined: {defined}" if defined else "no aliases are defined"
        raise QueryError(f"unknown alias @{name}; {known}", column)
    return node


class _Parser:
    def __init__(self, query: str, aliases: Mapping[str, Node], stem: str | None) -> None:
        self.lexemes = _lex(query)
        self.pos = 0
        self.aliases = aliases
        self.stem = stem

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
            elif nxt.kind in _TERM_STARTS or (nxt.kind == "op" and nxt.value == "NOT"):
                children.append(self.unary())
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().value == "NOT":
            self.take()
            return Not(self.unary())
        return self.near_expr()

    def near_expr(self) -> Node:
        columns = [self.peek().column]
        operands = [self.primary()]
        operators: list[_Lexeme] = []
        while self.peek().kind == "near":
            operators.append(self.take())
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value == "NOT":
                raise QueryError(f"NOT cannot be an operand of {operators[-1].value}", nxt.column)
            columns.append(nxt.column)
            operands.append(self.primary())
        if not operators:
            return operands[0]
        for index, (operand, column) in enumerate(zip(operands, columns, strict=True)):
            if not _has_positive(operand):
                operator = operators[max(index - 1, 0)].value
                problem = f"each side of {operator} needs a term that must be present"
                raise QueryError(problem, column)
        links = tuple(op.link for op in operators if op.link is not None)
        return Near(tuple(operands), links)

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
            return _phrase(lexeme.value, lexeme.column, self.stem)
        if lexeme.kind == "phrase":
            return _phrase(lexeme.value, lexeme.column + 1)
        if lexeme.kind == "field":
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value == "NOT":
                problem = f"{lexeme.value}: takes a term or a group: write {lexeme.value}:(NOT ...)"
                raise QueryError(problem, nxt.column)
            return Scope(lexeme.value, self.primary())
        if lexeme.kind == "alias":
            return _resolve_alias(lexeme.value, lexeme.column, self.aliases)
        if lexeme.kind == ")":
            raise QueryError("unbalanced parenthesis", lexeme.column)
        if lexeme.kind in ("op", "near"):
            raise QueryError(f"{lexeme.value} needs a term before and after it", lexeme.column)
        raise QueryError("query ends where a term was expected", lexeme.column)


def _has_positive(node: Node) -> bool:
    if isinstance(node, Phrase):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, Scope):
        return _has_positive(node.child)
    if isinstance(node, And):
        return any(_has_positive(child) for child in node.children)
    if isinstance(node, Near):
        return all(_has_positive(child) for child in node.operands)
    return all(_has_positive(child) for child in node.children)


def parse_query(
    query: str, aliases: Mapping[str, Node] | None = None, *, stem: str | None = None
) -> Node:
    """Parse ``query`` into an AST or raise :class:`QueryError`.

    ``aliases`` maps a name to the node ``@name`` stands for (inserted as is, so
    alias terms are never stemmed); ``stem`` is a language code or Snowball
    algorithm name (an unknown one raises :class:`ValueError`).

    A query must require at least one term to be present: ``NOT x`` alone would
    alert on nearly every item, which is never what a user means.
    """
    algorithm = resolve_language(stem) if stem else None
    node = _Parser(query, aliases or {}, algorithm).parse()
    if not _has_positive(node):
        raise QueryError("query needs at least one term that must be present", 1)
    return node


def parse_term(term: str, aliases: Mapping[str, Node] | None = None) -> Node:
    """One member of a term set (an item of an ``aliases:`` list).

    A word, a wildcard, ``@another`` alias, or a phrase: several words are a
    phrase whether quoted or not, because YAML eats the quotes of
    ``["Vladimir Putin"]``. Operators, fields and groups need a query string.
    """
    lexemes = _lex(term)[:-1]
    if not lexemes:
        raise QueryError("empty term", 1)
    first = lexemes[0]
    if len(lexemes) == 1 and first.kind == "alias":
        return _resolve_alias(first.value, first.column, aliases or {})
    if len(lexemes) == 1 and first.kind == "phrase":
        return _phrase(first.value, first.column + 1)
    for lexeme in lexemes:
        if lexeme.kind != "word":
            raise QueryError(
                "a list item is one word, wildcard or phrase;"
                " write a query string to use operators, fields or groups",
                lexeme.column,
            )
    return _phrase(term[first.column - 1 :], first.column)


def format_query(node: Node) -> str:
    """Query text that parses back to ``node``.

    Phrases are always quoted, so the text is exact even inside a stemmed
    claim. Stemmed words (which only a ``stem=`` parse produces) are written as
    their stems, which re-parse to the same node only if the stemmer leaves its
    stems alone.
    """
    if isinstance(node, Phrase):
        if any(part.stem for part in node.parts):
            return "-".join(part.text for part in node.parts)
        return '"' + " ".join(p.text + ("*" if p.prefix else "") for p in node.parts) + '"'
    if isinstance(node, Not):
        return f"NOT {format_query(node.child)}"
    if isinstance(node, Scope):
        child = format_query(node.child)
        return f"{node.name}:({child})" if isinstance(node.child, Not) else f"{node.name}:{child}"
    if isinstance(node, Near):
        words = [format_query(node.operands[0])]
        for link, operand in zip(node.links, node.operands[1:], strict=True):
            words += [str(link), format_query(operand)]
        return "(" + " ".join(words) + ")"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(format_query(child) for child in node.children) + ")"


def expand_aliases(query: str, aliases: Mapping[str, Node]) -> str:
    """``query`` with each ``@name`` written out, so it needs no aliases to parse.

    ``parse_query(expand_aliases(q, a), stem=s) == parse_query(q, a, stem=s)``:
    the written-out terms are quoted, hence exact, like inserted alias nodes.
    """
    pieces: list[str] = []
    last = 0
    for lexeme in _lex(query):
        if lexeme.kind == "alias":
            node = _resolve_alias(lexeme.value, lexeme.column, aliases)
            start = lexeme.column - 1
            pieces += [query[last:start], format_query(node)]
            last = start + lexeme.width
    pieces.append(query[last:])
    return "".join(pieces)


def positive_phrases(node: Node) -> list[Phrase]:
    """Phrases whose presence can make the query true (used for prefiltering)."""
    if isinstance(node, Phrase):
        return [node]
    if isinstance(node, Not):
        return []
    if isinstance(node, Scope):
        return positive_phrases(node.child)
    children = node.operands if isinstance(node, Near) else node.children
    phrases: list[Phrase] = []
    for child in children:
        phrases.extend(positive_phrases(child))
    return phrases


__all__ = [
    "ALIAS_NAME",
    "FIELDS",
    "MAX_DISTANCE",
    "And",
    "Near",
    "Node",
    "Not",
    "Or",
    "Part",
    "Phrase",
    "Proximity",
    "QueryError",
    "Scope",
    "expand_aliases",
    "format_query",
    "parse_query",
    "parse_term",
    "positive_phrases",
]
