"""moderation: moderated items and the blocked-word list (seeded from moderation/wordlists)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('moderation_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('published', 'held', 'rejected', name='moderation_status'), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_code', sa.String(length=32), nullable=True),
    sa.Column('public_edited', sa.Boolean(), nullable=False),
    sa.Column('report_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_moderation_items_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_moderation_items_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_items')),
    sa.UniqueConstraint('source', 'source_id', name=op.f('uq_moderation_items_source'))
    )
    with op.batch_alter_table('moderation_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_items_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_items_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_items_status'), ['status'], unique=False)

    words = op.create_table('blocked_words',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('exception', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_blocked_words_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_words')),
    sa.UniqueConstraint('word', 'exception', name=op.f('uq_blocked_words_word'))
    )

    # The starting list; from here on staff edit it in the moderation screens.
    from datetime import UTC, datetime

    from moderation.words import default_entries

    now = datetime.now(UTC)
    seen = set()
    rows = []
    for entry in default_entries():
        if (entry.word, entry.exception) in seen:
            continue
        seen.add((entry.word, entry.exception))
        rows.append({'word': entry.word, 'severity': entry.severity,
                     'exception': entry.exception, 'created_at': now})
    op.bulk_insert(words, rows)


def downgrade():
    op.drop_table('blocked_words')
    with op.batch_alter_table('moderation_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_items_status'))
        batch_op.drop_index(batch_op.f('ix_moderation_items_source'))
        batch_op.drop_index(batch_op.f('ix_moderation_items_author_id'))

    op.drop_table('moderation_items')
    sa.Enum(name='moderation_status').drop(op.get_bind(), checkfirst=True)
