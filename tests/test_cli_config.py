"""``claimbot claims show|add|edit|enable|disable|remove`` and ``claimbot feeds ...``, run
in-process with typer's runner against copies of the shipped config files (and twice as
a real process)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.config import load_claims, load_feeds
from tests.test_cli import claimbot
from tests.test_config_edit import ALIAS_COMMENT, HEADER_LINE, US_ALIAS, changes

REPO = Path(__file__).resolve().parents[1]
# Comment lines of the shipped files that no edit may lose.
CLAIMS_COMMENTS = [HEADER_LINE, ALIAS_COMMENT, "# Named term sets, used in queries as @russia etc."]
FEEDS_COMMENTS = [
    "# claimbot feeds: the real-world news feeds the bot polls for items that report a watched",
    "  # --- Spanish -----------------------------------------------------------------------------",
    "    url: https://rss.dw.com/rdf/rss-sp-all      # RSS 1.0 (RDF)\n",
]


@pytest.fixture
def claims_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(REPO / "config" / "claims.yaml", tmp_path / "claims.yaml"))


@pytest.fixture
def feeds_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(REPO / "config" / "feeds.yaml", tmp_path / "feeds.yaml"))


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})},
                              input=input)


def claims(
    path: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> Result:
    return run("claims", *args, "--claims", str(path), env=env, input=input)


def keeps_comments(text: str, comments: list[str]) -> bool:
    return all(comment in text for comment in comments)


def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """An $EDITOR that runs ``body`` on the file it is given (``path``)."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\nfrom pathlib import Path\npath = Path(sys.argv[1])\n"
        + textwrap.dedent(body),
        encoding="utf-8",
    )
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def discard_draft(result: Result) -> Path:
    """Delete the edit claimbot kept after refusing it; returns the draft's path."""
    note = next(line for line in result.stderr.splitlines() if line.startswith("your edit is"))
    draft = Path(note.removeprefix("your edit is kept in "))
    assert draft.parent.name.startswith("claimbot-edit-")
    shutil.rmtree(draft.parent)
    return draft


# --- claims -----------------------------------------------------------------------------------


def test_show_prints_the_claim_as_written_with_its_place(claims_file: Path) -> None:
    result = claims(claims_file, "show", "cuban-agents-killed")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines(True)
    assert lines[0] == f"# {claims_file}:102\n"
    file_lines = claims_file.read_text(encoding="utf-8").splitlines(True)
    assert "".join(lines[1:]) == "".join(file_lines[101:115])


def test_show_of_an_unknown_id_says_so(claims_file: Path) -> None:
    result = claims(claims_file, "show", "no-such-claim")
    assert result.exit_code == 1
    assert result.stderr == f"error: {claims_file}: no claim with id 'no-such-claim' (claimbot" \
        " claims list shows them)\n"


