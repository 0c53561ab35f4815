"""messages kept up to date in place (the RSVP question, the follow-up list); the platform
event that gave an RSVP (a Matrix reaction, withdrawn when it is removed)

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-07 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_message",
        sa.Column("seance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seance_id", "kind"),
    )
    op.create_index("ix_live_message_circle_id", "live_message", ["circle_id"], unique=False)
    with op.batch_alter_table("rsvp") as batch:
        batch.add_column(sa.Column("event_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rsvp") as batch:
        batch.drop_column("event_id")
    op.drop_index("ix_live_message_circle_id", table_name="live_message")
    op.drop_table("live_message")
