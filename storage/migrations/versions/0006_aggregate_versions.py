"""aggregate versions (optimistic locking between instances)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("circle", "seance"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("version", sa.Integer(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in ("circle", "seance"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
