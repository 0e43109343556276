"""external_count: a channel's latest count of a SKU in a location it keeps itself (FBA), with its
breakdown (fulfillable, inbound, reserved) for explain and the status page

Revision ID: 0012_amazon19
Revises: 0013_kits18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models

revision = "0012_amazon19"
down_revision = "0013_kits18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_count",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("read_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("product_id", "location_id"),
    )


def downgrade() -> None:
    op.drop_table("external_count")
