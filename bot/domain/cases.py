"""Cases members propose between séances, and the votes that choose the next one.

Lean Coffee style: each member has a few votes (the circle's `case_votes`) and may put several
on one case. A facilitator closes the vote, or chooses; choosing attaches the case and its
holder to the next planned séance and starts a new round of votes for the cases left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.refs import UserRef

MAX_CASE_TITLE = 200


class CaseStatus(StrEnum):
    """Whether a proposal is still in the running."""

    OPEN = "open"
    CHOSEN = "chosen"


@dataclass(slots=True)
class CaseProposal:
    """A case proposed by its holder; `number` is unique within the circle."""

    circle_id: int
    number: int
    title: str
    holder: UserRef
    proposed_at: datetime
    status: CaseStatus = CaseStatus.OPEN
    seance_id: int | None = None  # the séance it was chosen for
    votes: dict[UserRef, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.votes.values())


def votes_used(cases: list[CaseProposal], user: UserRef) -> int:
    """How many votes a person has on the open cases."""
    return sum(c.votes.get(user, 0) for c in cases if c.status is CaseStatus.OPEN)


def most_voted(cases: list[CaseProposal], cases_held: dict[UserRef, int]) -> CaseProposal | None:
    """The open case with most votes; ties go to the holder who has had a case least, then to
    the earliest proposal."""
    open_cases = [c for c in cases if c.status is CaseStatus.OPEN]
    if not open_cases:
        return None
    return min(open_cases, key=lambda c: (-c.total, cases_held.get(c.holder, 0), c.number))
