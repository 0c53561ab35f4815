"""The circle's current vote on the next case: when it closes, and where its native polls are.

Voting itself is counted on the proposals (`CaseProposal.votes`): a vote cast by command and one
cast in a platform's poll are the same vote. This row only says how the round ends, so that
the scheduler can close it at its time exactly once (`claimed_by`, like a prompt's claim), and
which poll message a platform's poll votes belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Discord keeps a poll open 32 days at most: a closing time further away would outlive it.
MAX_VOTE_LENGTH = timedelta(days=31)
# A vote closed late (the bot was down at its time) is still closed and announced.
CLOSE_GRACE = timedelta(days=30)


def close_key(circle_id: int) -> str:
    """The scheduler's key for closing a circle's vote at its time."""
    return f"casevote:{circle_id}"


@dataclass(slots=True)
class CaseVote:
    """One round of votes in a circle; `closes_at` None: closed by a facilitator only.

    `poll_ref` is the platform's id of the native poll (a Discord message id, a Matrix event
    id); `poll_cases` the case numbers in the poll's answer order (Discord answer 1 is the
    first)."""

    circle_id: int
    opened_at: datetime
    closes_at: datetime | None = None
    closed_at: datetime | None = None
    claimed_by: str | None = None
    poll_ref: str | None = None
    poll_cases: tuple[int, ...] = field(default=())

    @property
    def closed(self) -> bool:
        return self.closed_at is not None
