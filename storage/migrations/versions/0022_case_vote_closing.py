"""a case vote's closing time and native poll; preparation questions by direct message

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(
            sa.Column("direct_prompts", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "case_vote",
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("poll_ref", sa.String(), nullable=True),
        sa.Column("poll_cases", sa.String(), nullable=False, server_default=""),
        sa.ForeignKeyConstraint(["circle_id"], ["circle.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("circle_id"),
    )


def downgrade() -> None:
    op.drop_table("case_vote")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("direct_prompts")
