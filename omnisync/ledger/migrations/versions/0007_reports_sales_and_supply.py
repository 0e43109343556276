"""sales facts on orders and lines, supplier terms on products, incoming stock

What the sales report and the reorder list read: when an order was placed and in which currency,
each line's unit price, refunded and oversold units; per product the supplier's lead time, minimum
order quantity, pack multiple and service level; and the stock already on order.

Revision ID: 0004_reports
Revises: 0004_listings17_catalogue
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import omnisync.ledger.models
from omnisync.ledger.sales import LINE_FACTS, refresh_order_totals

revision = "0004_reports"
down_revision = "0004_listings17_catalogue"
branch_labels = None
depends_on = None

TOTALS = tuple(LINE_FACTS)
"""The order's cached sums of its lines."""


def upgrade() -> None:
    with op.batch_alter_table("sales_order") as batch:
        batch.add_column(
            sa.Column("placed_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        for column in TOTALS:
            kind = sa.BigInteger() if column.endswith("_e4") else sa.Integer()
            batch.add_column(sa.Column(column, kind, nullable=False, server_default="0"))
    # orders imported before this revision count on the day of their first known update
    op.execute("UPDATE sales_order SET placed_at = updated_at WHERE placed_at IS NULL")
    with op.batch_alter_table("sales_order") as batch:
        batch.create_index("ix_sales_order_placed_at", ["placed_at"], unique=False)
    with op.batch_alter_table("order_line") as batch:
        batch.add_column(sa.Column("unit_price", sa.Numeric(precision=14, scale=4), nullable=True))
        batch.add_column(sa.Column("refunded", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("oversold", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE order_line SET refunded = restocked")
    refresh_order_totals(op.get_bind(), None)
    if op.get_bind().dialect.name == "sqlite":
        # the report by channel and day reads this index alone, in (day, channel) order: no table
        # row and no sort for a year of orders (PostgreSQL hashes the groups of a scan instead)
        op.execute(
            "CREATE INDEX ix_sales_order_day ON sales_order (substr(placed_at, 1, 10), channel_id,"
            f" currency, placed_at, {', '.join(TOTALS)})"
        )
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("lead_time_days", sa.Float(), nullable=True))
        batch.add_column(sa.Column("moq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pack", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("service_level", sa.Float(), nullable=True))
    op.create_table(
        "incoming_stock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("expected_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", omnisync.ledger.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["location.id"]),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference", "product_id", "location_id", name="uq_incoming"),
    )
    with op.batch_alter_table("incoming_stock") as batch:
        batch.create_index("ix_incoming_stock_product_id", ["product_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incoming_stock") as batch:
        batch.drop_index("ix_incoming_stock_product_id")
    op.drop_table("incoming_stock")
    with op.batch_alter_table("product") as batch:
        for column in ("service_level", "pack", "moq", "lead_time_days"):
            batch.drop_column(column)
    with op.batch_alter_table("order_line") as batch:
        for column in ("oversold", "refunded", "unit_price"):
            batch.drop_column(column)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX ix_sales_order_day")
    with op.batch_alter_table("sales_order") as batch:
        batch.drop_index("ix_sales_order_placed_at")
        for column in (*TOTALS, "currency", "placed_at"):
            batch.drop_column(column)
