"""listing.dirty_mark: a settle clears dirty only if no mark came after the plan's read

Revision ID: 0020_quality
Revises: 0012_amazon19
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_quality"
down_revision = "0012_amazon19"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.add_column(sa.Column("dirty_mark", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.drop_column("dirty_mark")
