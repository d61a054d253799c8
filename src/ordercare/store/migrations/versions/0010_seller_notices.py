"""The sellers' notices (a feed per seller, pushed to the seller's webhook through the
outbox) and the sellers' webhooks. Described in ``ordercare/sellers/notices.py``.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seller_notices",
        sa.Column("notice_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("seller_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.Text),
        sa.Column("next_attempt_us", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_until_us", sa.BigInteger),
    )
    op.create_index("ix_seller_notices_feed", "seller_notices", ["seller_id", "seq"])
    op.create_index("ix_seller_notices_due", "seller_notices",
                    [sa.text("COALESCE(next_attempt_us, at_us)"), "notice_id"],
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "seller_webhooks",
        sa.Column("seller_id", sa.Text, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("registered_at", sa.Text, nullable=False),
        sa.Column("registered_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("seller_webhooks")
    op.drop_index("ix_seller_notices_due", "seller_notices")
    op.drop_index("ix_seller_notices_feed", "seller_notices")
    op.drop_table("seller_notices")
