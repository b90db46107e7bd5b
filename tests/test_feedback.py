"""Threshold advice from Slack feedback: only ever to raise, only when it pays off."""

from __future__ import annotations

import random

import pytest

from bot.feedback import MIN_GAIN, MIN_JUDGED, ThresholdAdvice, suggest_threshold

# Two false positives scoring under every relevant alert.
JUDGED = [(0.55, False), (0.6, False), (0.7, True), (0.8, True), (0.85, True), (0.9, True)]


def test_too_few_judged_alerts_give_no_advice() -> None:
    judged = [(0.55, False), (0.6, False), (0.8, True), (0.9, True)]

    assert len(judged) < MIN_JUDGED
    assert suggest_threshold(judged, 0.5) is None
    assert suggest_threshold([], 0.5) is None


def test_no_false_positives_give_no_advice() -> None:
    assert suggest_threshold([(0.5 + i / 100, True) for i in range(20)], 0.5) is None


def test_raises_past_low_scoring_false_positives() -> None:
    advice = suggest_threshold(JUDGED, 0.5)

    assert advice == ThresholdAdvice(
        alert_at=0.7,
        precision_now=4 / 6,
        precision_then=1.0,
        relevant_lost=0,
        false_positives_avoided=2,
    )


def test_order_of_judged_alerts_does_not_matter() -> None:
    shuffled = list(JUDGED)
    random.Random(7).shuffle(shuffled)

    assert suggest_threshold(shuffled, 0.5) == suggest_threshold(JUDGED, 0.5)


def test_describe() -> None:
    advice = suggest_threshold(JUDGED, 0.5)

    assert advice is not None
    assert advice.describe("air-defence") == (
        "raise air-defence's alert_at to 0.70: precision 67% -> 100%, "
        "2 false positive(s) avoided, 0 relevant alert(s) lost"
    )


def test_advice_may_trade_a_relevant_alert_for_precision() -> None:
    judged = [(0.6, False), (0.65, True), (0.7, False), (0.72, False), (0.75, False),
              (0.8, True), (0.85, True), (0.9, True), (0.95, True)]

    advice = suggest_threshold(judged, 0.5)

    assert advice is not None
    assert advice.alert_at == 0.8
    assert (advice.relevant_lost, advice.false_positives_avoided) == (1, 4)
    assert advice.precision_then == 1.0
    assert "1 relevant alert(s) lost" in advice.describe("c")


def test_false_positives_above_the_relevant_ones_give_no_advice() -> None:
    judged = [(0.6, True), (0.65, True), (0.7, True), (0.9, False), (0.95, False)]

    assert suggest_threshold(judged, 0.5) is None


def test_a_small_gain_is_not_worth_saying() -> None:
    # One false positive among nineteen relevant ones: precision 95% -> 100% at best.
    judged = [(0.55, False)] + [(0.6 + i / 100, True) for i in range(19)]

    assert suggest_threshold(judged, 0.5) is None


def test_never_suggests_lowering() -> None:
    judged = [(0.3, True), (0.35, True), (0.4, True), (0.45, True), (0.7, False),
              (0.75, False), (0.8, True)]

    for current in (0.2, 0.5, 0.6, 0.79, 0.8, 0.95):
        advice = suggest_threshold(judged, current)
        assert advice is None or advice.alert_at > current


@pytest.mark.parametrize("seed", range(20))
def test_advice_is_always_a_real_raise(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        current = rng.choice([0.3, 0.5, 0.7])
        judged = [
            (round(rng.uniform(current, 1.0), 2), rng.random() < 0.6)
            for _ in range(rng.randint(0, 30))
        ]

        advice = suggest_threshold(judged, current)

        if advice is None:
            continue
        assert advice.alert_at > current
        assert advice.alert_at in {score for score, _ in judged}
        kept = [ok for score, ok in judged if score >= advice.alert_at]
        assert advice.precision_then == pytest.approx(sum(kept) / len(kept))
        assert advice.precision_then >= advice.precision_now + MIN_GAIN - 1e-9
        assert advice.false_positives_avoided >= 1
        assert 0 <= advice.relevant_lost < sum(ok for _, ok in judged)


def test_following_the_advice_settles() -> None:
    first = suggest_threshold(JUDGED, 0.5)
    assert first is not None and first.alert_at == 0.7

    # The claim now alerts at 0.70; the judged alerts of the last 30 days are the same.
    # Every one of them at or above 0.70 was relevant: nothing left to gain.
    assert suggest_threshold(JUDGED, first.alert_at) is None
