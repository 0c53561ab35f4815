"""prompts and reminder settings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:26:36.346388
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('prompt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seance_id', sa.Integer(), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dropped_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['seance_id'], ['seance.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seance_id', 'kind')
    )
    with op.batch_alter_table('prompt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_circle_id'), ['circle_id'], unique=False)
        batch_op.create_index('ix_prompt_due_at', ['due_at'], unique=False)

    with op.batch_alter_table('circle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prep_days', sa.Integer(), nullable=False, server_default=sa.text('3')))
        batch_op.add_column(sa.Column('remind_day_before', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('remind_minutes', sa.Integer(), nullable=False, server_default=sa.text('15')))
        batch_op.add_column(sa.Column('follow_up_days', sa.Integer(), nullable=False, server_default=sa.text('7')))
        batch_op.add_column(sa.Column('auto_open', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('close_grace_minutes', sa.Integer(), nullable=False, server_default=sa.text('60')))



def downgrade() -> None:
    with op.batch_alter_table('circle', schema=None) as batch_op:
        batch_op.drop_column('close_grace_minutes')
        batch_op.drop_column('auto_open')
        batch_op.drop_column('follow_up_days')
        batch_op.drop_column('remind_minutes')
        batch_op.drop_column('remind_day_before')
        batch_op.drop_column('prep_days')

    with op.batch_alter_table('prompt', schema=None) as batch_op:
        batch_op.drop_index('ix_prompt_due_at')
        batch_op.drop_index(batch_op.f('ix_prompt_circle_id'))

    op.drop_table('prompt')
