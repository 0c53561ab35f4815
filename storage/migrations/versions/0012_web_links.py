"""web links: each member's link generation (revocation) and each circle's link lifetime

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column("link_generation", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("circle") as batch:
        batch.add_column(sa.Column("link_days", sa.Integer(), nullable=False, server_default="90"))


def downgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("link_days")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("link_generation")