def test_add_appends_one_claim_and_touches_nothing_else(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    result = claims(
        claims_file, "add", "--id", "s300-resold", "--title", "S-300s resold",
        "--statement", "Venezuela resold its S-300 batteries.", "--query", "@venezuela AND S-300",
        "--tag", "venezuela", "--tag", "air-defence", "--severity", "high", "--disabled",
    )
    assert result.exit_code == 0, result.output
    after = claims_file.read_text(encoding="utf-8")
    assert result.stdout == f"added claim s300-resold at {claims_file}:237\n"
    assert changes(before, after) == ([], [
        "\n",
        "  - id: s300-resold\n",
        "    title: S-300s resold\n",
        "    statement: Venezuela resold its S-300 batteries.\n",
        "    query: '@venezuela AND S-300'\n",
        "    tags: [venezuela, air-defence]\n",
        "    enabled: false\n",
        "    severity: high\n",
    ])
    assert keeps_comments(after, CLAIMS_COMMENTS) and US_ALIAS in after
    added = load_claims(claims_file).get("s300-resold")
    assert added is not None and added.severity == "high" and not added.enabled


def test_add_dry_run_prints_the_yaml_and_writes_nothing(claims_file: Path) -> None:
    before = claims_file.read_bytes()
    database = f"sqlite:///{claims_file.parent / 'empty.db'}"
    result = claims(claims_file, "add", "--id", "new-one", "--title", "T", "--statement", "S.",
                    "--dry-run", env={"CLAIMBOT_DATABASE_URL": database,
                                      "CLAIMBOT_SEMANTIC": "off"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"dry run: would add at {claims_file}:237 (nothing written):\n"
        "  - id: new-one\n    title: T\n    statement: S.\n"
    )  # then the replay on stored items (tests/test_replay.py)
    assert "no stored items in that window" in result.stdout
    assert claims_file.read_bytes() == before


def test_add_refuses_a_duplicate_id(claims_file: Path) -> None:
    before = claims_file.read_bytes()
    result = claims(claims_file, "add", "--id", "air-defence-failure", "--title", "T",
                    "--statement", "S")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {claims_file}:117: id: a claim with id")
    assert claims_file.read_bytes() == before


def test_edit_sets_fields_in_place(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    result = claims(claims_file, "edit", "air-defence-failure", "--alert-at", "0.7",
                    "--tag", "military", "--title", "Air defences failed")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"updated claim air-defence-failure ({claims_file}:117)\n"
    after = claims_file.read_text(encoding="utf-8")
    assert changes(before, after) == (
        ["    title: Russian air defences failed in Venezuela\n",
         "    tags: [venezuela, russia, air-defence, military]\n"],
        ["    title: Air defences failed\n", "    tags: [military]\n", "    alert_at: 0.7\n"],
    )


def test_edit_removes_fields_and_refuses_contradictions(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    both = claims(claims_file, "edit", "cuban-agents-killed", "--query", "x", "--no-query")
    assert both.exit_code == 1 and "--query and --no-query contradict" in both.stderr
    result = claims(claims_file, "edit", "cuban-agents-killed", "--no-query", "--no-tags")
    assert result.exit_code == 0, result.output
    removed, added = changes(before, claims_file.read_text(encoding="utf-8"))
    assert added == [] and removed[0] == "    query: >-\n" and len(removed) == 9
    claim = load_claims(claims_file).get("cuban-agents-killed")
    assert claim is not None and claim.query is None and claim.tags == ()


def test_an_invalid_edit_exits_1_with_file_line_and_leaves_the_file_alone(
    claims_file: Path,
) -> None:
    before = claims_file.read_bytes()
    mtime = claims_file.stat().st_mtime_ns
    result = claims(claims_file, "edit", "cuban-agents-killed", "--query", "a AND (b")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {claims_file}:107: claims[3].query: unbalanced parenthesis at column 7",
        f"error: {claims_file}: nothing was written; line numbers are those the file would"
        " have after this change",
    ]
    assert claims_file.read_bytes() == before
    assert claims_file.stat().st_mtime_ns == mtime


def test_edit_in_the_editor_changes_only_what_was_edited(
    claims_file: Path, tmp_path: Path
) -> None:
    before = claims_file.read_text(encoding="utf-8")
    env = editor(tmp_path, """
        text = path.read_text()
        assert text.startswith("  - id: cuban-agents-killed\\n"), text
        path.write_text(text.replace("killed in US raid", "killed in the raid")
                        .replace("    tags:", "    # checked with Havana's statement\\n    tags:"))
    """)
    result = claims(claims_file, "edit", "cuban-agents-killed", env=env)
    assert result.exit_code == 0, result.output
    assert changes(before, claims_file.read_text(encoding="utf-8")) == (
        ["    title: Havana says 32 Cuban agents killed in US raid\n"],
        ["    title: Havana says 32 Cuban agents killed in the raid\n",
         "    # checked with Havana's statement\n"],
    )
    assert sorted(os.listdir(claims_file.parent)) == ["claims.yaml", "editor.py"]


def test_the_editor_cannot_change_the_id(claims_file: Path, tmp_path: Path) -> None:
    before = claims_file.read_bytes()
    env = editor(tmp_path, """
        path.write_text(path.read_text().replace("id: cuban-agents-killed", "id: renamed"))
    """)
    result = claims(claims_file, "edit", "cuban-agents-killed", env=env)
    assert result.exit_code == 1
    assert "id: the id cannot change from 'cuban-agents-killed'" in result.stderr
    assert claims_file.read_bytes() == before
    discard_draft(result)


def test_an_invalid_edit_in_the_editor_points_at_the_real_file_and_keeps_the_draft(
    claims_file: Path, tmp_path: Path
) -> None:
    before = claims_file.read_bytes()
    env = editor(tmp_path, """
        path.write_text(path.read_text().replace("@cuba\\n", "@cuba AND (\\n", 1))
    """)
    result = claims(claims_file, "edit", "cuban-agents-killed", env=env)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0].startswith(f"your edit is kept in {tempfile.gettempdir()}")
    assert errors[1].startswith(f"error: {claims_file}:107: claims[3].query: ")
    assert claims_file.read_bytes() == before
    draft = Path(errors[0].removeprefix("your edit is kept in "))
    assert "@cuba AND (" in draft.read_text(encoding="utf-8")
    discard_draft(result)


def test_a_hand_edit_made_while_the_editor_was_open_is_not_overwritten(
    claims_file: Path, tmp_path: Path
) -> None:
    env = editor(tmp_path, f"""
        path.write_text(path.read_text().replace("killed in US raid", "killed"))
        real = Path({str(claims_file)!r})
        real.write_text(real.read_text() + "# someone else's edit\\n")
    """)
    result = claims(claims_file, "edit", "cuban-agents-killed", env=env)
    assert result.exit_code == 1
    assert "the file changed on disk since claimbot read it" in result.stderr
    text = claims_file.read_text(encoding="utf-8")
    assert text.endswith("# someone else's edit\n") and "killed in US raid" in text
    discard_draft(result)


def test_disable_and_enable_round_trip(claims_file: Path) -> None:
    original = claims_file.read_bytes()
    disabled = claims(claims_file, "disable", "air-defence-failure")
    assert disabled.exit_code == 0 and disabled.stdout.startswith("disabled claim")
    assert "    enabled: false\n" in claims_file.read_text(encoding="utf-8")
    again = claims(claims_file, "disable", "air-defence-failure")
    assert again.stdout == f"{claims_file}: nothing to change\n"
    assert claims(claims_file, "enable", "air-defence-failure").exit_code == 0
    assert claims_file.read_bytes() == original


def test_edits_do_not_copy_the_next_claims_comment_into_the_claim(tmp_path: Path) -> None:
    """The reviewer's case: each edit used to add one more copy of "# about b"."""
    path = tmp_path / "claims.yaml"
    path.write_text(
        "claims:\n  - id: a\n    title: A\n    statement: Sa.\n\n  # about b: keep this note\n"
        "  - id: b\n    title: B\n    statement: Sb.\n", encoding="utf-8"
    )
    for args in (["disable", "a"], ["enable", "a"], ["edit", "a", "--alert-at", "0.7"]):
        result = claims(path, *args)
        assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == (
        "claims:\n  - id: a\n    title: A\n    statement: Sa.\n    alert_at: 0.7\n\n"
        "  # about b: keep this note\n  - id: b\n    title: B\n    statement: Sb.\n"
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"], ids=["LS", "PS", "NEL"])
def test_a_line_separator_in_title_or_statement_is_taken(
    claims_file: Path, separator: str
) -> None:
    result = claims(claims_file, "edit", "air-defence-failure", "--title",
                    f"Air defence{separator}failed", "--statement", f"One.{separator}Two.")
    assert result.exit_code == 0, result.output
    claim = load_claims(claims_file).get("air-defence-failure")
    assert claim is not None
    assert (claim.title, claim.statement) == ("Air defence failed", f"One.{separator}Two.")


def test_remove_asks_first_and_says_history_is_kept(claims_file: Path) -> None:
    before = claims_file.read_text(encoding="utf-8")
    declined = claims(claims_file, "remove", "air-defence-failure", input="n\n")
    assert declined.exit_code == 1 and "remove claim air-defence-failure?" in declined.stdout
    assert claims_file.read_text(encoding="utf-8") == before
    result = claims(claims_file, "remove", "air-defence-failure", "--yes")
    assert result.exit_code == 0, result.output
    assert "stored matches and alerts are kept" in result.stdout
    after = claims_file.read_text(encoding="utf-8")
    removed, added = changes(before, after)
    assert added == [] and removed[0] == "  - id: air-defence-failure\n" and len(removed) == 17
    assert keeps_comments(after, CLAIMS_COMMENTS) and US_ALIAS in after
    assert len(load_claims(claims_file).claims) == 10


# --- feeds ------------------------------------------------------------------------------------


def feeds(path: Path, *args: str) -> Result:
    return run("feeds", *args, "--feeds", str(path))


def test_list_shows_every_feed(feeds_file: Path) -> None:
    result = feeds(feeds_file, "list")
    assert result.exit_code == 0, result.output
    assert "27 feeds in" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "DW — Español" in line)
    assert "https://rss.dw.com/rdf/rss-sp-all" in row and "30m" in row and "es, world" in row


def test_add_and_remove_a_feed(feeds_file: Path) -> None:
    before = feeds_file.read_text(encoding="utf-8")
    added = feeds(feeds_file, "add", "data/local.xml", "--name", "Local", "--interval", "10m",
                  "--tag", "test")
    assert added.exit_code == 0, added.output
    assert changes(before, feeds_file.read_text(encoding="utf-8")) == ([], [
        "\n", "  - name: Local\n", "    url: data/local.xml\n", "    interval: 10m\n",
        "    tags: [test]\n",
    ])
    duplicate = feeds(feeds_file, "add", "./data/local.xml")
    assert duplicate.exit_code == 1 and "already listed as 'Local'" in duplicate.stderr
    removed = feeds(feeds_file, "remove", "Local", "--yes")
    assert removed.exit_code == 0 and "stored items are kept" in removed.stdout
    assert feeds_file.read_text(encoding="utf-8") == before


def test_remove_keeps_the_other_feeds_comments(feeds_file: Path) -> None:
    result = feeds(feeds_file, "remove", "https://feeds.bbci.co.uk/mundo/rss.xml", "--yes")
    assert result.exit_code == 0, result.output
    text = feeds_file.read_text(encoding="utf-8")
    assert keeps_comments(text, FEEDS_COMMENTS)
    assert "BBC News Mundo" not in text and len(load_feeds(feeds_file).feeds) == 26
    # The group heading above the removed feed now heads the next one.
    assert "-------\n  - name: El País — América\n" in text


NESTED_OPML = """<?xml version="1.0"?>
<opml version="2.0"><head><title>reader export</title></head><body>
  <outline text="Latin America">
    <outline text="El Pitazo" xmlUrl="https://elpitazo.net/feed/"/>
    <outline text="New one" xmlUrl="https://new.example/rss"/>
  </outline>
  <outline text="Top"><outline text="Deeper">
    <outline text="Deepest" xmlUrl="https://deep.example/rss"/>
  </outline></outline>
</body></opml>
"""


def test_import_opml_adds_nested_feeds_and_skips_listed_ones(
    feeds_file: Path, tmp_path: Path
) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(NESTED_OPML, encoding="utf-8")
    result = feeds(feeds_file, "import-opml", str(opml), "--tag", "imported")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{feeds_file}: added 2 feeds, skipped 1 already listed\n"
    by_url = {f.url: f for f in load_feeds(feeds_file).feeds}
    assert by_url["https://new.example/rss"].tags == ("imported", "latin-america")
    assert by_url["https://deep.example/rss"].tags == ("imported", "top", "deeper")
    assert by_url["https://elpitazo.net/feed/"].name == "El Pitazo (Venezuela)"
    assert keeps_comments(feeds_file.read_text(encoding="utf-8"), FEEDS_COMMENTS)


def test_import_opml_skips_local_paths_and_says_which(feeds_file: Path, tmp_path: Path) -> None:
    """An OPML file from elsewhere must not make the bot read local files."""
    before = feeds_file.read_text(encoding="utf-8")
    local = ["/etc/passwd", "../../etc/hostname", "file:///etc/shadow", "passwd", "./x.xml",
             "~/feeds.xml", "ftp://ftp.example/feed.xml"]
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><body>\n'
        + "".join(f'<outline text="L{i}" xmlUrl="{url}"/>\n' for i, url in enumerate(local))
        + '<outline text="Web" xmlUrl="https://web.example/rss"/>\n</body></opml>\n',
        encoding="utf-8",
    )
    result = feeds(feeds_file, "import-opml", str(opml))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{feeds_file}: added 1 feeds, skipped 0 already listed\n"
    assert result.stderr == (
        f"{opml}: not imported: 7 outlines whose feed URL is not http:// or https://\n"
        f"  {opml}:3: '/etc/passwd': a local file path, not an http(s) URL\n"
        f"  {opml}:4: '../../etc/hostname': a local file path, not an http(s) URL\n"
        f"  {opml}:5: 'file:///etc/shadow': a file: URL, not http(s)\n"
        f"  {opml}:6: 'passwd': a local file path, not an http(s) URL\n"
        f"  {opml}:7: './x.xml': a local file path, not an http(s) URL\n"
        "  and 2 more\n"
    )
    removed, added = changes(before, feeds_file.read_text(encoding="utf-8"))
    assert removed == [] and added == ["\n", "  - name: Web\n", "    url: https://web.example/rss\n"]


def test_import_opml_reads_a_file_nested_thousands_deep(feeds_file: Path, tmp_path: Path) -> None:
    opml = tmp_path / "deep.opml"
    opml.write_text(
        '<opml version="2.0"><body>' + '<outline text="Deep">' * 5000
        + '<outline text="Bottom" xmlUrl="https://bottom.example/rss"/>'
        + "</outline>" * 5000 + "</body></opml>", encoding="utf-8",
    )
    result = feeds(feeds_file, "import-opml", str(opml))
    assert result.exit_code == 0, result.output
    assert load_feeds(feeds_file).feeds[-1].tags == ("deep",)


def test_export_then_import_into_an_empty_file_gives_the_same_feeds(
    feeds_file: Path, tmp_path: Path
) -> None:
    with_extras = tmp_path / "extras.yaml"
    with_extras.write_text(
        feeds_file.read_text(encoding="utf-8")
        + "\n  - url: https://extra.example/rss\n    enabled: false\n    interval: 90\n"
        + "\n  - url: local/feed.xml\n", encoding="utf-8"
    )
    opml = tmp_path / "out.opml"
    exported = feeds(with_extras, "export-opml", "-o", str(opml))
    assert exported.exit_code == 0 and exported.stdout == f"wrote 29 feeds to {opml}\n"
    empty = tmp_path / "new" / "feeds.yaml"
    empty.parent.mkdir()
    empty.write_text("feeds: []\n", encoding="utf-8")
    imported = feeds(empty, "import-opml", str(opml))
    assert imported.exit_code == 0, imported.output
    # All but the local file, which an OPML file is not trusted to name.
    assert load_feeds(empty).feeds == load_feeds(with_extras).feeds[:-1]
    assert imported.stderr == (
        f"{opml}: not imported: 1 outline whose feed URL is not http:// or https://\n"
        f"  {opml}:35: '{tmp_path / 'local' / 'feed.xml'}': a local file path, not an http(s)"
        " URL\n"
    )


def test_export_writes_opml_to_stdout_by_default(feeds_file: Path) -> None:
    result = feeds(feeds_file, "export-opml")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert result.stdout.count("<outline ") == 27


def test_an_opml_file_with_entity_declarations_is_refused(
    feeds_file: Path, tmp_path: Path
) -> None:
    before = feeds_file.read_bytes()
    opml = tmp_path / "evil.opml"
    opml.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/"/>'
        "</body></opml>\n",
        encoding="utf-8",
    )
    result = feeds(feeds_file, "import-opml", str(opml))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {opml}:2: refusing an OPML file with a DOCTYPE")
    assert feeds_file.read_bytes() == before


# --- help and the real process ----------------------------------------------------------------

COMMANDS = [
    ["claims", "show"], ["claims", "add"], ["claims", "edit"], ["claims", "enable"],
    ["claims", "disable"], ["claims", "remove"], ["feeds", "list"], ["feeds", "add"],
    ["feeds", "remove"], ["feeds", "import-opml"], ["feeds", "export-opml"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Example: claimbot" in result.stdout


def test_as_a_real_process_an_added_claim_validates(claims_file: Path, tmp_path: Path) -> None:
    added = claimbot("claims", "add", "--id", "real-process", "--title", "T", "--statement",
                     "S.", "--claims", str(claims_file), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    checked = claimbot("claims", "validate", str(claims_file), cwd=tmp_path)
    assert checked.returncode == 0 and "12 claims OK" in checked.stdout
    broken = claimbot("claims", "edit", "real-process", "--query", "a AND (b", "--claims",
                      str(claims_file), cwd=tmp_path)
    assert broken.returncode == 1
    assert f"error: {claims_file}:240: claims[11].query: unbalanced" in broken.stderr
    assert sorted(os.listdir(tmp_path)) == ["claims.yaml"]
