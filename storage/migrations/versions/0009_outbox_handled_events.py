"""outbox and handled events: nothing lost, nothing handled twice

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"  # 0007 in the brief; 0008 came with the merge of issue-15
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "delivered_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("home", sa.String(), nullable=True),
        sa.Column("shard_key", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outbox_waiting",
        "outbox",
        ["id"],
        sqlite_where=sa.text(WAITING),
        postgresql_where=sa.text(WAITING),
    )
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_table(
        "handled_event",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_handled_event_at", "handled_event", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_handled_event_at", table_name="handled_event")
    op.drop_table("handled_event")
    op.drop_index("ix_outbox_created_at", table_name="outbox")
    op.drop_index("ix_outbox_waiting", table_name="outbox")
    op.drop_table("outbox")
