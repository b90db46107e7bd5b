"""Editing claims.yaml and feeds.yaml: only the intended lines change, every result is
validated before it is written, and writes are atomic and refuse to overwrite a hand edit."""

from __future__ import annotations

import difflib
import os
import shutil
import stat
from pathlib import Path

import pytest

from bot import yaml_splice
from bot.config import ConfigErrors, load_claims, load_feeds
from bot.config_edit import (
    add_claim,
    add_feed,
    import_feeds,
    remove_claim,
    remove_feed,
    replace_claim,
    set_claim_enabled,
    show_claim,
    update_claim,
    write_change,
)
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CLAIMS = REPO / "config" / "claims.yaml"
SHIPPED_FEEDS = REPO / "config" / "feeds.yaml"
# Lines of the shipped files that every edit must leave alone.
HEADER_LINE = (
    "# claimbot watch list: the claims that trigger a Slack alert when a news item reports"
    " them.\n"
)
ALIAS_COMMENT = (
    "# (several words are a phrase); an alias may also be a query string ('a OR \"b c\"')."
    " Alias terms\n"
)
US_ALIAS = (
    '  us: ["United States", US, U.S., American*, Washington*, "Estados Unidos", EEUU, "EE UU",\n'
    "       estadounidens*, norteamerican*, США, американ*, Вашингтон*]\n"
)


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(SHIPPED_CLAIMS, tmp_path / "claims.yaml"))


