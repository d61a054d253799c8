"""A parcel the inspection found mis-packed and put right is weighed again before it leaves:
``fulfil_packs`` keeps that re-check (how many, the latest weighing, its verdict, and the
inspection that answered it when it was diverted again).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_COLUMNS = ("recheck_us", "recheck_g", "recheck_deviation_g", "recheck_verdict", "recheck_outcome")


def upgrade() -> None:
    with op.batch_alter_table("fulfil_packs") as batch:
        batch.add_column(sa.Column("rechecks", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("recheck_us", sa.BigInteger))
        batch.add_column(sa.Column("recheck_g", sa.Float))
        batch.add_column(sa.Column("recheck_deviation_g", sa.Float))
        batch.add_column(sa.Column("recheck_verdict", sa.Text))
        batch.add_column(sa.Column("recheck_outcome", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("fulfil_packs") as batch:
        for name in ("rechecks", *_COLUMNS):
            batch.drop_column(name)
