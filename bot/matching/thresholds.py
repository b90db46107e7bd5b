"""The default score lines a claim's alerts and suggestions start at.

They live apart from the matcher so that commands which only print or compare
thresholds (``claimbot alerts``, ``claims show``) need not load the matcher and
numpy just to start.
"""

DEFAULT_ALERT_AT = 0.5
DEFAULT_SUGGEST_AT = 0.25

__all__ = ["DEFAULT_ALERT_AT", "DEFAULT_SUGGEST_AT"]
