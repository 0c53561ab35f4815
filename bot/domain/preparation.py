"""Answers to a séance's preparation question, collected between séances.

Each member has at most one answer per séance, which they may rewrite until the séance opens.
An answer is for the facilitators unless its author shares it with the circle: the bot then
shows it to everyone at the opening and in the recap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.refs import UserRef

MAX_ANSWER_LENGTH = 1500


@dataclass(slots=True)
class PrepAnswer:
    """One member's answer to the preparation question of one séance."""

    circle_id: int
    seance_id: int
    user: UserRef
    text: str
    answered_at: datetime
    shared: bool = False  # the circle may read it (default: facilitators only)
