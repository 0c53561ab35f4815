"""The SQL unit of work: repositories over SQLAlchemy Core, with an identity cache.

Aggregates (a circle with its roster, a séance with its phases, turns and attendance) are loaded
once and kept in memory; on commit, each aggregate the transaction touched is compared with the
rows it was loaded from and only what changed is written. A rollback drops the touched
aggregates from the cache, so the next command reloads them as they are stored.

Closed turns never change, so only the tail of a séance's turns (new ones, and the one that was
open) is compared on commit.

On PostgreSQL, units of work run concurrently (SQLite has one writer, so they take turns).
Commands and timers of one circle still run one at a time (the core's per-channel locks), but a
pass that only reads (which prompts are due, which séances are open) may meet an aggregate that
another unit of work is changing. It then gets a private copy loaded from the database instead
of the shared object, so it never sees, writes or drops someone else's half-made changes; if it
writes that copy, the shared one is forgotten once its holder is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.circle import Circle
from bot.domain.items import Item
from bot.domain.prompts import Prompt
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.seance import Seance, SeanceStatus
from bot.errors import ConcurrentChange, ConnectionLost
from bot.partition import DISCORD_SHARD_SHIFT, EVERYTHING, Partition
from bot.ports import Anonymised
from storage import mapping
from storage.between import Cases, PrepAnswers, Rsvps
from storage.inline import InlineConnection, InlineSqliteEngine
from storage.mapping import Row
from storage.tables import (
    AttendanceRow,
    CheckInRow,
    CircleRow,
    ItemRow,
    MemberRow,
    PhaseRow,
    PromptRow,
    SeanceRow,
    TurnRow,
)

CIRCLE: Table = CircleRow.__table__  # type: ignore[attr-defined]
MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
SEANCE: Table = SeanceRow.__table__  # type: ignore[attr-defined]
PHASE: Table = PhaseRow.__table__  # type: ignore[attr-defined]
TURN: Table = TurnRow.__table__  # type: ignore[attr-defined]
ATTENDANCE: Table = AttendanceRow.__table__  # type: ignore[attr-defined]
CHECKIN: Table = CheckInRow.__table__  # type: ignore[attr-defined]
ITEM: Table = ItemRow.__table__  # type: ignore[attr-defined]
PROMPT: Table = PromptRow.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class _CircleEntry:
    circle: Circle
    row: Row
    members: dict[Any, Row]
    version: int = 0


@dataclass(slots=True)
class _SeanceEntry:
    seance: Seance
    row: Row
    phases: dict[Any, Row]
    turns: dict[int, Row]
    attendance: dict[Any, Row]
    checkins: dict[Any, Row]
    version: int = 0


@dataclass(slots=True)
class AggregateCache:
    """Aggregates as last committed, shared by the units of work of one process."""

    circles: dict[int, _CircleEntry] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    seances: dict[int, _SeanceEntry] = field(default_factory=dict)
    open_by_circle: dict[int, int | None] = field(default_factory=dict)
    # Which unit of work holds each shared aggregate now, and those to forget when it is done.
    circle_holders: dict[int, int] = field(default_factory=dict)
    seance_holders: dict[int, int] = field(default_factory=dict)
    stale_circles: set[int] = field(default_factory=set)
    stale_seances: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.circles.clear()
        self.by_channel.clear()
        self.seances.clear()
        self.open_by_circle.clear()

    def forget_circle(self, circle_id: int) -> None:
        entry = self.circles.pop(circle_id, None)
        if entry is not None:
            self.by_channel.pop(entry.circle.channel.key, None)

    def forget_seance(self, seance_id: int) -> None:
        entry = self.seances.pop(seance_id, None)
        if entry is not None:
            self.open_by_circle.pop(entry.seance.circle_id, None)


class _Guarded:
    """An async connection whose broken-connection errors become ConnectionLost, so that the
    work is run again on a fresh connection (the pool has already dropped the broken one).
    Cheaper than asking the server at every checkout whether the connection is alive."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def _guard(self, call: Any, *args: Any) -> Any:
        try:
            return await call(*args)
        except DBAPIError as error:
            if error.connection_invalidated:
                lost = f"database connection lost: {type(error.orig).__name__}"
                raise ConnectionLost(lost) from error
            raise

    async def begin(self) -> Any:
        return await self._guard(self._connection.begin)

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if parameters is None:
            return await self._guard(self._connection.execute, statement)
        return await self._guard(self._connection.execute, statement, parameters)

    async def commit(self) -> None:
        await self._guard(self._connection.commit)

    async def rollback(self) -> None:
        await self._connection.rollback()

    async def close(self) -> None:
        await self._connection.close()


