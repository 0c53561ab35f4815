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
    # Console circles all lived at the one default console, Discord circles at the one bot user
    # (their server, hence their shard, is recorded with their next command; until then they
    # count as shard 0, which can post in any server). A Matrix circle's account is not known
    # here: the first instance started with a Matrix account adopts them (CercleCore.start).
    op.execute("UPDATE circle SET home = 'console:local' WHERE channel LIKE 'console:%'")
    op.execute("UPDATE circle SET home = 'discord' WHERE channel LIKE 'discord:%'")


def downgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.drop_index("ix_circle_home")
        batch.drop_column("shard_key")
        batch.drop_column("home")
