"""An item's text indexed for query evaluation, and the evaluator itself.

Pure: a ``Document`` is built from an ``Item`` and answers "where does this
phrase occur"; ``evaluate`` walks a query AST over it and returns whether the
query holds and which character spans made it hold (the evidence).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

from bot.items import Item
from bot.matching.normalize import Token, tokenize
from bot.matching.query import And, Node, Not, Or, Part, Phrase


class Document:
    """An item's tokens, indexed for phrase lookups.

    Prefix wildcards are resolved by bisecting the sorted vocabulary, and
    phrase results are memoised, because the same terms (``Venezuel*``)
    recur across many claims' queries.
    """

    def __init__(self, text: str, title_length: int = 0) -> None:
        self.text = text
        # Characters [0, title_length) of ``text`` are the item's title (for field scopes).
        self.title_length = title_length
        self.tokens: list[Token] = tokenize(text)
        self.positions: dict[str, list[int]] = defaultdict(list)
        for index, token in enumerate(self.tokens):
            self.positions[token.text].append(index)
        self.vocabulary = frozenset(self.positions)
        self._sorted_vocabulary = sorted(self.vocabulary)
        self._found: dict[Phrase, list[tuple[int, int]]] = {}

    @classmethod
    def of(cls, item: Item) -> Document:
        return cls(item.text, len(item.title))

    def _starts(self, part: Part) -> list[int]:
        if not part.prefix:
            return self.positions.get(part.text, [])
        words = self._sorted_vocabulary
        first = bisect_left(words, part.text)
        starts: list[int] = []
        for word in words[first:]:
            if not word.startswith(part.text):
                break
            starts.extend(self.positions[word])
        return sorted(starts)

    def find(self, phrase: Phrase) -> list[tuple[int, int]]:
        """Character spans where ``phrase`` occurs."""
        cached = self._found.get(phrase)
        if cached is not None:
            return cached
        spans: list[tuple[int, int]] = []
        length = len(phrase.parts)
        rest = phrase.parts[1:]
        for i in self._starts(phrase.parts[0]):
            if i + length > len(self.tokens):
                continue
            if all(part.matches(self.tokens[i + 1 + k].text) for k, part in enumerate(rest)):
                spans.append((self.tokens[i].start, self.tokens[i + length - 1].end))
        self._found[phrase] = spans
        return spans


def evaluate(node: Node, doc: Document) -> tuple[bool, list[tuple[int, int]]]:
    """Whether ``node`` holds for ``doc``, and the spans of the terms that made it hold."""
    if isinstance(node, Phrase):
        spans = doc.find(node)
        return bool(spans), spans
    if isinstance(node, Not):
        held, _ = evaluate(node.child, doc)
        return not held, []
    if isinstance(node, And):
        collected: list[tuple[int, int]] = []
        for child in node.children:
            held, spans = evaluate(child, doc)
            if not held:
                return False, []
            collected.extend(spans)
        return True, collected
    assert isinstance(node, Or)
    any_held = False
    collected = []
    for child in node.children:
        held, spans = evaluate(child, doc)
        if held:
            any_held = True
            collected.extend(spans)
    return any_held, collected
