"""Config loading: every mistake names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigErrors, compile_query, load_claims, load_feeds, load_settings
from bot.errors import ConfigError
from bot.items import Item
from bot.matching import Matcher
from bot.matching.document import Document, evaluate
from bot.matching.query import parse_query

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_claims_and_feeds_load() -> None:
    claims = load_claims(REPO / "config" / "claims.yaml")
    assert len(claims.claims) == 11
    assert all(c.query and c.statement and c.tags for c in claims.claims)
    assert {"russia", "venezuela", "cuba", "us", "iran", "ukraine"} <= set(claims.aliases)
    # Loaded queries have the aliases written out, so they parse without them.
    for claim in claims.claims:
        assert claim.query is not None and "@" not in claim.query
        assert parse_query(claim.query) == compile_query(claim, claims.aliases)
    feeds = load_feeds(REPO / "config" / "feeds.yaml")
    assert feeds.feeds


def test_broken_query_points_at_file_line_field_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claims.yaml",
        "# watch list\nclaims:\n  - id: first\n    title: T\n    statement: S\n"
        "    query: Venezuela AND (S-300 OR Buk\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert str(caught.value) == (
        f"{path}:6: claims[0].query: unbalanced parenthesis at column 15"
    )


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claims.yaml",
        "claims:\n"
        "  - id: Bad_Id\n    title: T\n    statement: S\n"
        "  - id: ok\n    title: T\n    statement: S\n    colour: red\n"
        "  - id: missing-statement\n    title: T\n",
    )
    with pytest.raises(ConfigErrors) as caught:
        load_claims(path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{path}:2: claims[0].id: 'Bad_Id' is not a valid id")
    assert lines[1] == f"{path}:8: claims[1].colour: unknown key"
    assert lines[2] == f"{path}:9: claims[2].statement: required field is missing"


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claims.yaml",
        "claims:\n  - id: same\n    title: A\n    statement: S\n"
        "  - id: same\n    title: B\n    statement: S\n",
    )
    with pytest.raises(ConfigError, match=r":5: claims\[1\]\.id: duplicate id 'same' \(first"):
        load_claims(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", "claims:\n  - id: a\n   title: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert caught.value.path == str(path)
    assert caught.value.line is not None
    assert "invalid YAML" in str(caught.value)


def test_missing_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", "- id: a\n")
    with pytest.raises(ConfigError, match=r":1: expected a top-level 'claims:' list"):
        load_claims(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_claims("nope.yaml")


def test_jsonl_claims_with_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claims.jsonl",
        '{"id": "vc0", "title": "T", "statement": "S"}\n'
        '{"id": "vc1", "title": "T", "statement": "S", "subtitle": "more"}\n'
        '{"id": "sno-trump_floyd--tweet", "title": "T", "statement": "S"}\n',
    )
    assert [c.id for c in load_claims(path).claims] == ["vc0", "vc1", "sno-trump_floyd--tweet"]
    bad = write(tmp_path, "bad.jsonl", '{"id": "a", "title": "T", "statement": "S"}\n{oops\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: invalid JSON"):
        load_claims(bad)


def test_feeds_resolve_relative_paths_and_parse_intervals(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds.yaml",
        "feeds:\n  - url: local.xml\n    interval: 10m\n"
        "  - url: https://example.com/rss\n    name: Example\n    tags: [world]\n",
    )
    local, remote = load_feeds(path).feeds
    assert local.url == str(tmp_path / "local.xml")
    assert local.interval == 600
    assert remote.label == "Example" and remote.interval is None


def test_feed_problems_name_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds.yaml",
        "feeds:\n  - url: https://a.example/rss\n  - url: https://b.example/rss\n"
        "    interval: soon\n",
    )
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: feeds\[1\]\.interval: 'soon' is not"):
        load_feeds(path)
    dup = write(
        tmp_path, "dup.yaml", "feeds:\n  - url: https://a.example/rss\n  - url: https://a.example/rss\n"
    )
    with pytest.raises(ConfigError, match=r"dup.yaml:3: feeds\[1\]\.url: duplicate url"):
        load_feeds(dup)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("CLAIMBOT_SLACK_CHANNEL", "#ops")
    settings = load_settings()
    assert settings.database_url == "sqlite:///x.db"
    assert settings.slack_bot_token == "xoxb-1" and not settings.dry_run
    assert settings.slack_channel == "#ops"


def test_bad_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMBOT_POLL_INTERVAL", "often")
    with pytest.raises(ConfigError, match="CLAIMBOT_POLL_INTERVAL"):
        load_settings()


def test_query_error_column_counts_what_the_user_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "claims.yaml",
        'claims:\n  - id: a\n    title: T\n    statement: S\n    query: "x  AND   (y"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert str(caught.value).endswith(":5: claims[0].query: unbalanced parenthesis at column 10")


ALIASES = """\
aliases:
  russia: [Russia*, Moscow, Kremlin, Росси*, "Vladimir Putin", '"Sergei Lavrov"']
  cuba: Cuba* OR Havana OR "La Habana"
  partners:
    - "@cuba"
    - Venezuel*
