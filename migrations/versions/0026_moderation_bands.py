"""the near-duplicate index of recent moderated texts (moderation.band_keys): a new text is
compared with the recent texts that share a key, not with all of them

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 14:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'moderation_bands',
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('band', sa.SmallInteger(), nullable=False),
        sa.Column('key', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['item_id'], ['moderation_items.id'],
            name=op.f('fk_moderation_bands_item_id_moderation_items'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('item_id', 'band', name=op.f('pk_moderation_bands')),
    )
    op.create_index('ix_moderation_bands_key_created', 'moderation_bands', ['key', 'created_at'])
    op.create_index(
        op.f('ix_moderation_bands_created_at'), 'moderation_bands', ['created_at']
    )
    # the texts of the last minutes are indexed as they come: a check in the first minutes
    # after the upgrade compares with fewer recent texts, never with wrong ones


def downgrade():
    op.drop_index(op.f('ix_moderation_bands_created_at'), table_name='moderation_bands')
    op.drop_index('ix_moderation_bands_key_created', table_name='moderation_bands')
    op.drop_table('moderation_bands')
