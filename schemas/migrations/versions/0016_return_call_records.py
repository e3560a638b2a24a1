"""return call records

A 回电 (an officer calling back a voice message or a queue callback) is a different task from
a satisfaction callback (回访): its outcome is what the citizen said (`call_notes`), what the
officer did with it (`disposition`: an appeal registered, a note on an open appeal, answered
on the phone, nothing to do) and the appeal that now holds it (`result_appeal_id`). New
nullable columns: earlier tasks have none of these.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Plain ADD COLUMNs, the foreign key inline: batch mode would copy the table on SQLite
    # (a new constraint), which the foreign keys pointing at callback_tasks refuse once it
    # holds rows.
    op.add_column('callback_tasks', sa.Column('call_notes', sa.Text(), nullable=True))
    op.add_column('callback_tasks', sa.Column('disposition', sa.Enum(
        'appeal', 'joined', 'answered', 'no_action', name='returncalldisposition',
        native_enum=False, create_constraint=False, length=32), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':  # Alembic cannot add a constraint there
        op.execute('ALTER TABLE callback_tasks ADD COLUMN result_appeal_id INTEGER '
                   'CONSTRAINT fk_callback_tasks_result_appeal_id_appeals '
                   'REFERENCES appeals (id)')
    else:
        op.add_column('callback_tasks', sa.Column(
            'result_appeal_id', sa.Integer(),
            sa.ForeignKey('appeals.id', name='fk_callback_tasks_result_appeal_id_appeals'),
            nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_callback_tasks_result_appeal_id_appeals', 'callback_tasks',
                           type_='foreignkey')
    op.drop_column('callback_tasks', 'result_appeal_id')
    op.drop_column('callback_tasks', 'disposition')
    op.drop_column('callback_tasks', 'call_notes')
