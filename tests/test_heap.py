"""``bot.heap.settle``: garbage goes, the rest is frozen, and a second call lets what was
frozen and has since become garbage be collected (a replaced watch list)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import heap


class Node:
    """Refers to itself: only the cycle collector can free it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of this test process collects as usual


def test_garbage_is_collected_and_what_lives_is_frozen() -> None:
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    kept = Node()
    heap.settle()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    assert not any(obj is kept for gen in range(3) for obj in gc.get_objects(gen))


def test_what_was_frozen_is_collected_after_it_is_replaced() -> None:
    old = Node()
    gone = weakref.ref(old)
    heap.settle()  # start-up: the old watch list frozen with everything else
    del old  # replaced by a new one
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see it
    heap.settle()
    assert gone() is None
