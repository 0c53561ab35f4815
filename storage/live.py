"""Live messages in SQL: which platform message shows a séance's RSVP question or follow-up."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Table, bindparam, delete, insert, select, update

from bot.domain.live import LiveKind, LiveMessage
from storage import direct
from storage.tables import LiveMessageRow

LIVE: Table = LiveMessageRow.__table__  # type: ignore[attr-defined]


class _Connected(Protocol):
    @property
    def conn(self) -> Any: ...


def _live(row: Any) -> LiveMessage:
    return _live_of(row._mapping)


def _live_of(data: Any) -> LiveMessage:
    return LiveMessage(
        circle_id=data["circle_id"],
        seance_id=data["seance_id"],
        kind=LiveKind(data["kind"]),
        posted_at=data["posted_at"],
        message_id=data["message_id"],
    )


_OF_SEANCE = (
    select(LIVE)
    .where(LIVE.c.seance_id == bindparam("key"), LIVE.c.kind == bindparam("kind"))
    .order_by(LIVE.c.posted_at.desc())
    .limit(1)
)


class LiveMessages:
    """`LiveMessageRepository` on SQL."""

    def __init__(self, uow: _Connected) -> None:
        self._uow = uow

    async def _one(self, *conditions: Any) -> LiveMessage | None:
        query = select(LIVE).where(*conditions).order_by(LIVE.c.posted_at.desc()).limit(1)
        row = (await self._uow.conn.execute(query)).first()
        return _live(row) if row is not None else None

    async def get(self, seance_id: int, kind: LiveKind) -> LiveMessage | None:
        # at every planning and RSVP: a statement built once, read on the direct path
        found = await direct.rows(
            self._uow.conn, _OF_SEANCE, {"key": seance_id, "kind": kind.value}
        )
        return _live_of(found[0]) if found else None

    async def latest(self, circle_id: int, kind: LiveKind) -> LiveMessage | None:
        return await self._one(LIVE.c.circle_id == circle_id, LIVE.c.kind == kind.value)

    async def find(self, circle_id: int, message_id: str) -> LiveMessage | None:
        return await self._one(LIVE.c.circle_id == circle_id, LIVE.c.message_id == message_id)

    async def add(self, live: LiveMessage) -> None:
        await self._uow.conn.execute(
            insert(LIVE).values(
                seance_id=live.seance_id,
                kind=live.kind.value,
                circle_id=live.circle_id,
                posted_at=live.posted_at,
                message_id=live.message_id,
            )
        )

    async def replace(self, live: LiveMessage) -> None:
        await self._uow.conn.execute(
            delete(LIVE).where(LIVE.c.seance_id == live.seance_id, LIVE.c.kind == live.kind.value)
        )
        await self.add(live)

    async def record(self, seance_id: int, kind: LiveKind, message_id: str) -> None:
        await self._uow.conn.execute(
            update(LIVE)
            .where(LIVE.c.seance_id == seance_id, LIVE.c.kind == kind.value)
            .values(message_id=message_id)
        )
