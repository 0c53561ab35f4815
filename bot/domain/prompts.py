"""Prompts the bot posts on its own around a séance, and when each is due.

The core decides *what* is due and *what* to say; a scheduler only decides *when* to wake the
core. Each prompt is a row, unique per (séance, kind), claimed in the database before it is
posted, so it is never posted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.circle import CircleSettings
from bot.domain.protocol import Protocol
from bot.domain.seance import Seance, SeanceStatus

DEFAULT_SEANCE_LENGTH = timedelta(hours=2)


class PromptKind(StrEnum):
    """What a prompt is for."""

    PREPARATION = "preparation"  # the preparation question, days before
    DAY_BEFORE = "day_before"  # reminder the day before
    SOON = "soon"  # reminder shortly before
    START = "start"  # "it starts now" (or the séance opens by itself)
    FOLLOW_UP = "follow_up"  # open actions, days after
    AUTO_CLOSE = "auto_close"  # a séance left open long after its end is closed
    PREP_REMINDER = "prep_reminder"  # the day before, to who has not answered the preparation
    ACTION_DUE = "action_due"  # owners of the séance's actions, days before they are due


# How late a prompt may still be posted (after downtime); later, it is dropped as stale.
GRACE: dict[PromptKind, timedelta] = {
    PromptKind.PREPARATION: timedelta(hours=12),
    PromptKind.DAY_BEFORE: timedelta(hours=6),
    PromptKind.SOON: timedelta(minutes=10),
    PromptKind.START: timedelta(minutes=30),
    PromptKind.FOLLOW_UP: timedelta(days=2),
    PromptKind.AUTO_CLOSE: timedelta(days=365),
    PromptKind.PREP_REMINDER: timedelta(hours=6),
    PromptKind.ACTION_DUE: timedelta(days=2),
}

# Prompts a feature keeps by itself, not derived from the séance's state by `wanted_prompts`.
OWN_SCHEDULE = frozenset({PromptKind.ACTION_DUE})


@dataclass(slots=True)
class Prompt:
    """One scheduled prompt of one séance."""

    id: int
    seance_id: int
    circle_id: int
    kind: PromptKind
    due_at: datetime
    sent_at: datetime | None = None
    dropped_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.sent_at is None and self.dropped_at is None

    @property
    def key(self) -> str:
        return f"prompt:{self.id}"


def expected_length(protocol: Protocol | None) -> timedelta:
    """How long a séance is expected to last: its protocol's time boxes, else two hours."""
    if protocol is None or any(p.duration is None for p in protocol.phases):
        return DEFAULT_SEANCE_LENGTH
    return sum((p.duration for p in protocol.phases if p.duration), timedelta(0))


def wanted_prompts(
    seance: Seance, settings: CircleSettings, length: timedelta
) -> dict[PromptKind, datetime]:
    """Every prompt a séance should have in its present state, with its due instant."""
    wanted: dict[PromptKind, datetime] = {}
    start = seance.planned_at or seance.opened_at
    if start is None or seance.status in (SeanceStatus.CANCELLED, SeanceStatus.NOT_HELD):
        return wanted
    if seance.status is SeanceStatus.PLANNED and seance.planned_at is not None:
        at = seance.planned_at
        if seance.prep_question and settings.prep_days > 0:
            wanted[PromptKind.PREPARATION] = at - timedelta(days=settings.prep_days)
        if settings.remind_day_before:
            wanted[PromptKind.DAY_BEFORE] = at - timedelta(days=1)
        if seance.prep_question and settings.prep_days > 0 and settings.prep_reminder:
            wanted[PromptKind.PREP_REMINDER] = at - timedelta(days=1)
        if settings.remind_minutes > 0:
            wanted[PromptKind.SOON] = at - timedelta(minutes=settings.remind_minutes)
        wanted[PromptKind.START] = at
    if seance.status is SeanceStatus.OPEN:
        opened = seance.opened_at or start
        end = max(start, opened) + length
        wanted[PromptKind.AUTO_CLOSE] = end + timedelta(minutes=settings.close_grace_minutes)
    if settings.follow_up_days > 0:
        wanted[PromptKind.FOLLOW_UP] = start + timedelta(days=settings.follow_up_days)
    return wanted


def is_stale(prompt: Prompt, seance: Seance, now: datetime) -> bool:
    """Too late to be useful: past its grace, or a reminder for a séance that has started."""
    if now - prompt.due_at > GRACE[prompt.kind]:
        return True
    before_start = (
        PromptKind.PREPARATION,
        PromptKind.DAY_BEFORE,
        PromptKind.SOON,
        PromptKind.PREP_REMINDER,
    )
    if prompt.kind in before_start:
        return seance.status is not SeanceStatus.PLANNED or (
            seance.planned_at is not None and now >= seance.planned_at
        )
    if prompt.kind is PromptKind.START:
        return seance.status is not SeanceStatus.PLANNED
    if prompt.kind is PromptKind.AUTO_CLOSE:
        return seance.status is not SeanceStatus.OPEN
    return seance.status in (SeanceStatus.CANCELLED, SeanceStatus.NOT_HELD)
