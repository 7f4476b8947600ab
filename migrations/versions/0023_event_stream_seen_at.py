"""when the media service last reported an event's stream: a live stream it stopped reporting
(the service died) is ended by the web app

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stream_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of events on SQLite would cascade deletes
    op.execute('ALTER TABLE events DROP COLUMN "stream_seen_at"')
