"""The early warning's learnt transit times per carrier, lane and status (watch/transit.py).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transit_times",
        sa.Column("carrier", sa.Text, primary_key=True),
        sa.Column("lane", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("samples", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("transit_times")
