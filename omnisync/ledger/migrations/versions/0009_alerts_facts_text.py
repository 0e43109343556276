"""alert.facts as JSON text: alert rows are written in bulk (a first start over thousands of SKUs out
of stock), and plain text binds the same way on SQLite and PostgreSQL

Revision ID: 0004_alerts_facts_text
Revises: 0008_movement_bucket
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_alerts_facts_text"
down_revision = "0008_movement_bucket"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.alter_column(
            "facts", existing_type=sa.JSON(), type_=sa.String(), postgresql_using="facts::text"
        )


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.alter_column(
            "facts", existing_type=sa.String(), type_=sa.JSON(), postgresql_using="facts::json"
        )
