"""Write the state of item-less polls in batches, one transaction per batch.

Why: in a steady pass most feeds answer 304, and each such poll changes only its
feed's row (validators, times, status). One commit per feed was the store's whole
share of such a pass and ~40 % of an idle pass's CPU (bench/ingest.py, py-spy).
Polls that bring items are not batched: their items, matches and alerts stay one
transaction per feed, so a feed's failure stays that feed's.

Losing a batch (the process killed before it is written) is harmless: those feeds
keep their old validators and poll times, so they are simply polled again and
answer 304 again. A batch the database refuses is retried poll by poll, so one
bad row fails its own feed only.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.errors import StoreError
from bot.store import PollSuccess, Store

DEFAULT_BATCH = 200


class PollBatch:
    """Collects item-less ``PollSuccess`` values (``gather``); full batches are handed over
    for ``write``, and ``flush`` writes the rest (call it last)."""

    def __init__(
        self,
        store: Store,
        on_failure: Callable[[PollSuccess, StoreError], None],
        *,
        size: int = DEFAULT_BATCH,
    ) -> None:
        self.store = store
        self.on_failure = on_failure
        self.size = max(1, size)
        self.pending: list[PollSuccess] = []

    def gather(self, poll: PollSuccess) -> list[PollSuccess] | None:
        """Collect ``poll``; when the batch is full, hand it over, detached, for ``write``.

        So the event loop can collect without a hop to the writes thread per feed (the
        pipeline's idle pass is 2,000 such polls) and hand over only full batches; the
        batch is detached here, on the collecting thread, never under a writer's feet.
        """
        if poll.items:
            raise ValueError("only polls without items are batched")
        self.pending.append(poll)
        if len(self.pending) < self.size:
            return None
        full, self.pending = self.pending, []
        return full

    def flush(self) -> None:
        """Write what is collected (call it once nothing else collects)."""
        polls, self.pending = self.pending, []
        self.write(polls)

    def write(self, polls: list[PollSuccess]) -> None:
        """Write ``polls`` in one transaction, else poll by poll (``on_failure`` for each
        the database refuses)."""
        if not polls:
            return
        try:
            self.store.record_polls(polls)
            return
        except StoreError:
            pass  # find which poll the database refuses: each on its own
        for poll in polls:
            try:
                self.store.record_poll(poll)
            except StoreError as exc:
                self.on_failure(poll, exc)
