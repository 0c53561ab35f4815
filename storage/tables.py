"""The tables. One row per circle, member, séance, phase, turn, attendance mark and item.

The live state of an open séance that is not a row of its own (the queue, the round) is kept as
JSON on the séance row, so that it is written in the same transaction as everything else.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _instant(nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class CircleRow(SQLModel, table=True):
    """A circle and its settings."""

    __tablename__ = "circle"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    channel: str = Field(unique=True, index=True)
    created_at: datetime = Field(sa_column=_instant())
    language: str
    timezone: str
    protocol: str
    queue_order: str
    roster_open: bool
    round_auto_advance: bool
    phase_auto_advance: bool
    prep_days: int = 3
    remind_day_before: bool = True
    remind_minutes: int = 15
    follow_up_days: int = 7
    auto_open: bool = False
    close_grace_minutes: int = 60
    recap_approval: bool = False
    retention_days: int = 365
    prep_reminder: bool = False
    action_reminder_days: int = 2
    case_votes: int = 3
    topic_minutes: int = 0
    case_voting_open: bool = True
    round_order: str = "arrival"
    nudge_minutes: int = 5
    link_days: int = 90
    voice_channel: str | None = None
    voice_strict: bool = False
    item_counter: int = 0
    seance_counter: int = 0
    anonymous_counter: int = 0
    home: str | None = Field(default=None, index=True)
    shard_key: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    version: int = 0  # +1 at every change of the circle or its roster (optimistic locking)


class MemberRow(SQLModel, table=True):
    """A person in a circle's roster."""

    __tablename__ = "member"

    circle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("circle.id", ondelete="CASCADE"), primary_key=True)
    )
    user: str = Field(primary_key=True)
    display_name: str
    role: int
    position: int
    joined_at: datetime = Field(sa_column=_instant())
    left_at: datetime | None = Field(default=None, sa_column=_instant(True))
    link_generation: int = 0
    direct_prompts: bool = True


class SeanceRow(SQLModel, table=True):
    """A séance, with the live state of the floor while it is open."""

    __tablename__ = "seance"
    __table_args__ = (
        # not unique: séances are renumbered by date in place (bot/domain/numbering.py)
        Index("ix_seance_circle_id_number", "circle_id", "number"),
        # one open séance per circle, even between instances
        Index(
            "ix_seance_one_open",
            "circle_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_seance_circle_status", "circle_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("circle.id", ondelete="CASCADE"), index=True)
    )
    number: int
    protocol: str
    status: str = Field(index=True)
    planned_at: datetime | None = Field(default=None, sa_column=_instant(True))
    subject: str | None = None
    prep_question: str | None = None
    opened_at: datetime | None = Field(default=None, sa_column=_instant(True))
    closed_at: datetime | None = Field(default=None, sa_column=_instant(True))
    next_protocol_phase: int = 0
    case_owner: str | None = None
    paused_since: datetime | None = Field(default=None, sa_column=_instant(True))
    arrivals: int = 0
    status_message_id: str | None = None
    native_event_id: str | None = None
    recap_published_at: datetime | None = Field(default=None, sa_column=_instant(True))
    queue_json: str = "[]"
    round_order_json: str = "[]"
    round_pending_json: str = "[]"
    topic_vote_json: str | None = None
    version: int = 0  # +1 at every change of the séance or its rows (optimistic locking)


class PhaseRow(SQLModel, table=True):
    """A phase as it ran in a séance."""

    __tablename__ = "phase"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    idx: int = Field(primary_key=True)
    key: str
    mode: str
    title: str | None = None
    speaker: str | None = None
    started_at: datetime = Field(sa_column=_instant())
    ended_at: datetime | None = Field(default=None, sa_column=_instant(True))
    planned_s: float | None = None
    turn_limit_s: float | None = None
    paused_s: float = 0.0
    end_notified: bool = False


class TurnRow(SQLModel, table=True):
    """One speaking turn."""

    __tablename__ = "turn"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    seq: int = Field(primary_key=True)
    user: str = Field(index=True)
    phase_index: int
    started_at: datetime = Field(sa_column=_instant())
    ended_at: datetime | None = Field(default=None, sa_column=_instant(True))
    paused_s: float = 0.0
    outcome: str | None = None
    warned: bool = False
    overrun_notified: bool = False


class AttendanceRow(SQLModel, table=True):
    """Whether a member was present, excused or absent at a séance."""

    __tablename__ = "attendance"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    user: str = Field(primary_key=True)
    status: str
    reason: str | None = None  # why an excused member is away, for the facilitators


class CheckInRow(SQLModel, table=True):
    """The word a member chose to share in a séance's check-in round (deleted by retention)."""

    __tablename__ = "checkin"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    user: str = Field(primary_key=True)
    word: str
    recorded_at: datetime = Field(sa_column=_instant())


class ItemRow(SQLModel, table=True):
    """A note, decision or action, numbered within its circle."""

    __tablename__ = "item"

    circle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("circle.id", ondelete="CASCADE"), primary_key=True)
    )
    number: int = Field(primary_key=True)
    kind: str
    text: str
    author: str
    created_at: datetime = Field(sa_column=_instant())
    seance_id: int | None = Field(default=None, index=True)
    owner: str | None = None
    due: date | None = None
    done_at: datetime | None = Field(default=None, sa_column=_instant(True))
    withheld: bool = False
    version: int = 0  # +1 at every change (optimistic locking between instances)
    progress: str | None = None
    progress_note: str | None = None
    reminded_at: datetime | None = Field(default=None, sa_column=_instant(True))


