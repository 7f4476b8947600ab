"""hybrid events: places at the venue apart from online places; each registration says how the
person takes part (at the venue or online)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 09:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


ATTENDANCE = sa.Enum('venue', 'online', name='event_attendance')


def upgrade():
    # (PostgreSQL: a new column does not create its enum type)
    ATTENDANCE.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venue_capacity', sa.Integer(), nullable=True))
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('attendance', ATTENDANCE, server_default='online', nullable=False)
        )


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of events on SQLite would cascade deletes
    op.execute('ALTER TABLE event_registrations DROP COLUMN "attendance"')
    op.execute('ALTER TABLE events DROP COLUMN "venue_capacity"')
    ATTENDANCE.drop(op.get_bind(), checkfirst=True)
