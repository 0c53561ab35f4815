"""circle home and shard key (which instance looks after a circle)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.add_column(sa.Column("home", sa.String(), nullable=True))
        batch.add_column(sa.Column("shard_key", sa.BigInteger(), nullable=True))
        batch.create_index("ix_circle_home", ["home"], unique=False)
    # Console circles all lived at the one default console; Discord and Matrix circles record
    # their home (account, server) with their next command.
    op.execute("UPDATE circle SET home = 'console:local' WHERE channel LIKE 'console:%'")


def downgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.drop_index("ix_circle_home")
        batch.drop_column("shard_key")
        batch.drop_column("home")
