"""recaps, check-in words, data rights

Circles get the approval and retention settings (existing circles keep everything, as before:
retention_days 0; new ones get the configured default), a counter for people erased with /oubli;
items can be withheld from a recap; séances remember when their recap was published (every
recap already closed was published at its close); check-in words get their own table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 15:17:11.214116
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkin',
    sa.Column('seance_id', sa.Integer(), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('word', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['seance_id'], ['seance.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seance_id', 'user')
    )
    with op.batch_alter_table('circle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recap_approval', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('retention_days', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('anonymous_counter', sa.Integer(), nullable=False, server_default=sa.text('0')))

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withheld', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('seance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recap_published_at', storage.types.UTCDateTime(timezone=True), nullable=True))

    op.execute("UPDATE seance SET recap_published_at = closed_at WHERE status = 'closed'")


def downgrade() -> None:
    with op.batch_alter_table('seance', schema=None) as batch_op:
        batch_op.drop_column('recap_published_at')

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('withheld')

    with op.batch_alter_table('circle', schema=None) as batch_op:
        batch_op.drop_column('anonymous_counter')
        batch_op.drop_column('retention_days')
        batch_op.drop_column('recap_approval')

    op.drop_table('checkin')
