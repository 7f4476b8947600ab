"""opinions.listed: published by moderation and not withdrawn, for the public list

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_opinions_listed', ['consultation_id', 'listed', 'created_at', 'id'], unique=False)
    # the flag for the opinions already there, from their moderation items
    op.execute(
        "UPDATE opinions SET listed = EXISTS (SELECT 1 FROM moderation_items m"
        " WHERE m.source = 'opinion' AND m.source_id = CAST(opinions.id AS VARCHAR)"
        " AND m.status = 'published') AND withdrawn_at IS NULL"
    )


def downgrade():
    with op.batch_alter_table('opinions', schema=None) as batch_op:
        batch_op.drop_index('ix_opinions_listed')
        batch_op.drop_column('listed')
