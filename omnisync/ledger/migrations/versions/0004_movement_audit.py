"""movement.actor and movement.batch: who or what made each movement, and the import it belongs to

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("movement") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("batch", sa.String(length=64), nullable=True))
        batch.create_index("ix_movement_batch", ["batch"])


def downgrade() -> None:
    with op.batch_alter_table("movement") as batch:
        batch.drop_index("ix_movement_batch")
        batch.drop_column("batch")
        batch.drop_column("actor")
