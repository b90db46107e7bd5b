"""Matches remember their feed; indexes for the history queries (``claimbot matches``,
``feeds status``) to stay fast at a million items.

``matches.feed_id`` copies the item's feed so "matches from this feed, newest
first" is one index range. Written to be re-runnable: a database from a
development build may already have some of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_matches_feed_created", "matches", ["feed_id", "created_at"]),
    # feeds status: items per feed per day, and each feed's newest item.
    ("ix_items_feed_first_seen", "items", ["feed_id", "first_seen_at"]),
    # matches --min-score, newest first.
    ("ix_matches_score_created", "matches", ["score", "created_at"]),
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "feed_id" not in {c["name"] for c in inspector.get_columns("matches")}:
        # SQLite adds a column with a reference in place (Alembic would want batch mode,
        # which copies the table and loses the full-text triggers on it).
        op.execute("ALTER TABLE matches ADD COLUMN feed_id INTEGER REFERENCES feeds (id)")
    op.execute(
        "UPDATE matches SET feed_id = (SELECT feed_id FROM items WHERE items.id = matches.item_id)"
        " WHERE feed_id IS NULL"
    )
    for name, table, columns in _INDEXES:
        if name not in {index["name"] for index in inspector.get_indexes(table)}:
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("matches") as batch_op:
        batch_op.drop_column("feed_id")
