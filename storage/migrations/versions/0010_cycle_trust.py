"""a whole cycle: who left the cycle, round order, the open floor's long-turn nudge

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("left_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("circle") as batch:
        batch.add_column(
            sa.Column(
                "round_order",
                sqlmodel.sql.sqltypes.AutoString(),
                nullable=False,
                server_default="arrival",
            )
        )
        batch.add_column(
            sa.Column("nudge_minutes", sa.Integer(), nullable=False, server_default=sa.text("5"))
        )


def downgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("nudge_minutes")
        batch.drop_column("round_order")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("left_at")
