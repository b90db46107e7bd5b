"""Leases, so several workers can share one database: a feed is polled by one worker at a
time, a Slack channel's outbox drained by one worker at a time, and a dead worker's share
is taken over when its lease runs out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: batch mode would copy the table on SQLite.
    op.add_column("feeds", sa.Column("lease_owner", sa.String(), nullable=True))
    op.add_column("feeds", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "channel_leases",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_leases")
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
