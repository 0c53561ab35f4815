"""facilitators correct a closed turn's length before the recap is published (who and when)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "turn_correction",
        sa.Column("seance_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("length_s", sa.Float(), nullable=False),
        sa.Column("corrected_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("corrected_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seance_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("turn_correction")
