"""movement.bucket: returned units held apart from sellable stock (damaged, to inspect)

Revision ID: 0008_movement_bucket
Revises: 0004_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_movement_bucket"
down_revision = "0004_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("movement") as batch:
        batch.add_column(sa.Column("bucket", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("movement") as batch:
        batch.drop_column("bucket")
