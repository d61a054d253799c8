"""Messages by case: the self-service pages read a case's messages (web/app.py). A partial
index: routine updates (no case) are most messages and pay nothing for it on the hot path.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_case", "messages", ["case_id"], sqlite_where=sa.text("case_id IS NOT NULL"),
                    postgresql_where=sa.text("case_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_messages_case", table_name="messages")
