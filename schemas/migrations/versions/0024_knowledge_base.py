"""the knowledge base

Articles (one per approval item, and free ones) with every change a version of its own,
the search's index of terms, the synonyms editors maintain, the answer templates (常用答复),
and the consultations answered from an article or closed with none. New tables only.

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-08

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0024'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('knowledge_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('published_version_id', sa.Integer(), nullable=True),
    sa.Column('editor', sa.String(length=64), nullable=False),
    sa.Column('sample', sa.Boolean(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('flagged_review_by', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['approval_items.id'],
                            name=op.f('fk_knowledge_articles_item_id_approval_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_articles')),
    sa.UniqueConstraint('item_id', name=op.f('uq_knowledge_articles_item_id'))
    )
    op.create_table('knowledge_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('materials', sa.Text(), nullable=False),
    sa.Column('location', sa.Text(), nullable=False),
    sa.Column('hours', sa.Text(), nullable=False),
    sa.Column('fee', sa.Text(), nullable=False),
    sa.Column('time_limit', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('change_note', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_articles.id'],
                            name=op.f('fk_knowledge_versions_article_id_knowledge_articles')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                            name=op.f('fk_knowledge_versions_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_versions')),
    sa.UniqueConstraint('article_id', 'number', name='uq_knowledge_versions_article_number')
    )
    with op.batch_alter_table('knowledge_versions', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_versions_state', ['state'], unique=False)
    op.create_table('knowledge_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_articles.id'],
                            name=op.f('fk_knowledge_terms_article_id_knowledge_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_terms'))
    )
    with op.batch_alter_table('knowledge_terms', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_terms_term_article_id',
                              ['term', 'article_id', 'weight'], unique=False)
        batch_op.create_index('ix_knowledge_terms_article_id', ['article_id'], unique=False)
    op.create_table('knowledge_synonyms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_synonyms'))
    )
    op.create_table('answer_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('field', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_templates'))
    )
    with op.batch_alter_table('answer_templates', schema=None) as batch_op:
        batch_op.create_index('ix_answer_templates_kind_field', ['kind', 'field'], unique=False)
    op.create_table('knowledge_consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                            name=op.f('fk_knowledge_consultations_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['article_id'], ['knowledge_articles.id'],
                            name=op.f('fk_knowledge_consultations_article_id_knowledge_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_consultations'))
    )
    with op.batch_alter_table('knowledge_consultations', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_consultations_at', ['at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('knowledge_consultations', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_consultations_at')
    op.drop_table('knowledge_consultations')
    with op.batch_alter_table('answer_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_templates_kind_field')
    op.drop_table('answer_templates')
    op.drop_table('knowledge_synonyms')
    with op.batch_alter_table('knowledge_terms', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_terms_article_id')
        batch_op.drop_index('ix_knowledge_terms_term_article_id')
    op.drop_table('knowledge_terms')
    with op.batch_alter_table('knowledge_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_versions_state')
    op.drop_table('knowledge_versions')
    op.drop_table('knowledge_articles')
