"""The circle's current round of votes in SQL, with the claim that closes it exactly once.

Closing a vote at its time is a scheduled act like a prompt: every instance that owns the
circle may be woken for it after a restart, so the closing is taken by one conditional
UPDATE (`closed_at IS NULL AND closes_at <= now`) and only the caller whose update took the
row announces the result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, delete, insert, select, update

from bot.domain.case_vote import CaseVote
from bot.partition import EVERYTHING, Partition
from storage.tables import CaseVoteRow, CircleRow

CASE_VOTE: Table = CaseVoteRow.__table__  # type: ignore[attr-defined]
CIRCLE: Table = CircleRow.__table__  # type: ignore[attr-defined]


class _Connected(Protocol):
    @property
    def conn(self) -> Any: ...


def _row(vote: CaseVote) -> dict[str, Any]:
    return {
        "circle_id": vote.circle_id,
        "opened_at": vote.opened_at,
        "closes_at": vote.closes_at,
        "closed_at": vote.closed_at,
        "claimed_by": vote.claimed_by,
        "poll_ref": vote.poll_ref,
        "poll_cases": ",".join(str(n) for n in vote.poll_cases),
    }


def _vote(row: Any) -> CaseVote:
    cases = tuple(int(n) for n in (row.poll_cases or "").split(",") if n)
    return CaseVote(
        circle_id=row.circle_id,
        opened_at=row.opened_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        claimed_by=row.claimed_by,
        poll_ref=row.poll_ref,
        poll_cases=cases,
    )


class CaseVotes:
    """`CaseVoteRepository` on SQL."""

    def __init__(self, uow: _Connected) -> None:
        self._uow = uow

    async def get(self, circle_id: int) -> CaseVote | None:
        query = select(CASE_VOTE).where(CASE_VOTE.c.circle_id == circle_id)
        row = (await self._uow.conn.execute(query)).first()
        return _vote(row) if row is not None else None

    async def put(self, vote: CaseVote) -> None:
        conn = self._uow.conn
        await conn.execute(delete(CASE_VOTE).where(CASE_VOTE.c.circle_id == vote.circle_id))
        await conn.execute(insert(CASE_VOTE).values(**_row(vote)))

    async def pending(self, partition: Partition = EVERYTHING) -> list[tuple[int, datetime]]:
        from storage.uow import owned_by  # the circle-ownership condition lives with the UoW

        query = (
            select(CASE_VOTE.c.circle_id, CASE_VOTE.c.closes_at)
            .join(CIRCLE, CIRCLE.c.id == CASE_VOTE.c.circle_id)
            .where(
                CASE_VOTE.c.closed_at.is_(None),
                CASE_VOTE.c.closes_at.is_not(None),
                owned_by(partition),
            )
            .order_by(CASE_VOTE.c.closes_at)
        )
        return [(r.circle_id, r.closes_at) for r in await self._uow.conn.execute(query)]

    async def claim(self, circle_id: int, now: datetime, claimer: str) -> bool:
        query = (
            update(CASE_VOTE)
            .where(
                CASE_VOTE.c.circle_id == circle_id,
                CASE_VOTE.c.closed_at.is_(None),
                CASE_VOTE.c.closes_at.is_not(None),
                CASE_VOTE.c.closes_at <= now,
            )
            .values(closed_at=now, claimed_by=claimer)
        )
        result = await self._uow.conn.execute(query)
        return bool(result.rowcount == 1)
