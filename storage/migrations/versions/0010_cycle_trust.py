"""a whole cycle: who left the cycle, round order, the open floor's long-turn nudge; séance
numbers follow the calendar (renumbered in place, so no longer unique while a commit runs)

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


# 0001 created the constraint unnamed: SQLite knows it by this convention (batch mode
# recreates the table), PostgreSQL by its default name.
_UNIQUE = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("seance", naming_convention=_UNIQUE) as batch:
            batch.drop_constraint("uq_seance_circle_id", type_="unique")
    else:
        op.drop_constraint("seance_circle_id_number_key", "seance", type_="unique")
    op.create_index("ix_seance_circle_id_number", "seance", ["circle_id", "number"])
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
    op.drop_index("ix_seance_circle_id_number", "seance")
    with op.batch_alter_table("seance") as batch:
        batch.create_unique_constraint("uq_seance_circle_id_number", ["circle_id", "number"])
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("nudge_minutes")
        batch.drop_column("round_order")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("left_at")
