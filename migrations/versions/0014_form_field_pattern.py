"""form questions: a pattern rule (the characters a text question takes)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:50:55

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("form_fields", sa.Column("pattern", sa.String(length=20), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of form_fields on SQLite would cascade deletes
    op.execute('ALTER TABLE form_fields DROP COLUMN "pattern"')
