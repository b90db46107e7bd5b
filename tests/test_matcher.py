"""The matcher: gated queries, statement scoring, thresholds and evidence."""

from __future__ import annotations

from bot.config import Claim
from bot.items import Item
from bot.matching import Matcher

AIR = Claim(
    id="air-defence-failure",
    title="Air defences failed",
    statement="Russian-supplied S-300 and Buk-M2 air defences failed to protect Venezuela.",
    query='(S-300 OR Buk-M2 OR "air defen*") AND (Venezuel* OR Caracas) AND (fail* OR falla*)',
)
PIVOT = Claim(
    id="venezuela-pivot-to-us",
    title="Venezuela turns to the US",
    statement="Delcy Rodríguez accepts US cooperation and moves away from Russia and Cuba.",
    query='Rodriguez AND (cooperation OR cooperación) NOT "baseball"',
)


def item(title: str, summary: str = "") -> Item:
    return Item(identity=title, title=title, summary=summary)


def ids(matcher: Matcher, it: Item) -> list[str]:
    return [m.claim_id for m in matcher.match(it)]


def test_spelling_variants_of_s300_all_match() -> None:
    matcher = Matcher([AIR])
    for spelling in ("S-300", "S300", "S 300", "s-300"):
        found = ids(matcher, item(f"Venezuela: Russian {spelling} batteries failed"))
        assert found == ["air-defence-failure"], spelling


def test_mentions_without_the_claim_do_not_match() -> None:
    matcher = Matcher([AIR])
    assert ids(matcher, item("Russia deploys S-300 to Syria")) == []
    assert ids(matcher, item("Venezuela buys Russian S-300 systems")) == []


def test_accents_and_case_do_not_matter() -> None:
    matcher = Matcher([PIVOT])
    assert ids(matcher, item("DELCY RODRÍGUEZ ACEPTA LA COOPERACIÓN DE EEUU")) == [
        "venezuela-pivot-to-us"
    ]


def test_not_excludes() -> None:
    matcher = Matcher([PIVOT])
    assert ids(matcher, item("Rodriguez praises baseball cooperation")) == []


def test_spanish_inflection_by_wildcard() -> None:
    matcher = Matcher([AIR])
    found = ids(matcher, item("Las defensas S-300 fallaron en Caracas"))
    assert found == ["air-defence-failure"]


def test_evidence_names_the_matched_words_and_highlights_them() -> None:
    matcher = Matcher([AIR])
    text = "Officials in Caracas say the Buk-M2 and S300 batteries failed to stop the raid"
    (match,) = matcher.match(item(text))
    assert match.alert
    assert set(match.evidence.terms) == {"Caracas", "Buk-M2", "S300", "failed"}
    highlighted = [match.evidence.snippet[a:b] for a, b in match.evidence.highlights]
    assert highlighted == ["Caracas", "Buk-M2", "S300", "failed"]


def test_long_text_snippet_is_centred_on_the_matches() -> None:
    matcher = Matcher([AIR])
    filler = "Unrelated words about the weather and markets. " * 30
    it = item("Morning briefing", filler + "In Caracas the S-300 radars failed entirely. " + filler)
    (match,) = matcher.match(it)
    snippet = match.evidence.snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 290
    assert "S-300 radars failed" in snippet


def test_gated_score_grows_with_statement_overlap() -> None:
    matcher = Matcher([AIR])
    thin = matcher.match(item("Caracas: S-300 failed"))[0]
    rich = matcher.match(
        item("Russian-supplied S-300 and Buk-M2 air defences failed to protect Venezuela")
    )[0]
    assert 0.5 <= thin.score < rich.score <= 1.0


def test_claims_without_query_rank_by_statement_overlap() -> None:
    claims = [
        Claim(id="a", title="Vaccine microchips", statement="Vaccines contain microchips."),
        Claim(id="b", title="Moon landing", statement="The moon landing was staged in a studio."),
    ]
    matcher = Matcher(claims)
    paraphrase = matcher.rank(item("They say the moon landing was filmed in a studio"))
    assert [m.claim_id for m in paraphrase] == ["b"]
    suggested = matcher.match(item("They say the moon landing was filmed"))
    assert [m.claim_id for m in suggested] == ["b"]
    stated = matcher.match(item("Moon landing: the moon landing was staged in a studio"))
    assert [m.claim_id for m in stated] == ["b"] and stated[0].alert
    assert stated[0].score > paraphrase[0].score


def test_suggestions_are_kept_but_do_not_alert() -> None:
    claim = Claim(
        id="c",
        title="Grid attack",
        statement="Cyberattacks cut electricity across Caracas",
        alert_at=0.9,
        suggest_at=0.2,
    )
    (match,) = Matcher([claim]).match(item("Electricity cut in Caracas"))
    assert not match.alert
    assert 0.2 <= match.score < 0.9


def test_rank_respects_top_k_and_orders_best_first() -> None:
    claims = [
        Claim(id=f"c{i}", title=f"t{i}", statement=" ".join(["alpha", "beta", "gamma"][: i + 1]))
        for i in range(3)
    ]
    ranked = Matcher(claims).rank(item("alpha"), top_k=2)
    assert len(ranked) == 2
    assert ranked[0].score >= ranked[1].score
