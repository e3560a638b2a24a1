"""search indexes

The appeal search by unit (with a status, or a period) reads its page newest first and its
capped count from an index instead of sorting or filtering a unit's whole history.
(unit_id, status, created_at) replaces (unit_id, status), which is its prefix.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_unit_id_status_created_at',
                              ['unit_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_appeals_unit_id_created_at', ['unit_id', 'created_at'],
                              unique=False)
        batch_op.drop_index('ix_appeals_unit_id_status')


def downgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_unit_id_status', ['unit_id', 'status'], unique=False)
        batch_op.drop_index('ix_appeals_unit_id_created_at')
        batch_op.drop_index('ix_appeals_unit_id_status_created_at')
