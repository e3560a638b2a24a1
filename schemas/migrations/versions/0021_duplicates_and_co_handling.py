"""duplicates (重复件) and co-handling (协办)

An appeal merged into another (the same citizen, the same matter) names the one it joined
(`appeals.merged_into_id`, indexed for the surviving appeal's list of its duplicates). A
work order is the lead's (主办) or an assisting unit's (协办) (`work_orders.role`); the orders
before this revision are all leads. Existing rows: no merges, every order a lead.

Revision ID: 0021
Revises: 0023
Create Date: 2026-12-07

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0023'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('work_orders', sa.Column('role', sa.Enum('lead', 'assist',
                                                           name='workorderrole',
                                                           native_enum=False, length=32),
                                           server_default='lead', nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        # As 0018: a batch would copy the table, which the rows pointing at appeals refuse;
        # SQLite adds a referencing column in place.
        op.execute("ALTER TABLE appeals ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_appeals_merged_into_id_appeals REFERENCES appeals (id)")
    else:
        op.add_column('appeals', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_appeals_merged_into_id_appeals'), 'appeals',
                              'appeals', ['merged_into_id'], ['id'])
    op.create_index('ix_appeals_merged_into_id', 'appeals', ['merged_into_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_appeals_merged_into_id', table_name='appeals')
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35 and later) drops a plain column in place; a column with a foreign
        # key only through a copy of the table, as 0018's downgrade does.
        with op.batch_alter_table('appeals', schema=None) as batch_op:
            batch_op.drop_column('merged_into_id')
        op.execute("ALTER TABLE work_orders DROP COLUMN role")
    else:
        op.drop_constraint(op.f('fk_appeals_merged_into_id_appeals'), 'appeals',
                           type_='foreignkey')
        op.drop_column('appeals', 'merged_into_id')
        op.drop_column('work_orders', 'role')
