"""Tables (SQLAlchemy Core). Times are kept twice: ISO text with the customer's offset (what
the CLI prints, identical on SQLite and PostgreSQL) and integer microseconds (for ordering
and the deadline index)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, Table, Text, text

metadata = MetaData()

events = Table(
    "events", metadata,
    Column("event_id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("order_id", Text),
    Column("payload", Text, nullable=False),
)

orders = Table(
    "orders", metadata,
    Column("order_id", Text, primary_key=True),
    Column("customer_id", Text),
    Column("placed_us", BigInteger),
    Column("next_due_us", BigInteger),
    Column("state", LargeBinary, nullable=False),
    Index("ix_orders_next_due", "next_due_us"),
    Index("ix_orders_customer", "customer_id"),
)

shipments = Table(
    "shipments", metadata,
    Column("shipment_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("tracking", Text),
    Index("ix_shipments_tracking", "tracking"),
)

parties = Table(
    "parties", metadata,
    Column("kind", Text, primary_key=True),
    Column("party_id", Text, primary_key=True),
    Column("data", Text, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("case_id", Text, primary_key=True),
    Column("order_id", Text),
    Column("reason", Text, nullable=False),
    Column("origin", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("opened_us", BigInteger, nullable=False),
    Column("first_customer_message_at", Text),
    Column("resolved_at", Text),
    Column("data", Text, nullable=False),
    Index("ix_cases_order", "order_id"),
    Index("ix_cases_opened", "opened_us"),
)


def delivery_columns(table: str, key: str) -> list[Any]:
    """What every outbox table carries beside its content (``notify/outbox.py``'s ``Box``):
    where its delivery stands, its retries, its lease, and the index its claim reads (pending
    rows in the order they fall due)."""
    return [
        Column("status", Text, nullable=False, server_default="pending"),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("sent_at", Text),
        Column("next_attempt_us", BigInteger),
        Column("last_error", Text),
        Column("claimed_by", Text),
        Column("claimed_until_us", BigInteger),
        Index(f"ix_{table}_due", text("COALESCE(next_attempt_us, at_us)"), key,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    ]


messages = Table(
    "messages", metadata,
    Column("message_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("order_id", Text),
    Column("case_id", Text),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("lang", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("subject", Text, nullable=False),
    Column("text", Text, nullable=False),
    *delivery_columns("messages", "message_id"),  # the outbox's claim index: migration 0007
    Index("ix_messages_case", "case_id", sqlite_where=text("case_id IS NOT NULL"),
          postgresql_where=text("case_id IS NOT NULL")),
)

callbacks = Table(
    "callbacks", metadata,
    Column("case_id", Text, primary_key=True),
    Column("order_id", Text),  # none for a contact about no order of the customer's
    Column("customer_id", Text, nullable=False),
    Column("due_at", Text, nullable=False),
    Column("due_us", BigInteger, nullable=False),
    Column("rule", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="due"),
)

# Requests to send lines again (migration 0009): the desk's replacements and re-sendings,
# addressed to our warehouse ("platform") or the seller, with where each stands.
fulfil_requests = Table(
    "fulfil_requests", metadata,
    Column("request_id", Text, primary_key=True),
    Column("order_id", Text, nullable=False),
    Column("case_id", Text),
    Column("kind", Text, nullable=False),
    Column("addressed_to", Text, nullable=False),
    Column("customer_id", Text, nullable=False),
    Column("lines", Text, nullable=False),
    Column("ship_to", Text),
    Column("requested_at", Text, nullable=False),
    Column("requested_us", BigInteger, nullable=False),
    Column("ship_by", Text, nullable=False),
    Column("ship_by_us", BigInteger, nullable=False),
    Column("deliver_by", Text),
    Column("status", Text, nullable=False),
    Column("shipment_ids", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("ix_fulfil_requests_to", "addressed_to", "status"),
    Index("ix_fulfil_requests_status", "status", "ship_by_us"),
)

rejected = Table(
    "rejected", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("event_id", Text),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="rejected"),
    Column("raw_bytes", LargeBinary),  # (migration 0011) the line byte for byte when ``raw`` cannot be it
)

engine_state = Table(
    "engine_state", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# The early warning's learnt transit times (watch/transit.py): per carrier, lane ("*" for the
# carrier on all lanes) and status, the recent times left to delivery (µs, msgpack array,
# oldest first). Written behind, changed distributions only, in the engine's batch.
transit_times = Table(
    "transit_times", metadata,
    Column("carrier", Text, primary_key=True),
    Column("lane", Text, primary_key=True),
    Column("status", Text, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("samples", LargeBinary, nullable=False),
)
