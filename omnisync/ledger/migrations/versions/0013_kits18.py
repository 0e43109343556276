"""kit_component: kit SKUs made of components and quantities (kits, bundles, pack listings)

Revision ID: 0013_kits18
Revises: 0014_preorder18
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_kits18"
down_revision = "0014_preorder18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kit_component",
        sa.Column("kit_id", sa.Integer(), sa.ForeignKey("product.id"), primary_key=True),
        sa.Column("component_id", sa.Integer(), sa.ForeignKey("product.id"), primary_key=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
    )
    op.create_index("ix_kit_component_component_id", "kit_component", ["component_id"])


def downgrade() -> None:
    op.drop_index("ix_kit_component_component_id", table_name="kit_component")
    op.drop_table("kit_component")
