"""Core engine: event log, order ledger, cases, outbox, dead letters.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("order_id", sa.Text),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text),
        sa.Column("placed_us", sa.BigInteger),
        sa.Column("next_due_us", sa.BigInteger),
        sa.Column("state", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_orders_next_due", "orders", ["next_due_us"])
    op.create_index("ix_orders_customer", "orders", ["customer_id"])
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("tracking", sa.Text),
    )
    op.create_index("ix_shipments_tracking", "shipments", ["tracking"])
    op.create_table(
        "parties",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("party_id", sa.Text, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("opened_at", sa.Text, nullable=False),
        sa.Column("opened_us", sa.BigInteger, nullable=False),
        sa.Column("first_customer_message_at", sa.Text),
        sa.Column("resolved_at", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_cases_order", "cases", ["order_id"])
    op.create_index("ix_cases_opened", "cases", ["opened_us"])
    op.create_table(
        "messages",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text),
        sa.Column("case_id", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("lang", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.Text),
    )
    op.create_index("ix_messages_at", "messages", ["at_us"])
    op.create_index("ix_messages_status", "messages", ["status"])
    op.create_table(
        "callbacks",
        sa.Column("case_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("due_at", sa.Text, nullable=False),
        sa.Column("due_us", sa.BigInteger, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="due"),
    )
    op.create_table(
        "rejected",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("line_no", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Text),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="rejected"),
    )
    op.create_table(
        "engine_state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("engine_state", "rejected", "callbacks", "messages", "cases", "parties",
                 "shipments", "orders", "events"):
        op.drop_table(name)
