"""queue members' state history, for the staffing view; the member's channel of a call

Each change of a queue member's state (logged out, available, on a call, wrap-up, paused,
unreachable) is kept with its time, so that the hall can see how many officers were logged
in and not paused in each half-hour beside how many the calls needed. A queue passage keeps
the member's channel that answered it (AgentConnect's DestUniqueid), which a three-way call
redirects with the caller's.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0020'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_uniqueid', sa.String(length=64), nullable=True))
    op.create_table('queue_member_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interface', sa.String(length=128), nullable=False),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_member_states'))
    )
    with op.batch_alter_table('queue_member_states', schema=None) as batch_op:
        batch_op.create_index('ix_queue_member_states_queue_since', ['queue', 'since'],
                              unique=False)
        batch_op.create_index('ix_queue_member_states_interface_since', ['interface', 'since'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('queue_member_states', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_member_states_interface_since')
        batch_op.drop_index('ix_queue_member_states_queue_since')
    op.drop_table('queue_member_states')
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.drop_column('member_uniqueid')
