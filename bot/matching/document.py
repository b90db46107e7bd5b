"""An item's text indexed for query evaluation, and the evaluator itself.

Pure: a ``Document`` is built from an ``Item`` and answers "where does this
phrase occur" in token positions; ``evaluate`` walks a query AST over it and
returns whether the query holds and which character spans made it hold (the
evidence).

Proximity. Occurrences are token spans ``[start, end)`` (a phrase or ``S-300``
covers several tokens). The distance between two occurrences that do not
overlap is the number of tokens strictly between them: the end of the first and
the start of the second. ``a NEAR/n b`` holds when some occurrence of ``a`` and
some occurrence of ``b`` are at most ``n`` tokens apart in either order (so
``NEAR/1`` accepts "a b" and "a x b"); ``ONEAR/n`` also needs ``a`` first.
Overlapping occurrences never count: one word is not near itself. Tokens are
normalised words, so punctuation is never counted and ``S-300`` counts as two.
A group operand counts when the group holds, at every occurrence of the terms
that made it hold. In a chain ``a NEAR/3 b NEAR/5 c`` each neighbouring pair
must be linked through the same occurrence of ``b``. Only occurrences on a
complete chain are returned as evidence.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

from bot.items import Item
from bot.matching.normalize import Token, tokenize
from bot.matching.query import And, Near, Node, Not, Part, Phrase, Proximity, Scope
from bot.matching.stemming import stem_words

Span = tuple[int, int]
"""Token indices ``[start, end)``."""


class Document:
    """An item's tokens, indexed for phrase lookups.

    Prefix wildcards are resolved by bisecting the sorted vocabulary, and
    phrase results are memoised, because the same terms (``Venezuel*``)
    recur across many claims' queries. Stems are computed per language on
    first use, once per distinct word.
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
        self.starts = [token.start for token in self.tokens]
        self._sorted_vocabulary = sorted(self.vocabulary)
        # Tokens [0, title_end) start inside the title.
        self.title_end = bisect_left(self.tokens, title_length, key=lambda token: token.start)
        self._found: dict[Phrase, list[Span]] = {}
        self._stems: dict[str, tuple[list[str], dict[str, list[int]]]] = {}

    @classmethod
    def of(cls, item: Item) -> Document:
        return cls(item.text, len(item.title))

    def field_range(self, name: str) -> Span:
        """The tokens of one field: ``title``, or ``body`` (everything after it)."""
        if name == "title":
            return (0, self.title_end)
        return (self.title_end, len(self.tokens))

    def stems(self, algorithm: str) -> tuple[list[str], dict[str, list[int]]]:
        """Each token's stem, and the positions of each stem."""
        cached = self._stems.get(algorithm)
        if cached is None:
            words = self._sorted_vocabulary
            stem_of = dict(zip(words, stem_words(algorithm, words), strict=True))
            forms = [stem_of[token.text] for token in self.tokens]
            where: dict[str, list[int]] = defaultdict(list)
            for index, form in enumerate(forms):
                where[form].append(index)
            cached = self._stems[algorithm] = (forms, dict(where))
        return cached

    def _starts(self, part: Part) -> list[int]:
        if part.stem is not None:
            return self.stems(part.stem)[1].get(part.text, [])
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

    def _matches(self, part: Part, index: int) -> bool:
        if part.stem is not None:
            return part.matches(self.stems(part.stem)[0][index])
        return part.matches(self.tokens[index].text)

    def find_tokens(self, phrase: Phrase) -> list[Span]:
        """Token spans where ``phrase`` occurs, in text order."""
        cached = self._found.get(phrase)
        if cached is not None:
            return cached
        length = len(phrase.parts)
        rest = phrase.parts[1:]
        spans = [
            (i, i + length)
            for i in self._starts(phrase.parts[0])
            if i + length <= len(self.tokens)
            and all(self._matches(part, i + 1 + k) for k, part in enumerate(rest))
        ]
        self._found[phrase] = spans
        return spans

    def char_span(self, span: Span) -> tuple[int, int]:
        """Character offsets in ``text`` of a token span."""
        return self.tokens[span[0]].start, self.tokens[span[1] - 1].end

    def find(self, phrase: Phrase) -> list[tuple[int, int]]:
        """Character spans where ``phrase`` occurs."""
        return [self.char_span(span) for span in self.find_tokens(phrase)]


