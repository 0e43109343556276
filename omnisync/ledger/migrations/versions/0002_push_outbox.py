"""push outbox: inventory batches written before sending, replayed verbatim after a crash

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("created_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("push_outbox") as batch:
        batch.create_index("ix_push_outbox_channel_id", ["channel_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_outbox") as batch:
        batch.drop_index("ix_push_outbox_channel_id")
    op.drop_table("push_outbox")