@pytest.fixture
def feeds_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(SHIPPED_FEEDS, tmp_path / "feeds.yaml"))


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed from ``before`` and added in ``after``."""
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(a=before.splitlines(True), b=after.splitlines(True))
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += matcher.a[i1:i2]
            added += matcher.b[j1:j2]
    return removed, added


# --- faithful rendering -----------------------------------------------------------------------


@pytest.mark.parametrize(("shipped", "section"), [(SHIPPED_CLAIMS, "claims"),
                                                  (SHIPPED_FEEDS, "feeds")])
def test_rendering_every_shipped_entry_unchanged_reproduces_the_file(
    shipped: Path, section: str
) -> None:
    """The load+dump check: each entry re-rendered by ruamel, spliced back, is byte-identical.

    (A whole-document dump is not: ruamel joins the `us:` alias's two-line flow list.)
    """
    layout = yaml_splice.read_layout(shipped, section)
    lines = list(layout.lines)
    for entry in reversed(layout.entries):
        lines[entry.dash : entry.stop] = yaml_splice.render(layout, entry.data)
    assert "".join(lines) == shipped.read_text(encoding="utf-8")


def test_changing_and_restoring_every_claims_title_gives_back_the_same_bytes(
    claims_file: Path,
) -> None:
    original = claims_file.read_bytes()
    for claim in load_claims(claims_file).claims:
        write_change(update_claim(claims_file, claim.id, {"title": "Something else"}))
        write_change(update_claim(claims_file, claim.id, {"title": claim.title}))
    assert claims_file.read_bytes() == original


# --- claims -----------------------------------------------------------------------------------


def test_show_gives_the_claim_as_written_and_where(claims_file: Path) -> None:
    shown = show_claim(claims_file, "cuban-agents-killed")
    lines = claims_file.read_text(encoding="utf-8").splitlines(True)
    assert lines[shown.line - 1] == "  - id: cuban-agents-killed\n"
    assert shown.text == "".join(lines[shown.line - 1 : shown.line + 13])
    assert shown.text.endswith("    tags: [cuba, venezuela, casualties, maduro]\n")


def test_add_appends_in_the_house_style_and_writes_only_when_asked(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    change = add_claim(claims_file, {
        "id": "s300-resold",
        "title": "Venezuela resold its S-300s",
        "statement": "Venezuela has sold the Russian S-300 batteries that failed to protect it on"
                     " to a third country, according to officials in Caracas.",
        "query": "@venezuela AND (S-300 OR S300) AND (sold OR resold)",
        "tags": ["venezuela", "air-defence"],
        "alert_at": 0.6,
        "channel": None,
    })
    assert claims_file.read_text(encoding="utf-8") == before  # not written yet
    assert change.claim is not None and change.claim.alert_at == 0.6
    assert change.claim.query is not None and "venezuel*" in change.claim.query
    assert change.snippet == (
        "  - id: s300-resold\n"
        "    title: Venezuela resold its S-300s\n"
        "    statement: >-\n"
        "      Venezuela has sold the Russian S-300 batteries that failed to protect it on to a"
        " third\n"
        "      country, according to officials in Caracas.\n"
        "    query: '@venezuela AND (S-300 OR S300) AND (sold OR resold)'\n"
        "    tags: [venezuela, air-defence]\n"
        "    alert_at: 0.6\n"
    )
    assert change.text == before + "\n" + change.snippet
    assert change.text.splitlines()[change.line - 1] == "  - id: s300-resold"
    write_change(change)
    assert load_claims(claims_file).get("s300-resold") == change.claim


def test_add_refuses_an_id_in_use(claims_file: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        add_claim(claims_file, {"id": "air-defence-failure", "title": "T", "statement": "S"})
    assert "already exists" in str(caught.value)
    assert caught.value.line is not None
    assert claims_file.read_text().splitlines()[caught.value.line - 1] == (
        "  - id: air-defence-failure"
    )


def test_update_sets_in_place_appends_new_keys_and_removes(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    change = update_claim(claims_file, "cuban-agents-killed",
                          {"title": "Havana: 32 agents killed", "channel": "#cuba", "stem": None})
    removed, added = changes(before, change.text)
    assert removed == ["    title: Havana says 32 Cuban agents killed in US raid\n"]
    assert added == ["    title: 'Havana: 32 agents killed'\n", "    channel: '#cuba'\n"]
    entry = show_claim_text(change.text, "cuban-agents-killed")
    assert entry.index("title:") < entry.index("query:") < entry.index("tags:") < entry.index(
        "channel:")


def show_claim_text(text: str, claim_id: str) -> str:
    start = text.index(f"  - id: {claim_id}\n")
    end = text.find("\n  - id:", start + 1)
    return text[start : end if end > 0 else len(text)]


def test_disable_then_enable_leaves_the_file_as_it_was(claims_file: Path) -> None:
    original = claims_file.read_bytes()
    disabling = set_claim_enabled(claims_file, "air-defence-failure", False)
    assert changes(original.decode(), disabling.text) == ([], ["    enabled: false\n"])
    write_change(disabling)
    assert "air-defence-failure" not in {c.id for c in load_claims(claims_file).enabled}
    assert set_claim_enabled(claims_file, "air-defence-failure", False).unchanged
    write_change(set_claim_enabled(claims_file, "air-defence-failure", True))
    assert claims_file.read_bytes() == original


def test_an_invalid_result_names_the_real_file_and_line_and_writes_nothing(
    claims_file: Path,
) -> None:
    original = claims_file.read_bytes()
    mtime = claims_file.stat().st_mtime_ns
    with pytest.raises(ConfigErrors) as caught:
        update_claim(claims_file, "cuban-agents-killed", {"query": "a AND (b"})
    first = caught.value.errors[0]
    assert first.path == str(claims_file) and first.field == "claims[3].query"
    assert first.problem == "unbalanced parenthesis at column 7"
    assert first.line == show_claim(claims_file, "cuban-agents-killed").line + 5
    assert "nothing was written" in str(caught.value)
    assert claims_file.read_bytes() == original
    assert claims_file.stat().st_mtime_ns == mtime


def test_an_unknown_alias_is_caught_like_the_loader_does(claims_file: Path) -> None:
    with pytest.raises(ConfigErrors, match="unknown alias"):
        add_claim(claims_file, {"id": "x", "title": "T", "statement": "S",
                                "query": "@nowhere AND fail*"})


def test_the_id_cannot_change(claims_file: Path) -> None:
    with pytest.raises(ConfigError, match="the id cannot change"):
        update_claim(claims_file, "cuban-agents-killed", {"id": "cuban-agents-dead"})
    edited = show_claim(claims_file, "cuban-agents-killed").text.replace(
        "id: cuban-agents-killed", "id: cuban-agents-dead")
    with pytest.raises(ConfigError, match="the id cannot change") as caught:
        replace_claim(claims_file, "cuban-agents-killed", edited, source="draft.yaml")
    assert (caught.value.path, caught.value.line) == ("draft.yaml", 1)


def test_replace_takes_the_text_as_written_whatever_its_indentation(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    shown = show_claim(claims_file, "cuban-agents-killed").text
    dedented = "".join(line[2:] for line in shown.splitlines(True))  # as if pasted at column 0
    edited = dedented.replace("  tags: [cuba,", "  # why: the raid\n  tags: [cuba,")
    change = replace_claim(claims_file, "cuban-agents-killed", edited + "\n\n", source="d.yaml")
    assert changes(before, change.text) == ([], ["    # why: the raid\n"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- id: cuban-agents-killed\n  title: [unclosed\n", "invalid YAML"),
        ("- id: cuban-agents-killed\n  title: T\n- id: second\n", "expected exactly one claim"),
    ],
)
def test_replace_rejects_text_that_is_not_one_claim(
    claims_file: Path, text: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        replace_claim(claims_file, "cuban-agents-killed", text, source="draft.yaml")
    assert caught.value.path == "draft.yaml"


COMMENTED = """\
# file header
claims:
  # comment above the first claim
  - id: first
    title: First
    statement: S

  # about the second claim
  # (two lines)
  - id: second
    title: Second   # eol comment
    statement: >-
      # not a comment: part of the folded statement

  # about the third claim
  - id: third
    title: Third
    statement: S
# trailing comment
"""


def test_remove_takes_the_comments_directly_above_and_no_others(tmp_path: Path) -> None:
    path = tmp_path / "claims.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    change = remove_claim(path, "second")
    assert change.snippet == (
        "  # about the second claim\n  # (two lines)\n  - id: second\n"
        "    title: Second   # eol comment\n    statement: >-\n"
        "      # not a comment: part of the folded statement\n"
    )
    assert change.text == COMMENTED.replace(change.snippet + "\n", "")
    first = remove_claim(path, "first").text
    assert first.startswith("# file header\nclaims:\n  # about the second claim\n")
    last = remove_claim(path, "third").text
    assert last.endswith("part of the folded statement\n\n# trailing comment\n")


def test_comments_above_stay_when_they_may_head_the_next_entry(feeds_file: Path) -> None:
    before = feeds_file.read_text(encoding="utf-8")
    change = remove_feed(feeds_file, "BBC News Mundo")
    heading = "  # --- Spanish " + "-" * 79 + "\n"
    entry = (
        "  - name: BBC News Mundo\n    url: https://feeds.bbci.co.uk/mundo/rss.xml\n"
        "    interval: 15m\n    tags: [es, world, latam]\n"
    )
    assert change.snippet == entry
    assert change.text == before.replace(heading + entry + "\n", heading)
    assert heading + "  - name: El País — América\n" in change.text


def test_removing_every_claim_keeps_the_header_and_an_empty_list(claims_file: Path) -> None:
    for claim in load_claims(claims_file).claims:
        write_change(remove_claim(claims_file, claim.id))
    text = claims_file.read_text(encoding="utf-8")
    assert text.startswith(HEADER_LINE) and ALIAS_COMMENT in text and US_ALIAS in text
    assert text.endswith("  ukraine: [Ukrain*, Ucrania*, ucranian*, Украин*]\n\nclaims:\n")
    assert load_claims(claims_file).claims == ()
    write_change(add_claim(claims_file, {"id": "again", "title": "T", "statement": "S"}))
    assert text + "  - id: again\n" in claims_file.read_text(encoding="utf-8")


# --- comments between claims stay where they are --------------------------------------------

# ruamel hangs each comment below a claim on that claim's last key; an edit of the claim
# must not render it a second time inside the claim.
BETWEEN = """\
# header
claims:
  # above a
  - id: a
    title: A
    # inside a, above its statement
    statement: Sa.  # same line as a's last

  # about b: keep this note
  - id: b
    title: B
    statement: >-
      A long folded statement that
      runs over two lines.
  # directly below b

  # - id: old
  #   title: Old (commented out)
  #   statement: So.

  - id: c
    title: C
    statement: Sc.
    tags: [x, y]
  # below c's flow list

  - id: d
    title: D
    statement: Sd.
    tags:
      - x
      - y  # same line as y
    # below d's block list

# about the aliases
aliases:
  x: [ex]
  y: [why]
# the end
"""
# Each claim's last line: what an edit adds goes directly below it.
LAST_LINES = {
    "a": "    statement: Sa.  # same line as a's last\n",
    "b": "      runs over two lines.\n",
    "c": "    tags: [x, y]\n",
    "d": "      - y  # same line as y\n",
}
NO_ALIASES = BETWEEN[: BETWEEN.index("\n# about the aliases")] + "\n"


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines(True) if line.lstrip().startswith("#")]


@pytest.fixture(params=[BETWEEN, NO_ALIASES], ids=["aliases-below", "claims-last"])
def between_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "claims.yaml"
    path.write_text(request.param, encoding="utf-8")
    return path


@pytest.mark.parametrize("claim_id", sorted(LAST_LINES))
def test_adding_a_key_leaves_the_comments_below_the_claim_alone(
    between_file: Path, claim_id: str
) -> None:
    before = between_file.read_text(encoding="utf-8")
    last = LAST_LINES[claim_id]
    for threshold in ("0.7", "0.6", "0.5"):  # each edit used to add one more copy
        write_change(update_claim(between_file, claim_id, {"alert_at": float(threshold)}))
        after = between_file.read_text(encoding="utf-8")
        assert after == before.replace(last, f"{last}    alert_at: {threshold}\n")
        assert comment_lines(after) == comment_lines(before)


@pytest.mark.parametrize("claim_id", sorted(LAST_LINES))
def test_disable_and_enable_leave_the_comments_below_the_claim_alone(
    between_file: Path, claim_id: str
) -> None:
    before = between_file.read_text(encoding="utf-8")
    last = LAST_LINES[claim_id]
    disabling = set_claim_enabled(between_file, claim_id, False)
    assert disabling.text == before.replace(last, last + "    enabled: false\n")
    assert disabling.snippet.endswith(last + "    enabled: false\n")
    assert comment_lines(disabling.text) == comment_lines(before)
    write_change(disabling)
    write_change(set_claim_enabled(between_file, claim_id, True))
    assert between_file.read_text(encoding="utf-8") == before
    title = update_claim(between_file, claim_id, {"title": "New"}).text
    assert changes(before, title) == ([f"    title: {claim_id.upper()}\n"], ["    title: New\n"])


@pytest.mark.parametrize("claim_id", sorted(LAST_LINES))
def test_remove_leaves_the_comments_below_the_claim_alone(
    between_file: Path, claim_id: str
) -> None:
    before = between_file.read_text(encoding="utf-8")
    change = remove_claim(between_file, claim_id)
    removed, added = changes(before, change.text)
    assert added == [] and "".join(removed).strip("\n") == change.snippet.strip("\n")
    gone = comment_lines(change.snippet)
    assert gone == (["  # above a\n", "    # inside a, above its statement\n"]
                    if claim_id == "a" else [])
    assert comment_lines(change.text) == [c for c in comment_lines(before) if c not in gone]


# --- line separators in a value -------------------------------------------------------------

LINE_SEPARATOR_CASES = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("separator", LINE_SEPARATOR_CASES, ids=["LS", "PS", "NEL"])
def test_a_line_separator_in_a_title_is_a_space_and_elsewhere_kept(
    tmp_path: Path, separator: str
) -> None:
    """str.splitlines (and ruamel) break lines at NEL, LS and PS: neither refuse nor mangle."""
    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n  - id: a\n    title: A\n    statement: Sa.\n", encoding="utf-8")
    statement = f"First line{separator}second line, " + "and more " * 12
    write_change(update_claim(path, "a", {"title": f"Two{separator}lines",
                                          "statement": statement}))
    write_change(add_claim(path, {"id": "b", "title": f"B{separator}title", "statement":
                                  f"Sb{separator}.", "query": f"one{separator}two"}))
    text = path.read_text(encoding="utf-8")
    assert separator not in text  # written escaped: the file's lines are its lines
    claims = {c.id: c for c in load_claims(path).claims}
    assert (claims["a"].title, claims["a"].statement) == ("Two lines", statement)
    assert (claims["b"].title, claims["b"].statement) == ("B title", f"Sb{separator}.")
    # A later edit of another field leaves them as they are.
    write_change(update_claim(path, "a", {"alert_at": 0.5}))
    assert load_claims(path).get("a").statement == statement  # type: ignore[union-attr]
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n", encoding="utf-8")
    write_change(add_feed(feeds, {"url": "https://a.example/rss", "name": f"A{separator}B"}))
    assert load_feeds(feeds).feeds[0].name == "A B"


def test_a_line_separator_inside_a_quoted_string_is_text_within_its_line(
    tmp_path: Path,
) -> None:
    """As in YAML 1.2 (and ruamel's line numbers): only \\n, \\r\\n and \\r end a line."""
    path = tmp_path / "claims.yaml"
    claim_b = "  - id: b\n    title: B\n    statement: Sb.\n"
    path.write_text(f"claims:\n  - id: a\n    title: A\n    statement: Sa.\n\n{claim_b}",
                    encoding="utf-8")
    edited = '- id: a\n  title: A\n  statement: "one\u2028two"\n'  # as typed in the editor
    write_change(replace_claim(path, "a", edited, source="draft.yaml"))
    written = path.read_text(encoding="utf-8")
    assert '    statement: "one\u2028two"\n\n' + claim_b in written
    write_change(set_claim_enabled(path, "b", False))
    assert path.read_text(encoding="utf-8") == written + "    enabled: false\n"
    write_change(update_claim(path, "a", {"title": "Changed"}))
    assert [(c.title, c.statement) for c in load_claims(path).claims] == [
        ("Changed", "one\u2028two"), ("B", "Sb.")]


# --- feeds ------------------------------------------------------------------------------------


def test_add_feed_refuses_a_listed_url_even_written_differently(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: data/local.xml\n    name: Local\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already listed as 'Local'"):
        add_feed(path, {"url": "./data/../data/local.xml"})
    assert add_feed(path, {"url": "data/other.xml"}).added[0].url == str(
        (tmp_path / "data" / "other.xml").resolve())


@pytest.mark.parametrize("empty", ["feeds: []\n", "feeds:\n", "", "# only a comment\n",
                                   "feeds: []  # none yet\n"])
def test_feeds_can_be_added_to_an_empty_file(tmp_path: Path, empty: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(empty, encoding="utf-8")
    change = import_feeds(path, [{"url": "https://a.example/rss", "tags": ["en"]},
                                 {"url": "https://b.example/rss", "name": "B"}])
    write_change(change)
    assert [f.url for f in load_feeds(path).feeds] == ["https://a.example/rss",
                                                        "https://b.example/rss"]
    assert "  - url: https://a.example/rss\n    tags: [en]\n\n  - name: B\n" in path.read_text()


def test_import_skips_feeds_listed_in_the_file_or_earlier_in_the_import(
    feeds_file: Path,
) -> None:
    change = import_feeds(feeds_file, [
        {"url": "https://feeds.bbci.co.uk/news/world/rss.xml", "name": "dup of the file"},
        {"url": "https://new.example/rss"},
        {"url": "https://new.example/rss", "name": "dup of the import"},
    ])
    assert [f.url for f in change.added] == ["https://new.example/rss"]
    assert change.skipped == ("https://feeds.bbci.co.uk/news/world/rss.xml",
                              "https://new.example/rss")


def test_remove_feed_by_url_or_name_keeps_the_other_comments(feeds_file: Path) -> None:
    before = feeds_file.read_text(encoding="utf-8")
    by_name = remove_feed(feeds_file, "DW — English (all)")
    entry = (
        "  - name: DW — English (all)\n"
        "    url: https://rss.dw.com/rdf/rss-en-all      # RSS 1.0 (RDF)\n"
        "    interval: 15m\n"
        "    tags: [en, world, europe]\n"
    )
    assert by_name.snippet == entry
    assert by_name.text == before.replace(entry + "\n", "")
    assert "  # --- English: Russia-focused ----" in by_name.text
    by_url = remove_feed(feeds_file, "https://rss.dw.com/rdf/rss-en-all")
    assert by_url.text == by_name.text


def test_an_ambiguous_or_unknown_feed_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a/\n    name: Same\n"
                    "  - url: https://b/\n    name: Same\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"2 feeds are named 'Same' \(lines 2, 4\)"):
        remove_feed(path, "Same")
    with pytest.raises(ConfigError, match="no feed with URL or name 'Other'"):
        remove_feed(path, "Other")


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"# feeds\r\nfeeds:\r\n  - url: https://a/\r\n")
    write_change(add_feed(path, {"url": "https://b/"}))
    assert path.read_bytes() == (
        b"# feeds\r\nfeeds:\r\n  - url: https://a/\r\n\r\n  - url: https://b/\r\n"
    )


# --- writing ----------------------------------------------------------------------------------


def test_writes_are_atomic_keep_permissions_and_leave_no_temp_file(claims_file: Path) -> None:
    claims_file.chmod(0o640)
    inode = claims_file.stat().st_ino
    write_change(set_claim_enabled(claims_file, "air-defence-failure", False))
    assert stat.S_IMODE(claims_file.stat().st_mode) == 0o640
    assert claims_file.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert os.listdir(claims_file.parent) == ["claims.yaml"]


def test_a_file_changed_since_it_was_read_is_not_overwritten(claims_file: Path) -> None:
    change = set_claim_enabled(claims_file, "air-defence-failure", False)
    hand_edit = claims_file.read_text(encoding="utf-8") + "# added by hand meanwhile\n"
    claims_file.write_text(hand_edit, encoding="utf-8")
    with pytest.raises(ConfigError, match="changed on disk since claimbot read it"):
        write_change(change)
    assert claims_file.read_text(encoding="utf-8") == hand_edit
    assert os.listdir(claims_file.parent) == ["claims.yaml"]


def test_writing_through_a_symlink_replaces_its_target(claims_file: Path) -> None:
    link = claims_file.parent / "link.yaml"
    link.symlink_to(claims_file.name)
    write_change(set_claim_enabled(link, "air-defence-failure", False))
    assert link.is_symlink()
    assert "    enabled: false\n" in claims_file.read_text(encoding="utf-8")


def test_a_change_that_changes_nothing_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("", encoding="utf-8")
    change = import_feeds(path, [])
    assert change.unchanged and change.text == ""
    write_change(change)
    assert path.read_text(encoding="utf-8") == ""
