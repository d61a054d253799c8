"""Fulfilment by the platform: stock per centre, the fate of each line, weighed parcels, and
the pack check's learnt state (docs/fulfilment.md).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfil_stock",
        sa.Column("fc_id", sa.Text, primary_key=True),
        sa.Column("sku", sa.Text, primary_key=True),
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("on_hand", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
    )
    op.create_table(
        "fulfil_lines",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("line_id", sa.Text, primary_key=True),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("seller_id", sa.Text, nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("fulfilled_by", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("placed_us", sa.BigInteger),
        sa.Column("short_us", sa.BigInteger),
        sa.Column("filled_us", sa.BigInteger),
        sa.Column("case_id", sa.Text),
        sa.Column("shipped_us", sa.BigInteger),
        sa.Column("returned_us", sa.BigInteger),
        sa.Column("return_condition", sa.Text),
        sa.Column("return_reason", sa.Text),
        sa.Column("return_fc", sa.Text),
        sa.Column("refund", sa.Float),
    )
    op.create_index("ix_fulfil_lines_state", "fulfil_lines", ["state"])
    op.create_index("ix_fulfil_lines_sku", "fulfil_lines", ["sku"])
    op.create_table(
        "fulfil_packs",
        sa.Column("shipment_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("seller_id", sa.Text),
        sa.Column("fc_id", sa.Text),
        sa.Column("station", sa.Text),
        sa.Column("packed_us", sa.BigInteger, nullable=False),
        sa.Column("weight_g", sa.Float, nullable=False),
        sa.Column("expected_g", sa.Float),
        sa.Column("tolerance_g", sa.Float),
        sa.Column("deviation_g", sa.Float),
        sa.Column("basis", sa.Text),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("inspected_us", sa.BigInteger),
        sa.Column("shipped_us", sa.BigInteger),
        sa.Column("case_id", sa.Text),
    )
    op.create_index("ix_fulfil_packs_state", "fulfil_packs", ["state"])
    op.create_table(
        "fulfil_state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("fulfil_state", "fulfil_packs", "fulfil_lines", "fulfil_stock"):
        op.drop_table(name)
