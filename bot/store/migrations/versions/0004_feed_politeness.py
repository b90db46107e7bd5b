"""What polling politely needs to remember per feed: where it moved (301/308), its RSS
<ttl>, and its publishing rate (for adaptive intervals). A feed gone for good (410) needs
no column: its status says "gone" and it has no next poll.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: batch mode would copy the table on SQLite.
    op.add_column("feeds", sa.Column("fetch_url", sa.Text(), nullable=True))
    op.add_column("feeds", sa.Column("ttl_seconds", sa.Integer(), nullable=True))
    op.add_column("feeds", sa.Column("cadence_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feeds", sa.Column("cadence_items", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch_op:
        for column in ("cadence_items", "cadence_since", "ttl_seconds", "fetch_url"):
            batch_op.drop_column(column)
