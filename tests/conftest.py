"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.support.slack_server import SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A running local Slack Web API stand-in; stopped (socket closed) after the test."""
    # Imported here so that collecting tests never depends on this helper.
    from tests.support.slack_server import SlackStandIn

    with SlackStandIn() as stand_in:
        yield stand_in
