"""pending prompt index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("sent_at IS NULL AND dropped_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_prompt_pending",
        "prompt",
        ["due_at"],
        unique=False,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_prompt_pending", table_name="prompt")
