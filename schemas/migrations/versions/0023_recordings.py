"""the recordings index and legal holds

Each recording Asterisk writes (an agent's call, a callback, a voice message) is indexed once
with its size, duration and SHA-256, tied to its call, callback task and appeal by the ids in
its file name; a purged one keeps its row. A legal hold on an appeal keeps its recordings
from the retention purge.

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-08

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0023'
down_revision: Union[str, Sequence[str], None] = '0024'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('attempt_id', sa.Integer(), nullable=True),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('altered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('missing_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purge_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                            name=op.f('fk_recordings_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['attempt_id'], ['callback_attempts.id'],
                            name=op.f('fk_recordings_attempt_id_callback_attempts')),
    sa.ForeignKeyConstraint(['task_id'], ['callback_tasks.id'],
                            name=op.f('fk_recordings_task_id_callback_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recordings')),
    sa.UniqueConstraint('source', 'name', name='uq_recordings_source_name')
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index('ix_recordings_call_id', ['call_id'], unique=False)
        batch_op.create_index('ix_recordings_task_id', ['task_id'], unique=False)
        batch_op.create_index('ix_recordings_appeal_id', ['appeal_id'], unique=False)
        batch_op.create_index('ix_recordings_kind_started_at', ['kind', 'started_at'],
                              unique=False)
    op.create_table('recording_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('held_by', sa.String(length=64), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'],
                            name=op.f('fk_recording_holds_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_holds'))
    )
    with op.batch_alter_table('recording_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_holds_appeal_id'), ['appeal_id'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('recording_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_holds_appeal_id'))
    op.drop_table('recording_holds')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index('ix_recordings_kind_started_at')
        batch_op.drop_index('ix_recordings_appeal_id')
        batch_op.drop_index('ix_recordings_task_id')
        batch_op.drop_index('ix_recordings_call_id')
    op.drop_table('recordings')
