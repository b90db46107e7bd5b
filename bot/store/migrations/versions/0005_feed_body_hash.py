"""A hash of the body last parsed per feed, so a 200 with the same body (a server without
validators, or one that changes its ETag on every request) is not parsed again. Empty until
each feed's next poll.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("body_hash", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("body_hash")
