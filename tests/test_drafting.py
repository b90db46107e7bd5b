"""Drafting claims from an article: which sentences, who said them, and YAML that loads.

Every sample sentence here is invented for the test (places, people and events included).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import CLAIM_ID_PATTERN, load_claims
from bot.drafting import MAX_ID_LENGTH, MAX_TITLE_LENGTH, DraftClaim, draft_claims, render_drafts
from bot.matching.document import Document, evaluate
from bot.matching.query import And, parse_query

ARTICLE = """\
Harbour strike spreads
Dock workers in Valparaíso stopped loading copper on Tuesday, the port authority said.
The weather in the bay was calm and the cranes stood still all day long.
According to Reuters, the strike has delayed shipments of copper to Rotterdam by a week.
A union leader told reporters that the Chilean government had ignored safety complaints.
Trucks queued for kilometres along the coastal road near the terminal gates.
"""


def draft_of(sentence: str) -> DraftClaim:
    """The one draft of a one-sentence article."""
    drafts = draft_claims(sentence)
    assert len(drafts) == 1, drafts
    return drafts[0]


def holds(query: str, text: str) -> bool:
    return evaluate(parse_query(query), Document(text))[0]


def test_only_attributed_sentences_become_drafts_in_article_order() -> None:
    drafts = draft_claims(ARTICLE)
    assert [d.line for d in drafts] == [2, 4, 5]
    assert drafts[0].statement == (
        "Dock workers in Valparaíso stopped loading copper on Tuesday, the port authority said."
    )


@pytest.mark.parametrize(
    "sentence",
    [
        "Trucks queued for kilometres along the coastal road near the terminal gates.",
        "The storm knocked down power lines across three villages near Temuco overnight.",
        "That said, the ferry from Puerto Montt left on time with every seat taken.",
        "Harbour strike spreads",
    ],
)
def test_unattributed_sentences_make_no_draft(sentence: str) -> None:
    assert draft_claims(sentence) == []


@pytest.mark.parametrize(
    ("sentence", "source"),
    [
        (
            "The bridge over the Drava will stay closed until spring, the ministry said.",
            "the ministry",
        ),
        (
            "According to Bloomberg, the refinery in Campana has halted exports to Brazil.",
            "Bloomberg",
        ),
        (
            "A senior diplomat told reporters that the talks in Geneva had collapsed overnight.",
            "A senior diplomat",
        ),
        (
            "Coastal towns near Split were flooded after the dam gave way, said Maria Lopez.",
            "Maria Lopez",
        ),
        ("Reuters reported that the cobalt mine near Kolwezi had flooded last week.", "Reuters"),
        ("The tanker was reportedly seized by coastguards off the port of Durban.", None),
        (
            "Según el diario local, la presa de Itaipú tiene grietas en el muro norte.",
            "el diario local",
        ),
        (
            "El alcalde Juan Soto dijo que el puerto de Valparaíso cerrará el lunes.",
            "El alcalde Juan Soto",
        ),
        (
            "El ministro de Minas, Carlos Pérez, afirmó que la mina de Oruro reabrirá pronto.",
            "Carlos Pérez",
        ),
        ("По словам губернатора, мост через Обь закроют на ремонт до осени.", "губернатора"),
        (
            "Министр транспорта Олег Белов заявил, что аэропорт Казани закроют на неделю.",
            "Министр транспорта Олег Белов",
        ),
    ],
)
def test_source_is_who_the_sentence_attributes_it_to(sentence: str, source: str | None) -> None:
    assert draft_of(sentence).source == source


def test_a_listener_outlet_is_named_in_the_source_but_kept_out_of_the_query() -> None:
    draft = draft_of(
        "A source close to the Senate told Bloomberg that the Lisbon treaty vote would slip."
    )
    assert draft.source == "A source close to the Senate (to Bloomberg)"
    assert "Bloomberg" not in draft.query
    assert "Lisbon" in draft.query


def test_an_outlet_source_is_not_a_query_term() -> None:
    draft = draft_of("According to Reuters, the refinery in Campana has halted exports to Brazil.")
    assert "Reuters" in draft.entities
    assert "Reuters" not in draft.query
    assert draft.query.startswith("Campan* AND Brazil* AND")


def test_entities_are_names_codes_and_multi_word_spans_without_possessives() -> None:
    draft = draft_of(
        "Analysts said that Carlos Mendoza’s government bought Su-30 jets from the"
        " Russian Federation and NATO objected."
    )
    assert draft.entities == ("Carlos Mendoza", "Su-30", "Russian Federation", "NATO")


def test_a_sentence_opening_word_is_an_entity_only_if_the_article_capitalises_it_elsewhere() -> (
    None
):
    article = (
        "Lisbon denied the report about the harbour, officials said.\n"
        "Yesterday the port of Lisbon reopened to ferries, the mayor said.\n"
    )
    first, second = draft_claims(article)
    assert "Lisbon" in first.entities
    assert "Yesterday" not in second.entities


def test_a_compound_adjective_yields_its_name() -> None:
    draft = draft_of("Officials said the Russian-made radars at Barcelona airport failed twice.")
    assert "Russian" in draft.entities
    assert "Russi*" in draft.query


def test_name_and_word_wildcards_match_inflected_forms() -> None:
    draft = draft_of("Officials in Venezuela said the bridge collapsed because its cables failed.")
    assert "Venezuel*" in draft.query
    assert holds(draft.query, "Venezuelan engineers say cables failing made the bridge collapse")


def test_queries_parse_need_two_groups_hold_on_their_sentence_and_not_on_others() -> None:
    drafts = draft_claims(ARTICLE)
    assert drafts
    for draft in drafts:
        node = parse_query(draft.query)
        assert isinstance(node, And) and len(node.children) >= 2, draft.query
        assert holds(draft.query, draft.statement)
        assert not holds(draft.query, "The weather in town was mild and nobody said much.")


def test_ids_are_valid_unique_and_short() -> None:
    article = (
        "Officials said the Danube bridge was closed.\n"
        "Officials said on Monday the Danube bridge was closed.\n"
    )
    drafts = draft_claims(article)
    ids = [d.id for d in drafts]
    assert ids == ["danube-bridge-closed", "danube-bridge-closed-2"]
    long = draft_of(
        "Officials said the Mediterranean Interconnection Authority and the"
        " Transcontinental Hydrocarbon Consortium suspended negotiations."
    )
    assert CLAIM_ID_PATTERN.match(long.id) and len(long.id) <= MAX_ID_LENGTH


def test_russian_ids_are_transliterated() -> None:
    draft = draft_of("По словам губернатора, мост через Обь закроют на ремонт до осени.")
    assert CLAIM_ID_PATTERN.match(draft.id)
    assert draft.id.startswith("ob-")


def test_near_identical_sentences_make_one_draft() -> None:
    article = (
        "The port authority said dock workers in Valparaíso stopped loading copper.\n\n"
        "The port authority said **dock workers** in  Valparaíso stopped loading copper!\n"
    )
    assert len(draft_claims(article)) == 1


def test_title_drops_the_reporting_clause_and_stays_short() -> None:
    draft = draft_of("A spokesman told reporters that the ferry to Gotland would resume on Monday.")
    assert draft.title == "The ferry to Gotland would resume on Monday"
    long = draft_of(
        "The bridge over the Drava will stay closed until spring because inspectors found"
        " cracks in three of its four main supports and in the deck, the ministry said."
    )
    assert len(long.title) <= MAX_TITLE_LENGTH and long.title.endswith("…")
    assert "ministry" not in long.title


def test_markdown_is_stripped_and_lines_are_those_of_the_input() -> None:
    article = """\
