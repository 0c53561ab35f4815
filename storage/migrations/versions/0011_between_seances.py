"""between séances: preparation answers, RSVPs, action progress and reminders, cases

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"  # brief: "0007"; chained after issue 11's 0010 once merged
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.add_column(
            sa.Column("prep_reminder", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("action_reminder_days", sa.Integer(), nullable=False, server_default="2")
        )
        batch.add_column(
            sa.Column("case_votes", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("case_voting_open", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("progress", sa.String(), nullable=True))
        batch.add_column(sa.Column("progress_note", sa.String(), nullable=True))
        batch.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
    op.create_table(
        "prep_answer",
        sa.Column("seance_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seance_id", "user"),
    )
    op.create_index("ix_prep_answer_circle_id", "prep_answer", ["circle_id"], unique=False)
    op.create_table(
        "rsvp",
        sa.Column("seance_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(), nullable=False),
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("seance_id", "user"),
    )
    op.create_index("ix_rsvp_circle_id", "rsvp", ["circle_id"], unique=False)
    op.create_table(
        "case_proposal",
        sa.Column("circle_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("seance_id", sa.Integer(), nullable=True),
        sa.Column("votes_json", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["circle_id"], ["circle.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("circle_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("case_proposal")
    op.drop_index("ix_rsvp_circle_id", table_name="rsvp")
    op.drop_table("rsvp")
    op.drop_index("ix_prep_answer_circle_id", table_name="prep_answer")
    op.drop_table("prep_answer")
    with op.batch_alter_table("item") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("progress_note")
        batch.drop_column("progress")
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("case_voting_open")
        batch.drop_column("case_votes")
        batch.drop_column("action_reminder_days")
        batch.drop_column("prep_reminder")
