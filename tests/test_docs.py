"""The README documents every setting and command, and its quickstart is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from bot.cli import app
from bot.config import Settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table() -> None:
    for name, info in Settings.model_fields.items():
        env = info.validation_alias if isinstance(info.validation_alias, str) else None
        variable = env or f"CLAIMBOT_{name.upper()}"
        assert f"| `{variable}` |" in README, variable
        assert info.description, name


def test_every_command_is_in_the_readme() -> None:
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert f"claimbot {name}" in README, name
        assert command.help and "Example" in command.help or name == "claims", name


def test_quickstart_starts_with_two_commands_and_ci_runs_the_second() -> None:
    quickstart = README.split("## Quickstart", 1)[1]
    block = re.search(r"```sh\n(.*?)```", quickstart, re.S)
    assert block is not None
    commands = block.group(1).strip().splitlines()
    assert len(commands) == 2
    assert "claimbot demo" in commands[0]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_the_slack_app_manifest_asks_for_what_the_bot_uses() -> None:
    from ruamel.yaml import YAML

    manifest = YAML(typ="safe").load(REPO / "config" / "slack-app-manifest.yaml")
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update; conversations.history/replies for the lookup; /claimbot.
    assert scopes == {"chat:write", "channels:history", "groups:history", "commands"}
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/claimbot"]
    for scope in scopes:
        assert f"`{scope}`" in README, scope
