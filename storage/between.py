"""Repositories for what members say between séances: preparation answers, RSVPs, cases.

They are plain rows beside the séance, not part of its aggregate: an answer written while
someone else changes the séance (a facilitator moving it) must not collide with that change,
and reading them never loads the séance's turns.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, delete, func, insert, select, update

from bot.domain.cases import CaseProposal
from bot.domain.preparation import PrepAnswer
from bot.domain.refs import UserRef
from bot.domain.rsvp import Rsvp
from storage import direct, mapping
from storage.mapping import Row
from storage.tables import CaseProposalRow, PrepAnswerRow, RsvpRow

PREP_ANSWER: Table = PrepAnswerRow.__table__  # type: ignore[attr-defined]
RSVP: Table = RsvpRow.__table__  # type: ignore[attr-defined]
CASE: Table = CaseProposalRow.__table__  # type: ignore[attr-defined]


class _Connected(Protocol):
    @property
    def conn(self) -> Any: ...


def _rows(result: Any) -> list[Row]:
    return [dict(r._mapping) for r in result]


@functools.lru_cache(maxsize=4)
def _of_seance(table: Table) -> Any:
    return (
        select(table)
        .where(table.c.seance_id == bindparam("key"))
        .order_by(table.c.seance_id, table.c.answered_at, table.c.user)
    )


class _PerSeanceRows:
    """Rows keyed by (séance, user), replaced whole when the person answers again."""

    table: Table

    def __init__(self, uow: _Connected) -> None:
        self._uow = uow

    async def _of_seance(self, seance_id: int) -> list[Row]:
        """The séance's rows (read at every recap and opening): a statement built once."""
        return await direct.rows(self._uow.conn, _of_seance(self.table), {"key": seance_id})

    async def _select(self, *conditions: Any) -> list[Row]:
        t = self.table
        query = select(t).where(*conditions).order_by(t.c.seance_id, t.c.answered_at, t.c.user)
        return _rows(await self._uow.conn.execute(query))

    async def _replace(self, row: Row) -> None:
        t = self.table
        await self._uow.conn.execute(
            delete(t).where(t.c.seance_id == row["seance_id"], t.c.user == row["user"])
        )
        await self._uow.conn.execute(insert(t).values(**row))

    async def _delete(self, *conditions: Any) -> int:
        found = await self._select(*conditions)
        if found:
            await self._uow.conn.execute(delete(self.table).where(*conditions))
        return len(found)

    async def delete_for(self, circle_id: int, user: UserRef) -> int:
        t = self.table
        return await self._delete(t.c.circle_id == circle_id, t.c.user == user.key)


class PrepAnswers(_PerSeanceRows):
    """`PrepAnswerRepository` on SQL."""

    table = PREP_ANSWER

    async def for_seance(self, seance_id: int) -> list[PrepAnswer]:
        return [mapping.answer_from_row(r) for r in await self._of_seance(seance_id)]

    async def for_circle(self, circle_id: int) -> list[PrepAnswer]:
        rows = await self._select(self.table.c.circle_id == circle_id)
        return [mapping.answer_from_row(r) for r in rows]

    async def put(self, answer: PrepAnswer) -> None:
        await self._replace(mapping.answer_row(answer))

    async def purge(self, circle_id: int, cutoff: datetime) -> int:
        t = self.table
        return await self._delete(t.c.circle_id == circle_id, t.c.answered_at <= cutoff)


class Rsvps(_PerSeanceRows):
    """`RsvpRepository` on SQL."""

    table = RSVP

    async def for_seance(self, seance_id: int) -> list[Rsvp]:
        return [mapping.rsvp_from_row(r) for r in await self._of_seance(seance_id)]

    async def for_circle(self, circle_id: int) -> list[Rsvp]:
        rows = await self._select(self.table.c.circle_id == circle_id)
        return [mapping.rsvp_from_row(r) for r in rows]

    async def put(self, rsvp: Rsvp) -> None:
        await self._replace(mapping.rsvp_row(rsvp))

    async def delete(self, seance_id: int, user: UserRef) -> None:
        t = self.table
        await self._delete(t.c.seance_id == seance_id, t.c.user == user.key)


class Cases:
    """`CaseRepository` on SQL."""

    def __init__(self, uow: _Connected) -> None:
        self._uow = uow

    async def for_circle(self, circle_id: int) -> list[CaseProposal]:
        query = select(CASE).where(CASE.c.circle_id == circle_id).order_by(CASE.c.number)
        return [mapping.case_from_row(r) for r in _rows(await self._uow.conn.execute(query))]

    async def add(self, case: CaseProposal) -> None:
        query = select(func.max(CASE.c.number)).where(CASE.c.circle_id == case.circle_id)
        highest = (await self._uow.conn.execute(query)).scalar()
        case.number = int(highest or 0) + 1
        await self._uow.conn.execute(insert(CASE).values(**mapping.case_row(case)))

    async def update(self, case: CaseProposal) -> None:
        row = mapping.case_row(case)
        key = (CASE.c.circle_id == row.pop("circle_id"), CASE.c.number == row.pop("number"))
        await self._uow.conn.execute(update(CASE).where(*key).values(**row))

    async def delete(self, circle_id: int, number: int) -> None:
        await self._uow.conn.execute(
            delete(CASE).where(CASE.c.circle_id == circle_id, CASE.c.number == number)
        )