# Strike at the **port**

Dock workers in [Valparaíso](https://example.org/v) stopped work. The *port authority* said
the strike would end `soon`, after talks.

> According to Reuters, copper exports to _Rotterdam_ have stalled.

- A union leader told reporters that wages had not risen for years.
"""
    drafts = draft_claims(article)
    assert [(d.line, d.statement) for d in drafts] == [
        (3, "The port authority said the strike would end soon, after talks."),
        (6, "According to Reuters, copper exports to Rotterdam have stalled."),
        (8, "A union leader told reporters that wages had not risen for years."),
    ]


def test_lines_without_blank_lines_between_them_are_separate_paragraphs() -> None:
    article = (
        "Strike news\n"
        "The port authority said dock workers in Valparaíso stopped loading copper\n"
        "Officials said the Chilean navy escorted two tankers out of the bay.\n"
    )
    assert [d.line for d in draft_claims(article)] == [2, 3]


def test_max_drafts_keeps_the_first_ones() -> None:
    assert [d.line for d in draft_claims(ARTICLE, max_drafts=2)] == [2, 4]


def test_rendered_drafts_load_as_a_claims_file_all_disabled(tmp_path: Path) -> None:
    drafts = draft_claims(ARTICLE)
    text = render_drafts(drafts, article="harbour.md")
    path = tmp_path / "drafts.yaml"
    path.write_text(text, encoding="utf-8")
    claims = load_claims(path).claims
    assert [c.id for c in claims] == [d.id for d in drafts]
    assert [c.statement for c in claims] == [d.statement for d in drafts]
    assert [c.query for c in claims] == [d.query for d in drafts]
    assert not any(c.enabled for c in claims)
    assert text.startswith("# Draft claims proposed by `claimbot claims draft` from: harbour.md")
    assert "nothing here is ever activated automatically" in text
    for draft in drafts:
        comment = f"  # from line {draft.line}, attributed to: {draft.source}\n"
        assert comment + "  # entities:" in text or comment + f"  - id: {draft.id}" in text


def test_no_drafts_render_as_an_empty_claims_file(tmp_path: Path) -> None:
    path = tmp_path / "drafts.yaml"
    path.write_text(render_drafts([], article="empty.txt"), encoding="utf-8")
    assert load_claims(path).claims == ()


_SUBJECTS = ["The ministry", "A senior official", "Maria Lopez", "Officials in Kraków", "Они"]
_VERBS = ["said", "told reporters that", "warned that", "denied that", "заявил, что", "dijo que"]
_BODIES = [
    "the S-300 batteries near Valencia failed",
    "Buk-M2 crews were not paid",
    "the Danube bridge was closed: for good",
    'the deal was a "house of cards" # really',
    "el puerto de Valparaíso cerrará",
    "поставки в Венесуэлу прекращены",
    "OR NOT AND NEAR/3 title: @alias",
]
_SENTENCES = st.one_of(
    st.builds(
        lambda s, v, b: f"{s} {v} {b}.",
        st.sampled_from(_SUBJECTS),
        st.sampled_from(_VERBS),
        st.sampled_from(_BODIES),
    ),
    st.builds(
        lambda b, s: f"According to {s}, {b}.", st.sampled_from(_BODIES), st.sampled_from(_SUBJECTS)
    ),
    st.text(max_size=80),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_SENTENCES, max_size=8), st.sampled_from(["\n", "\n\n", " "]))
def test_any_article_gives_valid_drafts_that_load(sentences: list[str], joiner: str) -> None:
    drafts = draft_claims(joiner.join(sentences))
    assert len({d.id for d in drafts}) == len(drafts)
    for draft in drafts:
        assert CLAIM_ID_PATTERN.match(draft.id) and len(draft.id) <= MAX_ID_LENGTH
        node = parse_query(draft.query)
        assert isinstance(node, And) and len(node.children) >= 2
        assert holds(draft.query, draft.statement)
        assert len(draft.title) <= MAX_TITLE_LENGTH
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "drafts.yaml"
        path.write_text(render_drafts(drafts, article="a\nb.txt"), encoding="utf-8")
        claims = load_claims(path).claims
    assert [(c.id, c.statement, c.enabled) for c in claims] == [
        (d.id, d.statement, False) for d in drafts
    ]


def test_drafting_loads_no_adapter_library() -> None:
    code = (
        "import sys, bot.drafting;"
        "print([m for m in ('sqlmodel', 'sqlalchemy', 'slack_sdk', 'httpx', 'feedparser',"
        " 'apscheduler') if m in sys.modules])"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"
