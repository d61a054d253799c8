"""A rejected line that is not UTF-8 (or holds a NUL) is kept byte for byte too: ``raw``
shows it with replacement characters, ``raw_bytes`` is what was sent (``resubmit`` retries
that, never a repaired line).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejected") as batch:
        batch.add_column(sa.Column("raw_bytes", sa.LargeBinary))


def downgrade() -> None:
    with op.batch_alter_table("rejected") as batch:
        batch.drop_column("raw_bytes")
