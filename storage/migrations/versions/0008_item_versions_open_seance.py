"""item versions; one open séance per circle enforced by the database; séances by circle and
status

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    # a circle's séances of some status (planned, closed) without scanning every circle's
    op.create_index("ix_seance_circle_status", "seance", ["circle_id", "status"])
    op.create_index(
        "ix_seance_one_open",
        "seance",
        ["circle_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_seance_circle_status", table_name="seance")
    op.drop_index("ix_seance_one_open", table_name="seance")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("version")
