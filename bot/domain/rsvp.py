"""Who says they will come to a planned séance: yes, no (an excuse) or maybe."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.refs import UserRef


class RsvpAnswer(StrEnum):
    """The three answers to "will you be there?", and a yes given by marking the séance's
    platform event "Interested" (bot/interest.py), counted with the yes."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"
    INTERESTED = "interested"

    @property
    def counted_as(self) -> RsvpAnswer:
        """The answer this one counts as in a tally."""
        return RsvpAnswer.YES if self is RsvpAnswer.INTERESTED else self


RSVP_ORDER = (RsvpAnswer.YES, RsvpAnswer.MAYBE, RsvpAnswer.NO)


@dataclass(slots=True)
class Rsvp:
    """A member's latest answer for one séance."""

    circle_id: int
    seance_id: int
    user: UserRef
    answer: RsvpAnswer
    answered_at: datetime
    event_id: str | None = None  # the platform event that gave it (a Matrix reaction)


def answers_of(rsvps: Iterable[Rsvp], excused: Iterable[UserRef] = ()) -> dict[UserRef, RsvpAnswer]:
    """Everyone's answer for one séance: their RSVP, or "no" for someone excused with /excuse
    (even after a "yes": the excuse came later, or was given by the facilitation)."""
    answers = {r.user: r.answer for r in rsvps}
    for user in excused:
        answers[user] = RsvpAnswer.NO
    return answers
