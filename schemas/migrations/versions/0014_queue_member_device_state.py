"""queue member device state

The state Asterisk last reported for a queue member's phone (the `Status` of its member
events, 0 Unknown .. 8 On hold), so that every process's terminal and wallboard show it and
a member whose phone is Invalid or Unavailable (unregistered) is not counted available.
Earlier rows have none until their member's next event.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('queue_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_state', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('queue_members', schema=None) as batch_op:
        batch_op.drop_column('device_state')
