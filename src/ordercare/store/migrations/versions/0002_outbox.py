"""Outbox delivery: retry schedule, last error and a lease on the messages table.

A message is due when ``status = 'pending'`` and ``COALESCE(next_attempt_us, at_us) <= now``
(the engine leaves ``next_attempt_us`` empty: a new message is due at its own ``at``). A sender
claims due messages by writing its name and a lease end into ``claimed_by`` /
``claimed_until_us``; until that instant no other sender takes them (docs/notify.md).

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("next_attempt_us", "last_error", "claimed_by", "claimed_until_us")


def upgrade() -> None:
    op.add_column("messages", sa.Column("next_attempt_us", sa.BigInteger))
    op.add_column("messages", sa.Column("last_error", sa.Text))
    op.add_column("messages", sa.Column("claimed_by", sa.Text))
    op.add_column("messages", sa.Column("claimed_until_us", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
