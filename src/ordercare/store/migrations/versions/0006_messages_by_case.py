"""Messages by case: the self-service pages read a case's messages (web/app.py).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_case", "messages", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_messages_case", table_name="messages")
