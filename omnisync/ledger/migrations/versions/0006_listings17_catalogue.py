"""master catalogue: products with variants and content, and each channel's listing of them

Revision ID: 0004_listings17_catalogue
Revises: 0004_alerts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models

revision = "0004_listings17_catalogue"
down_revision = "0004_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("brand", sa.String(), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handle"),
    )
    # ADD COLUMN, not a batch copy of the table: SQLite cannot drop a table other rows point at,
    # and takes the foreign key inline (Alembic adds constraints to existing SQLite tables only by copy)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE product ADD COLUMN parent_id INTEGER REFERENCES catalogue_product (id)")
    else:
        op.add_column("product", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_product_parent_id", "product", "catalogue_product", ["parent_id"], ["id"])
    op.add_column("product", sa.Column("options", sa.JSON(), nullable=True))
    op.create_index("ix_product_parent_id", "product", ["parent_id"], unique=False)
    op.create_table(
        "listing_content",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("catalogue_product_id", sa.Integer(), nullable=False),
        sa.Column("ids", sa.JSON(), nullable=False),
        sa.Column("acked_digest", sa.String(length=64), nullable=True),
        sa.Column("acked_fields", sa.JSON(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=True),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("last_action", sa.String(length=16), nullable=True),
        sa.Column("answered_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["catalogue_product_id"], ["catalogue_product.id"]),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"]),
        sa.PrimaryKeyConstraint("channel_id", "catalogue_product_id"),
    )
    with op.batch_alter_table("listing_content") as batch:
        batch.create_index("ix_listing_content_dirty", ["channel_id", "dirty"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("listing_content") as batch:
        batch.drop_index("ix_listing_content_dirty")
    op.drop_table("listing_content")
    op.drop_index("ix_product_parent_id", table_name="product")
    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps an inline REFERENCES with its column
        op.drop_constraint("fk_product_parent_id", "product", type_="foreignkey")
    op.drop_column("product", "options")
    op.drop_column("product", "parent_id")
    op.drop_table("catalogue_product")
