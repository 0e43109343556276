"""listing.acked_preorder: the preorder signal a channel last accepted for a listing

Revision ID: 0014_preorder18
Revises: 0004_adaptive
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_preorder18"
down_revision = "0004_adaptive"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.add_column(sa.Column("acked_preorder", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.drop_column("acked_preorder")
