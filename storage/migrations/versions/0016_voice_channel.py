"""circles may follow the floor in a voice or Stage channel (`/cercle vocal`)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.add_column(sa.Column("voice_channel", sa.String(), nullable=True))
        batch.add_column(
            sa.Column("voice_strict", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("voice_strict")
        batch.drop_column("voice_channel")
