"""Lean Coffee: a circle's topic time box, and the thumbs vote on extending a topic

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("circle") as batch:
        batch.add_column(
            sa.Column("topic_minutes", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("seance") as batch:
        batch.add_column(sa.Column("topic_vote_json", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("seance") as batch:
        batch.drop_column("topic_vote_json")
    with op.batch_alter_table("circle") as batch:
        batch.drop_column("topic_minutes")
