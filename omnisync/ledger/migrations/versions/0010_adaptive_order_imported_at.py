"""sales_order.imported_at indexed: the adaptive policy reads the orders imported in trailing windows

Revision ID: 0004_adaptive
Revises: 0004_alerts_facts_text
"""

from __future__ import annotations

from alembic import op

revision = "0004_adaptive"
down_revision = "0004_alerts_facts_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sales_order_imported_at", "sales_order", ["imported_at"])


def downgrade() -> None:
    op.drop_index("ix_sales_order_imported_at", table_name="sales_order")
