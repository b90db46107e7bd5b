"""What Slack feedback says about a claim's threshold (pure).

Feedback only ever judges alerts that were posted, so it can show that a
threshold is too low (false positives scoring under some value) but never
that it is too high: nothing below the threshold was shown to anyone. The
suggestion is therefore only ever to raise ``alert_at``, and only once enough
alerts were judged for the numbers to mean something.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_JUDGED = 5
# Raising the threshold must gain at least this much precision to be worth saying.
MIN_GAIN = 0.1


@dataclass(frozen=True)
class ThresholdAdvice:
    alert_at: float
    precision_now: float
    precision_then: float
    relevant_lost: int
    false_positives_avoided: int

    def describe(self, claim_id: str) -> str:
        return (
            f"raise {claim_id}'s alert_at to {self.alert_at:.2f}: precision "
            f"{self.precision_now:.0%} -> {self.precision_then:.0%}, "
            f"{self.false_positives_avoided} false positive(s) avoided, "
            f"{self.relevant_lost} relevant alert(s) lost"
        )


def suggest_threshold(
    judged: Sequence[tuple[float, bool]], current: float
) -> ThresholdAdvice | None:
    """The ``alert_at`` with the best F1 over judged alerts, if raising to it pays off.

    ``judged`` holds (score, relevant) per alert. Recall is relative to the
    relevant alerts seen, the only ones feedback knows of.
    """
    # Alerts judged under an older, lower threshold would not be posted now: leave them out.
    judged = [(score, ok) for score, ok in judged if score >= current]
    if len(judged) < MIN_JUDGED:
        return None
    relevant_total = sum(1 for _, ok in judged if ok)
    false_total = len(judged) - relevant_total
    if false_total == 0:
        return None
    precision_now = relevant_total / len(judged)
    best: tuple[float, float] | None = None  # (f1, threshold)
    for threshold in sorted({score for score, _ in judged if score > current}):
        kept = [ok for score, ok in judged if score >= threshold]
        relevant = sum(kept)
        if not kept or not relevant:
            continue
        precision = relevant / len(kept)
        recall = relevant / relevant_total if relevant_total else 0.0
        f1 = 2 * precision * recall / (precision + recall)
        if best is None or f1 > best[0]:
            best = (f1, threshold)
    if best is None:
        return None
    threshold = best[1]
    kept = [ok for score, ok in judged if score >= threshold]
    precision_then = sum(kept) / len(kept)
    if precision_then - precision_now < MIN_GAIN:
        return None
    return ThresholdAdvice(
        alert_at=threshold,
        precision_now=precision_now,
        precision_then=precision_then,
        relevant_lost=relevant_total - sum(kept),
        false_positives_avoided=false_total - (len(kept) - sum(kept)),
    )
