"""listing.observed_at: when the acknowledged quantity was last read live

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.add_column(
            sa.Column("observed_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("listing") as batch:
        batch.drop_column("observed_at")