def owned_by(partition: Partition) -> Any:
    """A condition on the circle table: the circles `partition` looks after (see Share.owns)."""
    if partition.everything:
        return true()
    clauses = []
    for share in partition.shares:
        mine = CIRCLE.c.home == share.home
        if share.shard_count is not None and share.shard_ids is not None:
            key = func.coalesce(CIRCLE.c.shard_key, 0)
            # a literal: PostgreSQL has bigint >> integer, not bigint >> bigint (a bound value)
            shard = key.op(">>")(literal_column(str(DISCORD_SHARD_SHIFT))) % share.shard_count
            mine = and_(mine, shard.in_(share.shard_ids))
        clauses.append(mine)
    return or_(*clauses)


def _rows(result: Any) -> list[Row]:
    return [dict(r._mapping) for r in result]


class SqlUnitOfWork:
    """One transaction on one connection; see the module docstring for the cache."""

    def __init__(
        self,
        engine: AsyncEngine | InlineSqliteEngine,
        cache: AggregateCache,
        lock: asyncio.Lock | None,
    ) -> None:
        self._engine = engine
        self._cache = cache
        self._lock = lock
        self._conn: AsyncConnection | InlineConnection | _Guarded | None = None
        self._touched_circles: dict[int, Circle] = {}
        self._touched_seances: dict[int, Seance] = {}
        # copies of aggregates another unit of work held when this one asked for them
        self._private_circles: dict[int, _CircleEntry] = {}
        self._private_seances: dict[int, _SeanceEntry] = {}
        self._committed = False
        self.circles = _Circles(self)
        self.seances = _Seances(self)
        self.items = _Items(self)
        self.prompts = _Prompts(self)
        self.answers = PrepAnswers(self)
        self.rsvps = Rsvps(self)
        self.cases = Cases(self)

    async def __aenter__(self) -> Self:
        if self._lock is not None:
            await self._lock.acquire()
        try:
            connection = await self._engine.connect()
            # SQLite (which has the lock) is a file: only a server connection can break
            self._conn = connection if self._lock is not None else _Guarded(connection)
            await self._conn.begin()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.rollback()
        finally:
            self._release()
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None
            if self._lock is not None:
                self._lock.release()

    def _release(self) -> None:
        """Let go of the shared aggregates this unit of work held; forget the stale ones."""
        me, cache = id(self), self._cache
        for holders, stale, forget in (
            (cache.circle_holders, cache.stale_circles, cache.forget_circle),
            (cache.seance_holders, cache.stale_seances, cache.forget_seance),
        ):
            mine = [key for key, holder in holders.items() if holder == me]
            for key in mine:
                del holders[key]
                if key in stale:
                    stale.discard(key)
                    forget(key)

    def _circle_entry(self, circle_id: int) -> _CircleEntry:
        return self._private_circles.get(circle_id) or self._cache.circles[circle_id]

    def _seance_entry(self, seance_id: int) -> _SeanceEntry:
        return self._private_seances.get(seance_id) or self._cache.seances[seance_id]

    @property
    def conn(self) -> AsyncConnection | InlineConnection | _Guarded:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn

    async def commit(self) -> None:
        written_copies = (
            [
                c
                for c, e in self._private_circles.items()
                if not self._circle_unchanged(e.circle, e)
            ],
            [
                k
                for k, e in self._private_seances.items()
                if not self._seance_unchanged(e.seance, e)
            ],
        )
        try:
            for circle in self._touched_circles.values():
                await self._flush_circle(circle)
            for seance in self._touched_seances.values():
                await self._flush_seance(seance)
            await self.conn.commit()
        except BaseException:
            await self._rollback(keep_unchanged=False)  # the cache may hold unwritten rows
            raise
        cache = self._cache
        for circle_id in written_copies[0]:
            if circle_id in cache.circle_holders:
                cache.stale_circles.add(circle_id)  # forgotten when its holder is done
            else:
                cache.forget_circle(circle_id)
        for seance_id in written_copies[1]:
            if seance_id in cache.seance_holders:
                cache.stale_seances.add(seance_id)
            else:
                cache.forget_seance(seance_id)
        for seance in self._touched_seances.values():
            if seance.id in self._private_seances:
                # which séance is open is asked of the database next time
                cache.open_by_circle.pop(seance.circle_id, None)
                continue
            if seance.is_open:
                self._cache.open_by_circle[seance.circle_id] = seance.id
            elif self._cache.open_by_circle.get(seance.circle_id) == seance.id:
                self._cache.open_by_circle[seance.circle_id] = None
        self._committed = True
        self._touched_circles.clear()
        self._touched_seances.clear()

    async def rollback(self) -> None:
        """Forget the transaction; cached aggregates it changed are dropped, so the next
        command reloads them as stored (those it only read stay cached)."""
        await self._rollback(keep_unchanged=True)

    async def _rollback(self, *, keep_unchanged: bool) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.rollback()
        for circle_id, circle in self._touched_circles.items():
            if circle_id in self._private_circles:
                continue  # a copy of its own: nothing shared to drop
            if keep_unchanged and self._circle_unchanged(circle):
                continue
            entry = self._cache.circles.pop(circle_id, None)
            if entry is not None:
                self._cache.by_channel.pop(entry.circle.channel.key, None)
        for seance_id, seance in self._touched_seances.items():
            if seance_id in self._private_seances:
                continue
            if keep_unchanged and self._seance_unchanged(seance):
                continue
            self._cache.seances.pop(seance_id, None)
            self._cache.open_by_circle.pop(seance.circle_id, None)
        self._touched_circles.clear()
        self._touched_seances.clear()
        self._committed = True

    def _circle_unchanged(self, circle: Circle, entry: _CircleEntry | None = None) -> bool:
        entry = entry or self._cache.circles.get(circle.id)
        return (
            entry is not None
            and entry.circle is circle
            and entry.row == mapping.circle_row(circle)
            and entry.members == mapping.member_rows(circle)
        )

    def _seance_unchanged(self, seance: Seance, entry: _SeanceEntry | None = None) -> bool:
        """The séance still matches its stored rows (closed turns never change, so only the
        last ones are compared)."""
        entry = entry or self._cache.seances.get(seance.id)
        if entry is None or entry.seance is not seance or len(entry.turns) != len(seance.turns):
            return False
        return (
            entry.row == mapping.seance_row(seance)
            and entry.phases == mapping.phase_rows(seance)
            and entry.attendance == mapping.attendance_rows(seance)
            and entry.checkins == mapping.checkin_rows(seance)
            and all(
                entry.turns.get(t.seq) == mapping.turn_row(seance.id, t) for t in seance.turns[-2:]
            )
        )

    # -- loading -------------------------------------------------------------------------------

    def touch_circle(self, entry: _CircleEntry) -> Circle:
        self._touched_circles[entry.circle.id] = entry.circle
        if entry.circle.id not in self._private_circles:
            self._cache.circle_holders[entry.circle.id] = id(self)
        return entry.circle

    def touch_seance(self, entry: _SeanceEntry) -> Seance:
        self._touched_seances[entry.seance.id] = entry.seance
        if entry.seance.id not in self._private_seances:
            self._cache.seance_holders[entry.seance.id] = id(self)
        return entry.seance

    def _held_by_another(self, holders: dict[int, int], key: int) -> bool:
        holder = holders.get(key)
        return holder is not None and holder != id(self)

    async def load_circle(self, circle_id: int) -> Circle | None:
        private = self._private_circles.get(circle_id)
        if private is not None:
            return private.circle
        entry = self._cache.circles.get(circle_id)
        shared = not self._held_by_another(self._cache.circle_holders, circle_id)
        if entry is None or not shared:
            rows = _rows(await self.conn.execute(select(CIRCLE).where(CIRCLE.c.id == circle_id)))
            if not rows:
                return None
            members = _rows(
                await self.conn.execute(select(MEMBER).where(MEMBER.c.circle_id == circle_id))
            )
            row = rows[0]
            version = row.pop("version")
            circle = mapping.circle_from_rows(row, members)
            entry = _CircleEntry(circle, row, {m["user"]: m for m in members}, version)
            # While this one read, another unit of work may have loaded and taken the circle.
            if self._held_by_another(self._cache.circle_holders, circle_id):
                self._private_circles[circle_id] = entry
            elif (cached := self._cache.circles.get(circle_id)) is not None:
                entry = cached
            else:
                self._cache.circles[circle_id] = entry
                self._cache.by_channel[circle.channel.key] = circle_id
        return self.touch_circle(entry)

    async def load_seance(self, seance_id: int) -> Seance | None:
        private = self._private_seances.get(seance_id)
        if private is not None:
            return private.seance
        entry = self._cache.seances.get(seance_id)
        shared = not self._held_by_another(self._cache.seance_holders, seance_id)
        if entry is None or not shared:
            conn = self.conn
            rows = _rows(await conn.execute(select(SEANCE).where(SEANCE.c.id == seance_id)))
            if not rows:
                return None
            phases = _rows(await conn.execute(select(PHASE).where(PHASE.c.seance_id == seance_id)))
            turns = _rows(await conn.execute(select(TURN).where(TURN.c.seance_id == seance_id)))
            marks = _rows(
                await conn.execute(select(ATTENDANCE).where(ATTENDANCE.c.seance_id == seance_id))
            )
            words = _rows(
                await conn.execute(select(CHECKIN).where(CHECKIN.c.seance_id == seance_id))
            )
            row = rows[0]
            version = row.pop("version")
            seance = mapping.seance_from_rows(row, phases, turns, marks, words)
            entry = _SeanceEntry(
                seance,
                row,
                {p["idx"]: p for p in phases},
                {t["seq"]: t for t in turns},
                {a["user"]: a for a in marks},
                {c["user"]: c for c in words},
                version,
            )
            # While this one read, another unit of work may have loaded and taken the séance.
            if self._held_by_another(self._cache.seance_holders, seance_id):
                self._private_seances[seance_id] = entry
            elif (cached := self._cache.seances.get(seance_id)) is not None:
                entry = cached
            else:
                self._cache.seances[seance_id] = entry
        return self.touch_seance(entry)

    def evict_seances(self, seance_ids: Sequence[int]) -> None:
        """Forget these séances (their rows were written directly): the next read reloads them."""
        for seance_id in seance_ids:
            self._cache.seances.pop(seance_id, None)
            self._touched_seances.pop(seance_id, None)

    # -- writing -------------------------------------------------------------------------------

    async def insert_circle(self, circle: Circle) -> None:
        row = mapping.circle_row(circle)
        row.pop("id")
        result = await self.conn.execute(insert(CIRCLE).values(**row, version=0))
        circle.id = int(result.inserted_primary_key[0])  # type: ignore[index]
        entry = _CircleEntry(circle, {}, {})
        self._cache.circles[circle.id] = entry
        self._cache.by_channel[circle.channel.key] = circle.id
        self.touch_circle(entry)

    async def insert_seance(self, seance: Seance) -> None:
        row = mapping.seance_row(seance)
        row.pop("id")
        result = await self.conn.execute(insert(SEANCE).values(**row, version=0))
        seance.id = int(result.inserted_primary_key[0])  # type: ignore[index]
        entry = _SeanceEntry(seance, {}, {}, {}, {}, {})
        self._cache.seances[seance.id] = entry
        self.touch_seance(entry)

    async def _flush_circle(self, circle: Circle) -> None:
        entry = self._circle_entry(circle.id)
        row = mapping.circle_row(circle)
        members = mapping.member_rows(circle)
        if entry.row == row and entry.members == members:
            return
        await self._write_versioned(CIRCLE, circle.id, entry.version, entry.row, row)
        entry.version += 1
        entry.row = row
        await self._write_children(MEMBER, {"circle_id": circle.id}, "user", entry.members, members)
        entry.members = members

    async def _flush_seance(self, seance: Seance) -> None:
        entry = self._seance_entry(seance.id)
        row = mapping.seance_row(seance)
        phases = mapping.phase_rows(seance)
        marks = mapping.attendance_rows(seance)
        words = mapping.checkin_rows(seance)
        previous, turns = self._turns_to_write(seance, entry)
        unchanged = (
            row == entry.row
            and phases == entry.phases
            and marks == entry.attendance
            and words == entry.checkins
            and all(previous.get(seq) == turn for seq, turn in turns.items())
        )
        if unchanged:
            return
        key = seance.id
        await self._write_versioned(SEANCE, key, entry.version, entry.row, row)
        entry.version += 1
        entry.row = row
        await self._write_children(PHASE, {"seance_id": key}, "idx", entry.phases, phases)
        entry.phases = phases
        await self._write_children(ATTENDANCE, {"seance_id": key}, "user", entry.attendance, marks)
        entry.attendance = marks
        await self._write_children(CHECKIN, {"seance_id": key}, "user", entry.checkins, words)
        entry.checkins = words
        await self._write_children(
            TURN, {"seance_id": key}, "seq", previous, turns, delete_missing=False
        )
        entry.turns.update(turns)

    async def _write_versioned(
        self, table: Table, key: int, version: int, old: Row, new: Row
    ) -> None:
        """Write the aggregate's changed columns and step its version, only if the stored
        version is still the one this unit of work read; else another process changed it."""
        changed = {k: v for k, v in new.items() if old.get(k, _MISSING) != v and k != "id"}
        statement = _versioned_update(table, tuple(sorted(changed)))
        result = await self.conn.execute(
            statement, {**changed, "pk_id": key, "pk_version": version}
        )
        if result.rowcount != 1:
            raise ConcurrentChange(f"{table.name} {key} changed since version {version}")

    @staticmethod
    def _turns_to_write(
        seance: Seance, entry: _SeanceEntry
    ) -> tuple[dict[Any, Row], dict[Any, Row]]:
        """The stored and current rows of the turns that may have changed: the new ones and
        those that were open (closed turns never change)."""
        stored = entry.turns
        start = len(seance.turns)
        for i in range(len(seance.turns) - 1, -1, -1):
            old = stored.get(seance.turns[i].seq)
            if old is not None and old["ended_at"] is not None:
                break
            start = i
        current: dict[Any, Row] = {}
        previous: dict[Any, Row] = {}
        for turn in seance.turns[start:]:
            current[turn.seq] = mapping.turn_row(seance.id, turn)
            if turn.seq in stored:
                previous[turn.seq] = stored[turn.seq]
        return previous, current

    async def _write_row(self, table: Table, pk: Row, old: Row, new: Row) -> None:
        changed = {k: v for k, v in new.items() if old.get(k, _MISSING) != v and k not in pk}
        if changed:
            statement = _update_statement(table, tuple(pk), tuple(sorted(changed)))
            params = {**changed, **{f"pk_{k}": v for k, v in pk.items()}}
            await self.conn.execute(statement, params)

    async def _write_children(
        self,
        table: Table,
        parent: Row,
        key: str,
        old: dict[Any, Row],
        new: dict[Any, Row],
        *,
        delete_missing: bool = True,
    ) -> None:
        fresh = [row for k, row in new.items() if k not in old]
        if fresh:
            await self.conn.execute(_insert_statement(table), fresh)
        for k, row in new.items():
            if k in old and old[k] != row:
                await self._write_row(table, {**parent, key: k}, old[k], row)
        if delete_missing:
            gone = [k for k in old if k not in new]
            if gone:
                await self.conn.execute(
                    delete(table).where(_match(table, parent), table.c[key].in_(gone))
                )