def evaluate(node: Node, doc: Document) -> tuple[bool, list[tuple[int, int]]]:
    """Whether ``node`` holds for ``doc``, and the spans of the terms that made it hold."""
    held, spans = evaluate_tokens(node, doc)
    return held, [doc.char_span(span) for span in spans]


def evaluate_tokens(node: Node, doc: Document) -> tuple[bool, list[Span]]:
    """Like :func:`evaluate`, with the evidence as token spans."""
    return _evaluate(node, doc, (0, len(doc.tokens)))


def _evaluate(node: Node, doc: Document, scope: Span) -> tuple[bool, list[Span]]:
    """``scope`` is the token range a field scope narrowed the query to."""
    if isinstance(node, Phrase):
        spans = doc.find_tokens(node)
        if scope != (0, len(doc.tokens)):
            spans = [span for span in spans if span[0] >= scope[0] and span[1] <= scope[1]]
        return bool(spans), spans
    if isinstance(node, Not):
        held, _ = _evaluate(node.child, doc, scope)
        return not held, []
    if isinstance(node, Scope):
        low, high = doc.field_range(node.name)
        low, high = max(low, scope[0]), min(high, scope[1])
        return _evaluate(node.child, doc, (low, max(low, high)))
    if isinstance(node, Near):
        return _near(node, doc, scope)
    if isinstance(node, And):
        collected: list[Span] = []
        for child in node.children:
            held, spans = _evaluate(child, doc, scope)
            if not held:
                return False, []
            collected.extend(spans)
        return True, collected
    any_held = False
    collected = []
    for child in node.children:
        held, spans = _evaluate(child, doc, scope)
        if held:
            any_held = True
            collected.extend(spans)
    return any_held, collected


class _Occurrences:
    """One NEAR operand's occurrences, sorted, for windowed partner lookups."""

    def __init__(self, spans: list[Span]) -> None:
        self.spans = sorted(set(spans))
        self.starts = [span[0] for span in self.spans]
        self.longest = max((end - start for start, end in self.spans), default=0)

    def linked(self, span: Span, link: Proximity, span_is_left: bool) -> bool:
        """Whether some occurrence here lies as ``link`` says relative to ``span``."""
        # Only occurrences starting in this window can be within the distance.
        low = bisect_left(self.starts, span[0] - link.distance - self.longest)
        high = bisect_right(self.starts, span[1] + link.distance)
        for other in self.spans[low:high]:
            left, right = (span, other) if span_is_left else (other, span)
            if _within(left, right, link):
                return True
        return False


def _within(left: Span, right: Span, link: Proximity) -> bool:
    if left[1] <= right[0]:
        gap = right[0] - left[1]
    elif not link.ordered and right[1] <= left[0]:
        gap = left[0] - right[1]
    else:
        return False
    return gap <= link.distance


def _near(node: Near, doc: Document, scope: Span) -> tuple[bool, list[Span]]:
    layers: list[_Occurrences] = []
    for operand in node.operands:
        held, spans = _evaluate(operand, doc, scope)
        if not held or not spans:
            return False, []
        layers.append(_Occurrences(spans))
    # Forward: keep the occurrences a chain from the first operand reaches.
    for i, link in enumerate(node.links):
        reached = [s for s in layers[i + 1].spans if layers[i].linked(s, link, False)]
        if not reached:
            return False, []
        layers[i + 1] = _Occurrences(reached)
    # Backward: of those, keep the ones the chain also continues from to the last operand.
    for i in range(len(node.links) - 1, -1, -1):
        kept = [s for s in layers[i].spans if layers[i + 1].linked(s, node.links[i], True)]
        layers[i] = _Occurrences(kept)
    return True, [span for layer in layers for span in layer.spans]
