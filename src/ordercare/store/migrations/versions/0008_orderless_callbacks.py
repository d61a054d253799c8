"""A callback may belong to no order: a customer who wrote about no order of theirs (none
named, none placed, or one named that is not theirs) is called back by a person all the same.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:  # SQLite: the table is copied
        batch.alter_column("order_id", existing_type=sa.Text, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM callbacks WHERE order_id IS NULL")
    with op.batch_alter_table("callbacks") as batch:
        batch.alter_column("order_id", existing_type=sa.Text, nullable=False)
