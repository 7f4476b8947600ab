"""an external engine's player to embed (e.g. a YouTube Live or Vimeo player), from origins the
site allows (KOE_EMBED_ORIGINS)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 10:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('external_embed_url', sa.String(length=500), server_default='', nullable=False)
        )


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of events on SQLite would cascade deletes
    op.execute('ALTER TABLE events DROP COLUMN "external_embed_url"')