"""


def claim_yaml(query: str, extra: str = "") -> str:
    return f"claims:\n  - id: c\n    title: T\n    statement: S\n    query: {query}\n{extra}"


def test_aliases_are_loaded_and_used_by_queries(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", ALIASES + claim_yaml("'@russia NEAR/3 @partners'"))
    claims = load_claims(path)
    assert list(claims.aliases) == ["russia", "cuba", "partners"]
    (claim,) = claims.claims
    doc = Document("Kremlin officials told La Habana: nothing more.")
    assert evaluate(compile_query(claim), doc)[0]  # type: ignore[arg-type]
    assert not evaluate(compile_query(claim), Document("Vladimir Putin."))[0]  # type: ignore[arg-type]
    held, spans = evaluate(parse_query("@russia", claims.aliases), Document("Sergei Lavrov"))
    assert held and spans == [(0, 13)]
    (match,) = Matcher(claims.enabled).match(Item(identity="1", title="Moscow to Havana"))
    assert match.claim_id == "c" and match.alert


def test_unknown_alias_in_a_query_names_line_column_and_the_defined_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", ALIASES + claim_yaml("fail* AND @rusia"))
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert str(caught.value) == (
        f"{path}:11: claims[0].query: unknown alias @rusia; defined: @cuba, @partners, @russia"
        " at column 11"
    )


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        (
            "aliases:\n  russia: [Russia*, Moscow, Ro*, Kremlin]\n",
            ":2: aliases.russia[2]: wildcard needs at least 3 letters before * at column 1",
        ),
        (
            "aliases:\n  russia:\n    - Russia*\n    - Moscow OR Kremlin\n",
            ":4: aliases.russia[1]: a list item is one word, wildcard or phrase;"
            " write a query string to use operators, fields or groups at column 8",
        ),
        (
            "aliases:\n  russia:\n    - Russia*\n    - {x: 1}\n",
            ":4: aliases.russia[1]: must be a word, wildcard or phrase",
        ),
        (
            "aliases:\n  russia: Russia* OR (Moscow\n",
            ":2: aliases.russia: unbalanced parenthesis at column 12",
        ),
        (
            "aliases:\n  Russia: [Russia*]\n",
            ":2: aliases.Russia: 'Russia' is not a valid alias name:"
            " use lowercase letters, digits, - and _",
        ),
        ("aliases:\n  russia: []\n", ":2: aliases.russia: must be a non-empty list of terms"),
        ("aliases:\n  russia:\n", ":2: aliases.russia: must be a non-empty list of terms"),
        ("aliases: [russia]\n", ":1: aliases: must be a mapping of name: [terms]"),
        (
            "aliases:\n  partners: [\"@cuba\"]\n  cuba: [Cuba*]\n",
            ":2: aliases.partners[0]: unknown alias @cuba; no aliases are defined at column 1",
        ),
    ],
)
def test_alias_problems_name_file_line_and_field(
    tmp_path: Path, aliases: str, message: str
) -> None:
    path = write(tmp_path, "claims.yaml", aliases + claim_yaml("x"))
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert str(caught.value).startswith(f"{path}{message}")


def test_a_broken_alias_is_reported_once_not_again_by_its_users(tmp_path: Path) -> None:
    text = "aliases:\n  russia: [Ru*]\n" + claim_yaml("'@russia @nope'")
    path = write(tmp_path, "claims.yaml", text)
    with pytest.raises(ConfigErrors) as caught:
        load_claims(path)
    assert str(caught.value).splitlines() == [
        f"{path}:2: aliases.russia[0]: wildcard needs at least 3 letters before * at column 1",
        f"{path}:7: claims[0].query: unknown alias @nope; defined: @russia at column 9",
    ]


def test_unknown_top_level_key_names_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", "alias:\n  x: [y]\n" + claim_yaml("x"))
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    assert str(caught.value) == (
        f"{path}:1: alias: unknown top-level key 'alias' (allowed: claims, aliases)"
    )


def test_jsonl_claims_have_no_aliases(tmp_path: Path) -> None:
    path = write(
        tmp_path, "claims.jsonl", '{"id": "a", "title": "T", "statement": "S", "query": "@x y"}\n'
    )
    with pytest.raises(ConfigError, match=r":1: claims\[0\]\.query: unknown alias @x; no aliases"):
        load_claims(path)


def test_stemming_is_validated_and_used(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", claim_yaml("air defence fails", "    stem: EN\n"))
    (claim,) = load_claims(path).claims
    assert claim.stem == "en"
    item = Item(identity="1", title="Venezuela's air defences failed")
    (match,) = Matcher([claim]).match(item)
    assert match.alert and set(match.evidence.terms) == {"air", "defences", "failed"}
    unstemmed = claim.model_copy(update={"stem": None})
    assert Matcher([unstemmed]).match(item) == []
    spanish = write(tmp_path, "es.yaml", claim_yaml("fallar", "    stem: spanish\n"))
    assert load_claims(spanish).claims[0].stem == "spanish"


def test_unknown_stemming_language_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "claims.yaml", claim_yaml("x", "    stem: klingon\n"))
    with pytest.raises(ConfigError) as caught:
        load_claims(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:6: claims[0].stem: unknown stemming language 'klingon'")
    for code in ("en", "es", "ru", "pt", "fr", "de"):
        assert f" {code}," in message
