"""Seller health: fact books, standing, status log, flagged orders, buyer-seller relay log.

The tables are described in ``ordercare/sellers/tables.py`` (and docs/seller-health.md).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_books",
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("chunk", sa.Integer, primary_key=True),
        sa.Column("max_us", sa.BigInteger, nullable=False),
        sa.Column("facts", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "seller_standing",
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("since_us", sa.BigInteger),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "seller_status_log",
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("at_us", sa.BigInteger, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("previous", sa.Text),
        sa.Column("case_id", sa.Text),
        sa.Column("by", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "seller_flags",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("line_ids", sa.Text, nullable=False),
    )
    op.create_index("ix_seller_flags_seller", "seller_flags", ["seller_id", "at_us"])
    op.create_table(
        "buyer_seller_messages",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("seller_ids", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("masked", sa.Integer, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("answered_us", sa.BigInteger),
        sa.Column("case_id", sa.Text),
    )
    op.create_index("ix_bsm_order", "buyer_seller_messages", ["order_id", "at_us"])


def downgrade() -> None:
    op.drop_index("ix_bsm_order", "buyer_seller_messages")
    op.drop_index("ix_seller_flags_seller", "seller_flags")
    for name in ("buyer_seller_messages", "seller_flags", "seller_status_log", "seller_standing",
                 "seller_books"):
        op.drop_table(name)
