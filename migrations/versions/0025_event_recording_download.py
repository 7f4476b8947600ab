"""the recording as one MP4 file to download, as the media service reports it at the end

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('recording_download_url', sa.String(length=500), server_default='', nullable=False)
        )


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of events on SQLite would cascade deletes
    op.execute('ALTER TABLE events DROP COLUMN "recording_download_url"')
