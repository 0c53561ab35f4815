"""Who says they will come to a planned séance: yes, no (an excuse) or maybe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.refs import UserRef


class RsvpAnswer(StrEnum):
    """The three answers to "will you be there?"."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


RSVP_ORDER = (RsvpAnswer.YES, RsvpAnswer.MAYBE, RsvpAnswer.NO)


@dataclass(slots=True)
class Rsvp:
    """A member's latest answer for one séance."""

    circle_id: int
    seance_id: int
    user: UserRef
    answer: RsvpAnswer
    answered_at: datetime


def answers_of(rsvps: Iterable[Rsvp], excused: Iterable[UserRef] = ()) -> dict[UserRef, RsvpAnswer]:
    """Everyone's answer for one séance: their RSVP, or "no" for someone excused with /excuse
    who gave none."""
    answers = {r.user: r.answer for r in rsvps}
    for user in excused:
        answers.setdefault(user, RsvpAnswer.NO)
    return answers
