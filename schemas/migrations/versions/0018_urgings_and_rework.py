"""urgings, 督办 and rework of work orders

A work order's 催办 (before its deadline) and 督办 (after it), the service's own or a
supervisor's, are rows of `work_order_urgings`, counted per unit; the service's are unique
per order, kind and deadline. A rework (重办) after a 不满意 callback is a new work order
naming the accepted one it reworks (`work_orders.rework_of`). Units get a duty contact and
phone (`units.duty_contact`, `units.duty_phone`) for the urging SMS. Existing rows: no
urgings, no reworks, no duty numbers.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duty_contact', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('duty_phone', sa.String(length=32), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # A batch would copy the table and drop the old one, which the extensions' foreign
        # key refuses while any row points at it: SQLite adds a referencing column in place.
        op.execute("ALTER TABLE work_orders ADD COLUMN rework_of INTEGER "
                   "CONSTRAINT fk_work_orders_rework_of_work_orders "
                   "REFERENCES work_orders (id)")
    else:
        op.add_column('work_orders', sa.Column('rework_of', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_work_orders_rework_of_work_orders'), 'work_orders',
                              'work_orders', ['rework_of'], ['id'])

    op.create_table('work_order_urgings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('urge', 'supervise', name='urgingkind', native_enum=False, length=32), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_work_order_urgings_agent_id_agents')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_work_order_urgings_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_work_order_urgings_unit_id_units')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_urgings_work_order_id_work_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_urgings'))
    )
    with op.batch_alter_table('work_order_urgings', schema=None) as batch_op:
        batch_op.create_index('ix_work_order_urgings_appeal_id', ['appeal_id'], unique=False)
        batch_op.create_index('ix_work_order_urgings_unit_id_at', ['unit_id', 'at'], unique=False)
        batch_op.create_index('ix_work_order_urgings_automatic_once',
                              ['work_order_id', 'kind', 'deadline_at'], unique=True,
                              sqlite_where=sa.text('automatic'),
                              postgresql_where=sa.text('automatic'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('work_order_urgings', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_urgings_automatic_once')
        batch_op.drop_index('ix_work_order_urgings_unit_id_at')
        batch_op.drop_index('ix_work_order_urgings_appeal_id')
    op.drop_table('work_order_urgings')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a referencing column only by copying the table, and the drop of the
        # old one is refused while an extension request points at an order: a downgrade of
        # an embedded database that has extension requests needs them deleted first.
        with op.batch_alter_table('work_orders', schema=None) as batch_op:
            batch_op.drop_column('rework_of')
        op.execute("ALTER TABLE units DROP COLUMN duty_phone")
        op.execute("ALTER TABLE units DROP COLUMN duty_contact")
    else:
        op.drop_constraint(op.f('fk_work_orders_rework_of_work_orders'), 'work_orders',
                           type_='foreignkey')
        op.drop_column('work_orders', 'rework_of')
        op.drop_column('units', 'duty_phone')
        op.drop_column('units', 'duty_contact')
