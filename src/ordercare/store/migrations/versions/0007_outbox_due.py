"""The outbox's due index: one partial index on what ``claim`` asks for, in its order.

``claim`` wants the pending messages in the order they fall due (their retry time, else their
own time), the first few. With an index on ``status`` alone it read every pending message and
sorted them: 160 ms per claim with 400k pending (after a large import, say). Keyed on the due
time and restricted to pending rows, the same claim is a range read of ``LIMIT`` rows (0.1 ms).
It replaces the indexes on ``status`` and ``at_us``, which no frequent query needs any more
(``messages`` reads the whole table; a case's messages have their own index; requeuing dead
messages, an operator's command, now reads the table), so a new message costs one index
insert fewer on the ingest path.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DUE = "COALESCE(next_attempt_us, at_us)"
_PENDING = "status = 'pending'"


def upgrade() -> None:
    op.drop_index("ix_messages_status", table_name="messages")
    op.drop_index("ix_messages_at", table_name="messages")
    op.create_index("ix_messages_due", "messages", [sa.text(_DUE), "message_id"],
                    sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING))


def downgrade() -> None:
    op.drop_index("ix_messages_due", table_name="messages")
    op.create_index("ix_messages_at", "messages", ["at_us"])
    op.create_index("ix_messages_status", "messages", ["status"])
