"""covering indexes for the analysis page (智能分析)

The page groups a month of appeals (and the month it is compared with) by kind, channel,
unit, area, approval item and satisfaction, and the month's numbers for the repeat callers;
the heat map groups a month of queue passages by local weekday and hour with their outcome
and wait. With these indexes PostgreSQL answers each from the index alone (an index-only
scan of the period's range) instead of visiting every row's page (bench/analysis_bench.py).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0022'
down_revision: Union[str, Sequence[str], None] = '0021'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

APPEALS = ['created_at', 'kind', 'channel', 'unit_id', 'area', 'approval_item_id',
           'satisfaction', 'citizen_phone']
QUEUE_CALLS = ['joined_at', 'outcome', 'hold_s']


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_created_at_analysis', APPEALS, unique=False)
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.create_index('ix_queue_calls_joined_at_analysis', QUEUE_CALLS, unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_calls_joined_at_analysis')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_created_at_analysis')
