"""callback outcomes without a call

An agent's callback outcome recorded with no call placed through the system (no
click-to-call) is marked on its attempt (`call_placed`) and, when it completed the task, on
the task (`reached_without_call`), for the compliance report. Earlier rows are filled from
what they already say: an agent's attempt without a channel id never went through Asterisk.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Constant defaults ('1', '0': booleans on both backends) let SQLite add the columns in
    # place; an expression would make batch mode copy the tables, which their foreign keys
    # refuse once they hold rows.
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_placed', sa.Boolean(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reached_without_call', sa.Boolean(), nullable=False,
                                      server_default='0'))
    op.execute(sa.text(
        "UPDATE callback_attempts SET call_placed = :no "
        "WHERE agent_id IS NOT NULL AND channel_id IS NULL").bindparams(no=False))
    op.execute(sa.text(
        "UPDATE callback_tasks SET reached_without_call = :yes "
        "WHERE state = 'completed' AND EXISTS (SELECT 1 FROM callback_attempts a "
        "WHERE a.task_id = callback_tasks.id AND a.number = callback_tasks.attempts "
        "AND a.result = 'agent_reached' AND a.call_placed = :no)").bindparams(yes=True, no=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('callback_tasks', schema=None) as batch_op:
        batch_op.drop_column('reached_without_call')
    with op.batch_alter_table('callback_attempts', schema=None) as batch_op:
        batch_op.drop_column('call_placed')
