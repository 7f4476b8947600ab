"""同趣旨: whether an opinion says the same as another (a near-copy), one row per opinion the
jobs worker has looked at, so public lists show a group once with its count (a table of its
own: nothing of the opinions table is rebuilt, on SQLite neither)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'opinion_copies',
        sa.Column('opinion_id', sa.Integer(), nullable=False),
        sa.Column('copy_of_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['opinion_id'], ['opinions.id'],
            name=op.f('fk_opinion_copies_opinion_id_opinions'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['copy_of_id'], ['opinions.id'],
            name=op.f('fk_opinion_copies_copy_of_id_opinions'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('opinion_id', name=op.f('pk_opinion_copies')),
    )
    op.create_index(op.f('ix_opinion_copies_copy_of_id'), 'opinion_copies', ['copy_of_id'])
    # the opinions already there are looked at by the jobs worker's next housekeeping


def downgrade():
    op.drop_index(op.f('ix_opinion_copies_copy_of_id'), table_name='opinion_copies')
    op.drop_table('opinion_copies')
