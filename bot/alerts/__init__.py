"""Slack alerts: Block Kit rendering (pure, ``render``) and delivery (``slack``)."""
