"""What people record on purpose for the recap: notes, decisions, actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain.refs import UserRef


class ActionProgress(StrEnum):
    """Where an open action stands, as its owner says between séances."""

    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    NEEDS_HELP = "needs_help"


class ItemKind(StrEnum):
    """The three kinds of recorded items."""

    NOTE = "note"
    DECISION = "decision"
    ACTION = "action"


@dataclass(slots=True)
class Item:
    """A note, decision or action; `number` is unique within the circle."""

    circle_id: int
    number: int
    kind: ItemKind
    text: str
    author: UserRef
    created_at: datetime
    seance_id: int | None = None
    owner: UserRef | None = None
    due: date | None = None
    done_at: datetime | None = None
    withheld: bool = False  # kept out of the recap by a facilitator (/recap retirer)
    progress: ActionProgress | None = None  # an open action's state (/action encours, bloque)
    progress_note: str | None = None  # the word its owner added
    reminded_at: datetime | None = None  # its owner was reminded of the due date

    @property
    def is_open_action(self) -> bool:
        return self.kind is ItemKind.ACTION and self.done_at is None
