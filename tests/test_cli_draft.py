"""``claimbot claims draft`` through the CLI runner: an invented article in, YAML drafts out
that load as claims, all disabled, and that can be tried at once."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_claims

ARTICLE = """\
# Harbour deal in doubt

Officials in Montevideo said the Chinese-built cranes at the new harbour failed their first
load test on Monday.

The weather was mild.

According to Reuters, Uruguay's port authority is reviewing the contract with the builder.
"""


def test_drafts_load_as_disabled_claims_and_can_be_tried(tmp_path: Path) -> None:
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    drafts_file = tmp_path / "drafts.yaml"
    result = CliRunner().invoke(app, ["claims", "draft", str(article), "-o", str(drafts_file)])
    assert result.exit_code == 0, result.output
    drafts = load_claims(drafts_file)
    assert len(drafts.claims) == 2 and not drafts.enabled  # the weather line is no statement
    text = drafts_file.read_text(encoding="utf-8")
    assert "# from line 3, attributed to: Officials" in text
    assert "attributed to: Reuters" in text
    first = drafts.claims[0]
    tried = CliRunner().invoke(
        app,
        ["claims", "test", "--claims", str(drafts_file), "--claim", first.id,
         "Cranes failed load test at Montevideo harbour, officials say"],
        env={"CLAIMBOT_SEMANTIC": "off", "COLUMNS": "200"},
    )
    assert tried.exit_code == 0 and first.id in tried.stdout


def test_an_article_with_nothing_attributed_or_no_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("The weather was mild. Markets were calm.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["claims", "draft", str(plain)])
    assert result.exit_code == 1 and "no attributed statements found" in result.stderr
    missing = CliRunner().invoke(app, ["claims", "draft", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and "nope.txt: file not found" in missing.stderr
