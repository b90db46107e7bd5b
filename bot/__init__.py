"""claimbot: watch news feeds for reports of specific claims and alert Slack."""

__version__ = "0.1.0"
