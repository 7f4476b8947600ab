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
    op.add_column('theme_members', sa.Column('fit', sa.Float(), nullable=True))
    op.add_column(
        'theme_members', sa.Column('core', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        'themes', sa.Column('other', sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        'themes', sa.Column('summary', sa.String(200), nullable=False, server_default='')
    )
    # the members of earlier groupings were all answered with their theme: they stay so
    op.execute(sa.text('UPDATE theme_members SET core = :yes').bindparams(yes=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN, on SQLite too (3.35 and later): a batch would rebuild the
    # themes table, and dropping the old one deletes the theme members that cascade from it
    for table, column in (
        ('themes', 'summary'),
        ('themes', 'other'),
        ('theme_members', 'core'),
        ('theme_members', 'fit'),
    ):
        op.drop_column(table, column)
