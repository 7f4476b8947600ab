"""themes a ward can trust (issue 18): each member's fit to its theme and whether it is in
the theme's core (what a whole-theme answer selects); the theme's one-line summary; a theme
that holds the opinions that fit no theme (「その他の意見」)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 18:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('theme_members') as batch:
        batch.add_column(sa.Column('fit', sa.Float(), nullable=True))
        batch.add_column(
            sa.Column('core', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('themes') as batch:
        batch.add_column(
            sa.Column('other', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column('summary', sa.String(200), nullable=False, server_default=''))
    # the members of earlier groupings were all answered with their theme: they stay so
    op.execute(sa.text('UPDATE theme_members SET core = :yes').bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('themes') as batch:
        batch.drop_column('summary')
        batch.drop_column('other')
    with op.batch_alter_table('theme_members') as batch:
        batch.drop_column('core')
        batch.drop_column('fit')
