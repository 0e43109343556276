"""alert and alert_delivery: alert state per condition key, and what each notifier was told

Revision ID: 0004_alerts
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models

revision = "0004_alerts"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ts = omnisync.ledger.models.UTCDateTime(timezone=True)
    op.create_table(
        "alert",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("sku", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since", ts, nullable=True),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("raised_at", ts, nullable=True),
        sa.Column("resolved_at", ts, nullable=True),
        sa.Column("updated_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "alert_delivery",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("notifier", sa.String(length=64), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", ts, nullable=False),
        sa.PrimaryKeyConstraint("key", "notifier"),
    )


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("alert")
