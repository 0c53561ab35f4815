"""the outbox loses its index on created_at (pruning finds its rows by id)

Every command writes two or three outbox rows, and each index is one more page to write and
commit per command; this one only served the weekly pruning, which now walks the oldest rows by
id and stops at the first one young enough to keep (see storage/outbox.py `prune`).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_created_at", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