class PromptRow(SQLModel, table=True):
    """A prompt the bot posts by itself; `sent_at` is set when it is claimed, before posting."""

    __tablename__ = "prompt"
    __table_args__ = (
        UniqueConstraint("seance_id", "kind"),
        Index("ix_prompt_due_at", "due_at"),
        # Only pending prompts: finding what is due never walks the history of sent ones.
        Index(
            "ix_prompt_pending",
            "due_at",
            sqlite_where=text("sent_at IS NULL AND dropped_at IS NULL"),
            postgresql_where=text("sent_at IS NULL AND dropped_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), nullable=False)
    )
    circle_id: int = Field(index=True)
    kind: str
    due_at: datetime = Field(sa_column=_instant())
    sent_at: datetime | None = Field(default=None, sa_column=_instant(True))
    dropped_at: datetime | None = Field(default=None, sa_column=_instant(True))
    claimed_by: str | None = None


class InstanceRow(SQLModel, table=True):
    """A running instance and the work it was given, seen again at every resync."""

    __tablename__ = "instance"

    name: str = Field(primary_key=True)
    shares_json: str = "[]"
    started_at: datetime = Field(sa_column=_instant())
    seen_at: datetime = Field(sa_column=_instant())


class OutboxRow(SQLModel, table=True):
    """Something the core decided to post, written in the transaction that decided it, until the
    platform has acknowledged it (`delivered_at`) or refused it for good (`failed_at`)."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Only what still waits: finding it never walks the history of delivered messages.
        Index(
            "ix_outbox_waiting",
            "id",
            sqlite_where=text("delivered_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL"),
        ),
        # No index on created_at: one more page written by every command, for a weekly prune
        # that finds its rows by id instead (storage/outbox.py).
    )

    id: int | None = Field(default=None, primary_key=True)
    home: str | None = None
    shard_key: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    channel: str  # the room it is posted in (platform:id): the order of delivery is per room
    kind: str  # reply, status, recap, file
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the effect as JSON
    created_at: datetime = Field(sa_column=_instant())
    attempts: int = 0
    delivered_at: datetime | None = Field(default=None, sa_column=_instant(True))
    failed_at: datetime | None = Field(default=None, sa_column=_instant(True))
    error: str | None = None


class HandledEventRow(SQLModel, table=True):
    """A platform event (Matrix event id, Discord interaction id) a command came from, recorded
    in the command's own transaction: the same event seen again is not handled twice."""

    __tablename__ = "handled_event"
    __table_args__ = (Index("ix_handled_event_at", "handled_at"),)

    event_id: str = Field(primary_key=True)
    handled_at: datetime = Field(sa_column=_instant())


class TurnCorrectionRow(SQLModel, table=True):
    """A facilitator's correction of a closed turn's length, with who made it and when (the
    turn's own row keeps the times as they were recorded)."""

    __tablename__ = "turn_correction"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    seq: int = Field(primary_key=True)
    length_s: float
    corrected_by: str
    corrected_at: datetime = Field(sa_column=_instant())


class PrepAnswerRow(SQLModel, table=True):
    """A member's answer to a séance's preparation question (deleted by retention)."""

    __tablename__ = "prep_answer"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    user: str = Field(primary_key=True)
    circle_id: int = Field(index=True)
    text: str
    shared: bool = False
    answered_at: datetime = Field(sa_column=_instant())


class RsvpRow(SQLModel, table=True):
    """A member's yes, no or maybe for a séance."""

    __tablename__ = "rsvp"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    user: str = Field(primary_key=True)
    circle_id: int = Field(index=True)
    answer: str
    answered_at: datetime = Field(sa_column=_instant())
    event_id: str | None = None  # the platform event that gave it (a reaction), if any


class CaseProposalRow(SQLModel, table=True):
    """A case a member proposed for a coming séance, with the votes it has."""

    __tablename__ = "case_proposal"

    circle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("circle.id", ondelete="CASCADE"), primary_key=True)
    )
    number: int = Field(primary_key=True)
    title: str
    holder: str
    proposed_at: datetime = Field(sa_column=_instant())
    status: str
    seance_id: int | None = None
    votes_json: str = "{}"


class CaseVoteRow(SQLModel, table=True):
    """A circle's current round of votes on the next case: its closing time and native poll."""

    __tablename__ = "case_vote"

    circle_id: int = Field(
        sa_column=Column(Integer, ForeignKey("circle.id", ondelete="CASCADE"), primary_key=True)
    )
    opened_at: datetime = Field(sa_column=_instant())
    closes_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_instant(nullable=True))
    claimed_by: str | None = None
    poll_ref: str | None = None
    poll_cases: str = ""


class LiveMessageRow(SQLModel, table=True):
    """A message kept up to date in place for a séance (bot/domain/live.py)."""

    __tablename__ = "live_message"

    seance_id: int = Field(
        sa_column=Column(Integer, ForeignKey("seance.id", ondelete="CASCADE"), primary_key=True)
    )
    kind: str = Field(primary_key=True)
    circle_id: int = Field(index=True)
    posted_at: datetime = Field(sa_column=_instant())
    message_id: str | None = None
