"""search that finds what people mean (ゴミ finds ごみ, こうえん finds 公園): consultations,
events and opinions keep a search key, their text folded and as read (app.search); the keys of
what is already there are made here. Plain added columns: no table is rebuilt, on SQLite neither

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.search import search_key


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

TABLES = ('consultations', 'events', 'opinions')


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('search_key', sa.Text(), nullable=False, server_default=''))
    bind = op.get_bind()
    consultations = sa.table(
        'consultations', sa.column('id'), sa.column('title'), sa.column('summary'),
        sa.column('topics'), sa.column('search_key'),
    )
    sections = sa.table(
        'consultation_sections', sa.column('consultation_id'), sa.column('position'),
        sa.column('heading'), sa.column('body'),
    )
    drafts = {}
    for row in bind.execute(
        sa.select(sections.c.consultation_id, sections.c.heading, sections.c.body)
        .order_by(sections.c.consultation_id, sections.c.position)
    ):
        drafts.setdefault(row.consultation_id, []).append(f'{row.heading}\n{row.body}')
    for row in bind.execute(sa.select(consultations)).all():
        key = search_key(row.title or '', row.summary or '', row.topics or '', *drafts.get(row.id, []))
        bind.execute(consultations.update().where(consultations.c.id == row.id).values(search_key=key))
    events = sa.table(
        'events', sa.column('id'), sa.column('title'), sa.column('description'),
        sa.column('speakers'), sa.column('department'), sa.column('venue'), sa.column('search_key'),
    )
    for row in bind.execute(sa.select(events)).all():
        key = search_key(*(row[n] or '' for n in ('title', 'description', 'speakers', 'department', 'venue')))
        bind.execute(events.update().where(events.c.id == row.id).values(search_key=key))
    items = sa.table('moderation_items', sa.column('source'), sa.column('source_id'), sa.column('public_text'))
    opinions = sa.table('opinions', sa.column('id'), sa.column('search_key'))
    for row in bind.execute(
        sa.select(items.c.source_id, items.c.public_text).where(items.c.source == 'opinion')
    ).all():
        bind.execute(
            opinions.update().where(opinions.c.id == int(row.source_id))
            .values(search_key=search_key(row.public_text or ''))
        )


def downgrade():
    for table in reversed(TABLES):
        op.drop_column(table, 'search_key')
