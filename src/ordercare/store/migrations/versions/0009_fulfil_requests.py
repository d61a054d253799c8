"""Requests to send lines again (a replacement, a re-sending): what the desk promised the
customer, addressed to whoever fulfils the lines (our warehouse or the seller), with its own
ship-by, and where it stands (open, overdue, preparing, shipped, delivered,
cancelled).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfil_requests",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("case_id", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("addressed_to", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("lines", sa.Text, nullable=False),
        sa.Column("ship_to", sa.Text),
        sa.Column("requested_at", sa.Text, nullable=False),
        sa.Column("requested_us", sa.BigInteger, nullable=False),
        sa.Column("ship_by", sa.Text, nullable=False),
        sa.Column("ship_by_us", sa.BigInteger, nullable=False),
        sa.Column("deliver_by", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("shipment_ids", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("ix_fulfil_requests_to", "fulfil_requests", ["addressed_to", "status"])
    op.create_index("ix_fulfil_requests_status", "fulfil_requests", ["status", "ship_by_us"])


def downgrade() -> None:
    op.drop_index("ix_fulfil_requests_status", "fulfil_requests")
    op.drop_index("ix_fulfil_requests_to", "fulfil_requests")
    op.drop_table("fulfil_requests")
