"""``fulfil_packs`` keeps every weighing and inspection heard of a parcel (``facts``), so that
its record is derived again in event-time order when one of them reaches us late.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fulfil_packs") as batch:
        batch.add_column(sa.Column("facts", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("fulfil_packs") as batch:
        batch.drop_column("facts")
