"""appeal search by the number's last digits, and an officer's own work

Callers often give only the last four digits of the number they called from: appeals keep
them (`phone_tail`, filled here from the numbers already stored) with an index by time, so
that the search by them reads an index range. An officer's own open work (我的待办) is
served by an index on (agent_id, status, created_at).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('appeals', sa.Column('phone_tail', sa.String(length=4), nullable=True))
    # The numbers are stored normalised (digits), so the tail is their last four characters.
    op.execute(sa.text("UPDATE appeals SET phone_tail = substr(citizen_phone, "
                       "length(citizen_phone) - 3, 4)"))
    op.create_index('ix_appeals_phone_tail_created_at', 'appeals', ['phone_tail', 'created_at'],
                    unique=False)
    op.create_index('ix_appeals_agent_id_status_created_at', 'appeals',
                    ['agent_id', 'status', 'created_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_appeals_agent_id_status_created_at', table_name='appeals')
    op.drop_index('ix_appeals_phone_tail_created_at', table_name='appeals')
    op.drop_column('appeals', 'phone_tail')
