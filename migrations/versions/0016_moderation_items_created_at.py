"""an index on moderation_items.created_at: every new post reads the last 10 minutes' posts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 11:30:00

"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_moderation_items_created_at", "moderation_items", ["created_at"])


def downgrade():
    op.drop_index("ix_moderation_items_created_at", table_name="moderation_items")