_MISSING = object()


@functools.lru_cache(maxsize=64)
def _insert_statement(table: Table) -> Any:
    return insert(table)


@functools.lru_cache(maxsize=512)
def _versioned_update(table: Table, columns: tuple[str, ...]) -> Any:
    """UPDATE table SET <columns>, version = version + 1 WHERE id = ? AND version = ?"""
    return (
        update(table)
        .where(table.c.id == bindparam("pk_id"), table.c.version == bindparam("pk_version"))
        .values({**{c: bindparam(c) for c in columns}, "version": table.c.version + 1})
    )


@functools.lru_cache(maxsize=512)
def _update_statement(table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    """UPDATE table SET <columns> WHERE <keys>, built once per shape and reused: building
    SQLAlchemy statements anew for every write was most of a command's cost."""
    return (
        update(table)
        .where(and_(*(table.c[k] == bindparam(f"pk_{k}") for k in keys)))
        .values({c: bindparam(c) for c in columns})
    )


def _match(table: Table, values: Row) -> Any:
    return and_(*(table.c[k] == v for k, v in values.items()))


class _Circles:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def by_channel(self, channel: ChannelRef) -> Circle | None:
        cached = self._uow._cache.by_channel.get(channel.key)
        if cached is not None:
            return await self._uow.load_circle(cached)
        found = await self._uow.conn.execute(
            select(CIRCLE.c.id).where(CIRCLE.c.channel == channel.key)
        )
        circle_id = found.scalar_one_or_none()
        return await self._uow.load_circle(circle_id) if circle_id is not None else None

    async def get(self, circle_id: int) -> Circle | None:
        return await self._uow.load_circle(circle_id)

    async def all(self, partition: Partition = EVERYTHING) -> list[Circle]:
        query = select(CIRCLE.c.id).where(owned_by(partition)).order_by(CIRCLE.c.id)
        ids = (await self._uow.conn.execute(query)).scalars()
        return [c for i in list(ids) if (c := await self._uow.load_circle(i)) is not None]

    async def add(self, circle: Circle) -> None:
        await self._uow.insert_circle(circle)

    async def adopt(self, home: str, platform: str) -> int:
        result = await self._uow.conn.execute(
            update(CIRCLE)
            .where(CIRCLE.c.home.is_(None), CIRCLE.c.channel.startswith(platform + ":"))
            .values(home=home)
        )
        adopted = int(result.rowcount)
        if adopted:
            for entry in self._uow._cache.circles.values():
                if entry.circle.home is None and entry.circle.channel.platform == platform:
                    entry.circle.home = entry.row["home"] = home
        return adopted


class _Seances:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def get(self, seance_id: int) -> Seance | None:
        return await self._uow.load_seance(seance_id)

    async def open_for(self, circle_id: int) -> Seance | None:
        cache = self._uow._cache.open_by_circle
        if circle_id in cache:
            seance_id = cache[circle_id]
            return await self._uow.load_seance(seance_id) if seance_id is not None else None
        found = await self._uow.conn.execute(
            select(SEANCE.c.id).where(
                SEANCE.c.circle_id == circle_id, SEANCE.c.status == SeanceStatus.OPEN.value
            )
        )
        seance_id = found.scalar_one_or_none()
        cache[circle_id] = seance_id
        return await self._uow.load_seance(seance_id) if seance_id is not None else None

    async def by_number(self, circle_id: int, number: int) -> Seance | None:
        found = await self._uow.conn.execute(
            select(SEANCE.c.id).where(SEANCE.c.circle_id == circle_id, SEANCE.c.number == number)
        )
        seance_id = found.scalar_one_or_none()
        return await self._uow.load_seance(seance_id) if seance_id is not None else None

    async def for_circle(self, circle_id: int) -> list[Seance]:
        ids = await self._uow.conn.execute(
            select(SEANCE.c.id).where(SEANCE.c.circle_id == circle_id).order_by(SEANCE.c.number)
        )
        return [s for i in list(ids.scalars()) if (s := await self._uow.load_seance(i))]

    async def all_open(self, partition: Partition = EVERYTHING) -> list[Seance]:
        query = select(SEANCE.c.id).where(SEANCE.c.status == SeanceStatus.OPEN.value)
        if not partition.everything:
            query = query.join(CIRCLE, CIRCLE.c.id == SEANCE.c.circle_id).where(owned_by(partition))
        ids = await self._uow.conn.execute(query)
        return [s for i in list(ids.scalars()) if (s := await self._uow.load_seance(i))]

    async def add(self, seance: Seance) -> None:
        await self._uow.insert_seance(seance)

    async def anonymise(self, circle_id: int, user: UserRef, anonymous: UserRef) -> Anonymised:
        """Turns, attendance, case owner and phase speakers of `user` become `anonymous`.

        Closed turns are never rewritten by the diff on commit, so this writes the rows at once
        and makes the circle's cached séances reload. Marks on planned séances and check-in
        words are deleted."""
        conn = self._uow.conn
        ids = list(
            (await conn.execute(select(SEANCE.c.id).where(SEANCE.c.circle_id == circle_id)))
            .scalars()
            .all()
        )
        planned = list(
            (
                await conn.execute(
                    select(SEANCE.c.id).where(
                        SEANCE.c.circle_id == circle_id,
                        SEANCE.c.status == SeanceStatus.PLANNED.value,
                    )
                )
            )
            .scalars()
            .all()
        )
        key, anon = user.key, anonymous.key
        in_circle = TURN.c.seance_id.in_(ids)
        touched = (
            await conn.execute(
                select(TURN.c.seance_id).distinct().where(in_circle, TURN.c.user == key)
            )
        ).all()
        turns = await conn.execute(
            update(TURN).where(in_circle, TURN.c.user == key).values(user=anon)
        )
        dropped = await conn.execute(
            delete(ATTENDANCE).where(ATTENDANCE.c.seance_id.in_(planned), ATTENDANCE.c.user == key)
        )
        marks = await conn.execute(
            update(ATTENDANCE)
            .where(ATTENDANCE.c.seance_id.in_(ids), ATTENDANCE.c.user == key)
            .values(user=anon)
        )
        words = await conn.execute(
            delete(CHECKIN).where(CHECKIN.c.seance_id.in_(ids), CHECKIN.c.user == key)
        )
        await conn.execute(
            update(SEANCE)
            .where(SEANCE.c.circle_id == circle_id, SEANCE.c.case_owner == key)
            .values(case_owner=anon)
        )
        await conn.execute(
            update(PHASE)
            .where(PHASE.c.seance_id.in_(ids), PHASE.c.speaker == key)
            .values(speaker=anon)
        )
        # other processes holding these séances must read them again
        await conn.execute(
            update(SEANCE).where(SEANCE.c.id.in_(ids)).values(version=SEANCE.c.version + 1)
        )
        self._uow.evict_seances(ids)
        return Anonymised(
            turns=turns.rowcount,
            seances=len(touched),
            attendance=marks.rowcount + dropped.rowcount,
            checkins=words.rowcount,
        )


class _Items:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def for_seance(self, seance_id: int) -> list[Item]:
        rows = await self._uow.conn.execute(
            select(ITEM).where(ITEM.c.seance_id == seance_id).order_by(ITEM.c.number)
        )
        return [mapping.item_from_row(r) for r in _rows(rows)]

    async def for_circle(self, circle_id: int) -> list[Item]:
        rows = await self._uow.conn.execute(
            select(ITEM).where(ITEM.c.circle_id == circle_id).order_by(ITEM.c.number)
        )
        return [mapping.item_from_row(r) for r in _rows(rows)]

    async def add(self, item: Item) -> None:
        await self._uow.conn.execute(insert(ITEM).values(**mapping.item_row(item)))

    async def get(self, circle_id: int, number: int) -> Item | None:
        rows = _rows(
            await self._uow.conn.execute(
                select(ITEM).where(ITEM.c.circle_id == circle_id, ITEM.c.number == number)
            )
        )
        return mapping.item_from_row(rows[0]) if rows else None

    async def update(self, item: Item) -> None:
        row = mapping.item_row(item)
        key = {"circle_id": row.pop("circle_id"), "number": row.pop("number")}
        await self._uow.conn.execute(update(ITEM).where(_match(ITEM, key)).values(**row))

    async def delete(self, circle_id: int, numbers: Sequence[int]) -> None:
        for start in range(0, len(numbers), 500):
            chunk = list(numbers[start : start + 500])
            await self._uow.conn.execute(
                delete(ITEM).where(ITEM.c.circle_id == circle_id, ITEM.c.number.in_(chunk))
            )


class _Prompts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def _select(
        self, *conditions: Any, limit: int | None = None, partition: Partition = EVERYTHING
    ) -> list[Prompt]:
        query = select(PROMPT).where(*conditions).order_by(PROMPT.c.due_at, PROMPT.c.id)
        if not partition.everything:
            query = query.join(CIRCLE, CIRCLE.c.id == PROMPT.c.circle_id).where(owned_by(partition))
        if limit is not None:
            query = query.limit(limit)
        return [mapping.prompt_from_row(r) for r in _rows(await self._uow.conn.execute(query))]

    async def for_seance(self, seance_id: int) -> list[Prompt]:
        return await self._select(PROMPT.c.seance_id == seance_id)

    async def pending(self, partition: Partition = EVERYTHING) -> list[Prompt]:
        return await self._select(
            PROMPT.c.sent_at.is_(None), PROMPT.c.dropped_at.is_(None), partition=partition
        )

    async def due(
        self, now: datetime, limit: int, partition: Partition = EVERYTHING
    ) -> list[Prompt]:
        return await self._select(
            PROMPT.c.sent_at.is_(None),
            PROMPT.c.dropped_at.is_(None),
            PROMPT.c.due_at <= now,
            limit=limit,
            partition=partition,
        )

    async def add(self, prompt: Prompt) -> None:
        row = mapping.prompt_row(prompt)
        row.pop("id")
        result = await self._uow.conn.execute(insert(PROMPT).values(**row))
        prompt.id = int(result.inserted_primary_key[0])  # type: ignore[index]

    async def reschedule(self, prompt_id: int, due_at: datetime) -> None:
        await self._uow.conn.execute(
            update(PROMPT).where(PROMPT.c.id == prompt_id).values(due_at=due_at)
        )

    async def delete(self, prompt_id: int) -> None:
        await self._uow.conn.execute(delete(PROMPT).where(PROMPT.c.id == prompt_id))

    async def claim(self, prompt_ids: Sequence[int], now: datetime, claimer: str) -> list[Prompt]:
        """One UPDATE that only takes unclaimed rows: whoever commits first wins each row."""
        claimed: list[Prompt] = []
        ids = list(prompt_ids)
        for start in range(0, len(ids), 500):
            statement = (
                update(PROMPT)
                .where(
                    PROMPT.c.id.in_(ids[start : start + 500]),
                    PROMPT.c.sent_at.is_(None),
                    PROMPT.c.dropped_at.is_(None),
                )
                .values(sent_at=now, claimed_by=claimer)
                .returning(*PROMPT.c)
            )
            rows = _rows(await self._uow.conn.execute(statement))
            claimed.extend(mapping.prompt_from_row(r) for r in rows)
        claimed.sort(key=lambda p: (p.due_at, p.id))
        return claimed

    async def drop(self, prompt_id: int, now: datetime) -> None:
        await self._uow.conn.execute(
            update(PROMPT).where(PROMPT.c.id == prompt_id).values(sent_at=None, dropped_at=now)
        )
