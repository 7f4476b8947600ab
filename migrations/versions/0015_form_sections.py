"""forms in sections and pages: section headings among the questions, one section a page

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS = (
    "short_text", "long_text", "number", "date", "single", "multiple", "dropdown", "email",
    "phone", "postal_code", "consent", "file",
)  # fmt: skip


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE form_field_kind ADD VALUE IF NOT EXISTS 'section'")
    op.add_column(
        "online_forms",
        sa.Column("paged", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    # ALTER TABLE … DROP COLUMN: a batch copy of online_forms on SQLite would cascade deletes
    op.execute('ALTER TABLE online_forms DROP COLUMN "paged"')
    op.execute("DELETE FROM form_fields WHERE kind = 'section'")
    if op.get_bind().dialect.name == "postgresql":  # an enum value cannot be dropped: a new type
        op.execute("ALTER TYPE form_field_kind RENAME TO form_field_kind_old")
        sa.Enum(*KINDS, name="form_field_kind").create(op.get_bind())
        op.execute(
            "ALTER TABLE form_fields ALTER COLUMN kind TYPE form_field_kind"
            " USING kind::text::form_field_kind"
        )
        op.execute("DROP TYPE form_field_kind_old")
