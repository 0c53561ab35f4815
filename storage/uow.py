"""The SQL unit of work: repositories over SQLAlchemy Core, with an identity cache.

Aggregates (a circle with its roster, a séance with its phases, turns and attendance) are loaded
once and kept in memory; on commit, each aggregate the transaction touched is compared with the
rows it was loaded from and only what changed is written. A rollback drops the touched
aggregates it changed from the cache, so the next command reloads them as they are stored.

Only what commands need stays cached: the circles with an open séance and those séances, and a
few other circles and séances recently used (bounded LRUs). Everything else is read with light
queries (the numbers and dates of a circle's séances, a séance's channel) or changed by SQL
statements (retention), so memory does not grow with the history.

Closed turns never change, so only the tail of a séance's turns (new ones, and the one that was
open) is compared on commit.

Within one process, an aggregate is only loaded under its circle's lock (the core's keyed
locks), so two units of work never share a half-changed object; passes that look at many
circles (due prompts, retention, start-up) read light rows and take each circle's lock before
loading it. Between processes, circles, séances and items carry a version: a write from a stale
copy is refused (ConcurrentChange) and the work runs again on fresh data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.circle import Circle
from bot.domain.items import Item, ItemKind
from bot.domain.prompts import Prompt
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.seance import (
    AttendanceStatus,
    Seance,
    SeanceStatus,
    SeanceSummary,
    SeanceTrail,
    TurnOutcome,
)
from bot.errors import ConcurrentChange, ConnectionLost
from bot.partition import DISCORD_SHARD_SHIFT, EVERYTHING, Partition
from bot.ports import Anonymised
from storage import direct, mapping
from storage.between import Cases, PrepAnswers, Rsvps
from storage.case_votes import CaseVotes
from storage.corrections import apply_corrections, correction_rows
from storage.inline import InlineConnection, InlineSqliteEngine
from storage.live import LiveMessages
from storage.mapping import Row
from storage.outbox import SqlHandledEvents, SqlOutbox
from storage.tables import (
    AttendanceRow,
    CheckInRow,
    CircleRow,
    ItemRow,
    MemberRow,
    PhaseRow,
    PromptRow,
    SeanceRow,
    TurnCorrectionRow,
    TurnRow,
)

log = logging.getLogger(__name__)

CIRCLE: Table = CircleRow.__table__  # type: ignore[attr-defined]
MEMBER: Table = MemberRow.__table__  # type: ignore[attr-defined]
SEANCE: Table = SeanceRow.__table__  # type: ignore[attr-defined]
PHASE: Table = PhaseRow.__table__  # type: ignore[attr-defined]
TURN: Table = TurnRow.__table__  # type: ignore[attr-defined]
TURN_CORRECTION: Table = TurnCorrectionRow.__table__  # type: ignore[attr-defined]
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
    turns: dict[int, Row]  # the open turns and the last closed one (see _open_tail)
    attendance: dict[Any, Row]
    checkins: dict[Any, Row]
    version: int = 0
    corrections: dict[Any, Row] = field(default_factory=dict)


RECENT_SEANCES = 32  # closed, planned or cancelled séances kept after use
IDLE_CIRCLES = 64  # circles without an open séance kept after use (those with one all stay)


@dataclass(slots=True)
class AggregateCache:
    """Aggregates as last committed, shared by the units of work of one process: every circle
    with an open séance and that séance, and the last few other circles and séances used
    (bounded LRUs), so memory does not grow with the history nor with the circles met."""

    circles: dict[int, _CircleEntry] = field(default_factory=dict)
    idle_circles: OrderedDict[int, None] = field(default_factory=OrderedDict)  # LRU, no séance
    by_channel: dict[str, int] = field(default_factory=dict)
    open_seances: dict[int, _SeanceEntry] = field(default_factory=dict)
    recent_seances: OrderedDict[int, _SeanceEntry] = field(default_factory=OrderedDict)
    open_by_circle: dict[int, int | None] = field(default_factory=dict)
    recent_limit: int = RECENT_SEANCES
    idle_limit: int = IDLE_CIRCLES

    def clear(self) -> None:
        self.circles.clear()
        self.idle_circles.clear()
        self.by_channel.clear()
        self.open_seances.clear()
        self.recent_seances.clear()
        self.open_by_circle.clear()

    def seance(self, seance_id: int) -> _SeanceEntry | None:
        entry = self.open_seances.get(seance_id)
        if entry is None:
            entry = self.recent_seances.get(seance_id)
            if entry is not None:
                self.recent_seances.move_to_end(seance_id)
        return entry

    def keep_seance(self, entry: _SeanceEntry) -> None:
        """Keep an open séance for as long as it is open; any other among the recent ones."""
        key = entry.seance.id
        if entry.seance.is_open:
            self.recent_seances.pop(key, None)
            self.open_seances[key] = entry
            return
        self.open_seances.pop(key, None)
        self.recent_seances[key] = entry
        self.recent_seances.move_to_end(key)
        while len(self.recent_seances) > self.recent_limit:
            self.recent_seances.popitem(last=False)

    def keep_circle(self, entry: _CircleEntry) -> None:
        """Keep a circle for as long as it has an open séance; any other among the recent
        ones."""
        circle_id = entry.circle.id
        self.circles[circle_id] = entry
        self.by_channel[entry.circle.channel.key] = circle_id
        if self.open_by_circle.get(circle_id) is not None:
            self.idle_circles.pop(circle_id, None)
            return
        self.idle_circles[circle_id] = None
        self.idle_circles.move_to_end(circle_id)
        while len(self.idle_circles) > self.idle_limit:
            oldest, _ = self.idle_circles.popitem(last=False)
            self.forget_circle(oldest)

    def forget_circle(self, circle_id: int) -> None:
        self.idle_circles.pop(circle_id, None)
        entry = self.circles.pop(circle_id, None)
        if entry is not None:
            self.by_channel.pop(entry.circle.channel.key, None)

    def forget_seance(self, seance_id: int) -> None:
        entry = self.open_seances.pop(seance_id, None) or self.recent_seances.pop(seance_id, None)
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
        # the aggregates this transaction loaded, held here even if the cache lets them go
        self._touched_circles: dict[int, _CircleEntry] = {}
        self._touched_seances: dict[int, _SeanceEntry] = {}
        # séances written before the commit (to be read back in SQL): a rollback forgets them
        self._written_early: set[int] = set()
        self._committed = False
        self._erase_traces = False
        self.circles = _Circles(self)
        self.seances = _Seances(self)
        self.items = _Items(self)
        self.prompts = _Prompts(self)
        self.outbox = SqlOutbox(self)
        self.handled = SqlHandledEvents(self)
        self.answers = PrepAnswers(self)
        self.rsvps = Rsvps(self)
        self.cases = Cases(self)
        self.case_votes = CaseVotes(self)
        self.live = LiveMessages(self)

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
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None
            if self._lock is not None:
                self._lock.release()

    @property
    def conn(self) -> AsyncConnection | InlineConnection | _Guarded:
        if self._conn is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._conn

    async def commit(self) -> None:
        try:
            for circle_entry in self._touched_circles.values():
                await self._flush_circle(circle_entry)
            for seance_entry in self._touched_seances.values():
                await self._flush_seance(seance_entry)
            await self.conn.commit()
        except IntegrityError as error:
            # a second open séance, a channel bound twice: another instance got there first
            await self._rollback(keep_unchanged=False)
            raise ConcurrentChange(f"a unique rule was broken: {error.orig}") from error
        except BaseException:
            await self._rollback(keep_unchanged=False)  # the cache may hold unwritten rows
            raise
        cache = self._cache
        for seance_entry in self._touched_seances.values():
            seance = seance_entry.seance
            cache.keep_seance(seance_entry)
            if seance.is_open:
                cache.open_by_circle[seance.circle_id] = seance.id
            elif cache.open_by_circle.get(seance.circle_id) == seance.id:
                cache.open_by_circle[seance.circle_id] = None
        for circle_entry in self._touched_circles.values():
            cache.keep_circle(circle_entry)  # after the séances: whether one is open
        self._committed = True
        self._touched_circles.clear()
        self._touched_seances.clear()
        self._written_early.clear()
        if self._erase_traces and self._lock is not None:
            await self._checkpoint()

    def erase_traces(self) -> None:
        self._erase_traces = True

    async def _checkpoint(self) -> None:
        """SQLite keeps the pages a transaction wrote in its `-wal` file until a checkpoint,
        the erased text with them: copy them into the file (whose deleted content is zeroed,
        see database.py) and empty the log. Inline, the checkpoint thread waits meanwhile: SQLite
        would refuse this checkpoint, without waiting, while that one runs."""
        conn = self.conn
        paused = (
            conn.checkpoints_paused()
            if isinstance(conn, InlineConnection)
            else contextlib.nullcontext()
        )
        try:
            with paused:
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                await conn.commit()
        except Exception:  # the erasure itself is committed; the next checkpoint will do
            log.exception("the write-ahead log could not be checkpointed")

    async def rollback(self) -> None:
        """Forget the transaction; cached aggregates it changed are dropped, so the next
        command reloads them as stored (those it only read stay cached)."""
        await self._rollback(keep_unchanged=True)

    async def _rollback(self, *, keep_unchanged: bool) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.rollback()
        for circle_id, circle_entry in self._touched_circles.items():
            if not (keep_unchanged and self._circle_unchanged(circle_entry)):
                self._cache.forget_circle(circle_id)
        for seance_id, seance_entry in self._touched_seances.items():
            early = seance_id in self._written_early  # its stored rows were rolled back
            if early or not (keep_unchanged and self._seance_unchanged(seance_entry)):
                self._cache.forget_seance(seance_id)
                self._cache.open_by_circle.pop(seance_entry.seance.circle_id, None)
        self._touched_circles.clear()
        self._touched_seances.clear()
        self._written_early.clear()
        self._committed = True

    @staticmethod
    def _circle_unchanged(entry: _CircleEntry) -> bool:
        circle = entry.circle
        return entry.row == mapping.circle_row(circle) and entry.members == mapping.member_rows(
            circle
        )

    @staticmethod
    def _seance_unchanged(entry: _SeanceEntry) -> bool:
        """The séance still matches its stored rows (closed turns never change, so only the
        last ones are compared)."""
        seance = entry.seance
        previous, turns = SqlUnitOfWork._turns_to_write(seance, entry)
        return (
            entry.row == mapping.seance_row(seance)
            and entry.phases == mapping.phase_rows(seance)
            and entry.attendance == mapping.attendance_rows(seance)
            and entry.checkins == mapping.checkin_rows(seance)
            and entry.corrections == correction_rows(seance)
            and all(previous.get(seq) == turn for seq, turn in turns.items())
        )

    # -- loading -------------------------------------------------------------------------------

    async def load_circle(self, circle_id: int) -> Circle | None:
        entry = self._touched_circles.get(circle_id) or self._cache.circles.get(circle_id)
        if entry is None:
            key = {"key": circle_id}
            rows = await direct.rows(self.conn, _rows_of(CIRCLE, "id"), key)
            if not rows:
                return None
            members = await direct.rows(self.conn, _rows_of(MEMBER, "circle_id"), key)
            row = rows[0]
            version = row.pop("version")
            circle = mapping.circle_from_rows(row, members)
            entry = _CircleEntry(circle, row, {m["user"]: m for m in members}, version)
            self._cache.keep_circle(entry)
        self._touched_circles[circle_id] = entry
        return entry.circle

    async def load_seance(self, seance_id: int) -> Seance | None:
        entry = self._touched_seances.get(seance_id) or self._cache.seance(seance_id)
        if entry is None:
            conn, key = self.conn, {"key": seance_id}
            rows = await direct.rows(conn, _rows_of(SEANCE, "id"), key)
            if not rows:
                return None
            phases = await direct.rows(conn, _rows_of(PHASE, "seance_id"), key)
            turns = await direct.rows(conn, _rows_of(TURN, "seance_id"), key)
            marks = await direct.rows(conn, _rows_of(ATTENDANCE, "seance_id"), key)
            words = await direct.rows(conn, _rows_of(CHECKIN, "seance_id"), key)
            fixes = await direct.rows(conn, _rows_of(TURN_CORRECTION, "seance_id"), key)
            row = rows[0]
            version = row.pop("version")
            seance = mapping.seance_from_rows(row, phases, turns, marks, words)
            apply_corrections(seance, fixes)
            entry = _SeanceEntry(
                seance,
                row,
                {p["idx"]: p for p in phases},
                _open_tail({t["seq"]: t for t in turns}),
                {a["user"]: a for a in marks},
                {c["user"]: c for c in words},
                version,
                {f["seq"]: f for f in fixes},
            )
            self._cache.keep_seance(entry)
        self._touched_seances[seance_id] = entry
        return entry.seance

    def status_changes(self, circle_id: int) -> list[tuple[str | None, str]]:
        """(stored, current) status of the circle's séances this transaction changed."""
        changes = []
        for entry in self._touched_seances.values():
            if entry.seance.circle_id == circle_id:
                was = entry.row.get("status")
                if was != entry.seance.status.value:
                    changes.append((was, entry.seance.status.value))
        return changes

    def touched_seances(self) -> list[Seance]:
        """The séances this transaction loaded or added, as it changed them."""
        return [e.seance for e in self._touched_seances.values()]

    async def write_seances_early(self, circle_id: int) -> None:
        """Write what this transaction changed in the circle's séances now, before the commit,
        so that a query can read them back in SQL (numbers by date)."""
        for seance_id, entry in self._touched_seances.items():
            if entry.seance.circle_id == circle_id:
                await self._flush_seance(entry)
                self._written_early.add(seance_id)

    def cached_seance(self, seance_id: int) -> Seance | None:
        """The séance if this process holds it already (nothing read)."""
        entry = self._cache.seance(seance_id)
        return entry.seance if entry is not None else None

    def evict_seances(self, seance_ids: Sequence[int]) -> None:
        """Forget these séances (their rows were written directly): the next read reloads them."""
        for seance_id in seance_ids:
            self._cache.forget_seance(seance_id)
            self._touched_seances.pop(seance_id, None)

    # -- writing -------------------------------------------------------------------------------

    async def insert_circle(self, circle: Circle) -> None:
        row = mapping.circle_row(circle)
        row.pop("id")
        circle.id = await self._insert_new(CIRCLE, row)
        self._touched_circles[circle.id] = _CircleEntry(circle, {}, {})

    async def insert_seance(self, seance: Seance) -> None:
        row = mapping.seance_row(seance)
        row.pop("id")
        seance.id = await self._insert_new(SEANCE, row)
        # the row as inserted: a later change writes only what differs
        entry = _SeanceEntry(seance, mapping.seance_row(seance), {}, {}, {}, {})
        self._touched_seances[seance.id] = entry

    async def _insert_new(self, table: Table, row: Row) -> int:
        """Insert an aggregate's first row (version 0); its new id."""
        row = {**row, "version": 0}
        statement = _insert_returning_id(table)
        try:
            ids = await direct.insert_ids(self.conn, statement, [row])
            if ids is None:
                return int((await self.conn.execute(statement, row)).scalar_one())
        except IntegrityError as error:
            raise ConcurrentChange(f"{table.name}: a unique rule was broken") from error
        return ids[0]

    async def _flush_circle(self, entry: _CircleEntry) -> None:
        circle = entry.circle
        row = mapping.circle_row(circle)
        members = mapping.member_rows(circle)
        if entry.row == row and entry.members == members:
            return
        await self._write_versioned(CIRCLE, circle.id, entry.version, entry.row, row)
        entry.version += 1
        entry.row = row
        await self._write_children(MEMBER, {"circle_id": circle.id}, "user", entry.members, members)
        entry.members = members

    async def _flush_seance(self, entry: _SeanceEntry) -> None:
        seance = entry.seance
        row = mapping.seance_row(seance)
        phases = mapping.phase_rows(seance)
        marks = mapping.attendance_rows(seance)
        words = mapping.checkin_rows(seance)
        previous, turns = self._turns_to_write(seance, entry)
        fixes = correction_rows(seance)
        unchanged = (
            row == entry.row
            and phases == entry.phases
            and marks == entry.attendance
            and words == entry.checkins
            and fixes == entry.corrections
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
        _open_tail(entry.turns)
        await self._write_children(
            TURN_CORRECTION, {"seance_id": key}, "seq", entry.corrections, fixes
        )
        entry.corrections = fixes

    async def _write_versioned(
        self, table: Table, key: int, version: int, old: Row, new: Row
    ) -> None:
        """Write the aggregate's changed columns and step its version, only if the stored
        version is still the one this unit of work read; else another process changed it."""
        changed = {k: v for k, v in new.items() if old.get(k, _MISSING) != v and k != "id"}
        statement = _versioned_update(table, tuple(sorted(changed)))
        written = await direct.write(
            self.conn, statement, {**changed, "pk_id": key, "pk_version": version}
        )
        if written != 1:
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
            await direct.write(self.conn, statement, params)

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
            await direct.write_many(self.conn, _insert_statement(table), fresh)
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUMMARY = (
    "id",
    "circle_id",
    "number",
    "status",
    "planned_at",
    "opened_at",
    "closed_at",
    "subject",
    "prep_question",
    "recap_published_at",
)


# A planning writes a séance's prompts (four rows): statements built once.
_ADD_PROMPT = insert(PROMPT).returning(PROMPT.c.id)
_RESCHEDULE = (
    update(PROMPT).where(PROMPT.c.id == bindparam("prompt_id")).values(due_at=bindparam("due_at"))
)
_DELETE_PROMPT = delete(PROMPT).where(PROMPT.c.id == bindparam("prompt_id"))


def _open_tail(turns: dict[int, Row]) -> dict[int, Row]:
    """Keep the rows of the turns that may still change, and of the last closed one, where
    the comparison at commit stops (closed turns never change): a long séance's cached rows
    do not grow with its turns."""
    closed = [seq for seq, row in turns.items() if row["ended_at"] is not None]
    if len(closed) > 1:
        last = max(closed)
        for seq in closed:
            if seq != last:
                del turns[seq]
    return turns


@functools.lru_cache(maxsize=64)
def _insert_statement(table: Table) -> Any:
    return insert(table)


@functools.lru_cache(maxsize=8)
def _insert_returning_id(table: Table) -> Any:
    return insert(table).returning(table.c.id)


def _renumbering_query() -> Any:
    """Each séance of a circle with the number it should have: bot/domain/numbering.py's
    order (by date, planned or else opened; undated after; cancelled ones last, by number),
    in SQL, so that planning a séance in a long history reads only the numbers that change
    (and one row for the total)."""
    cancelled = SEANCE.c.status == literal_column(f"'{SeanceStatus.CANCELLED.value}'")
    when = case((cancelled, null()), else_=func.coalesce(SEANCE.c.planned_at, SEANCE.c.opened_at))
    order = (
        case((cancelled, 1), else_=0),
        case((when.is_(None), 1), else_=0),
        when,
        SEANCE.c.number,
    )
    numbered = (
        select(
            SEANCE.c.id,
            SEANCE.c.number,
            func.row_number().over(order_by=order).label("wanted"),
            func.count().over().label("total"),
        )
        .where(SEANCE.c.circle_id == bindparam("key"))
        .subquery()
    )
    return select(numbered).where(
        or_(numbered.c.wanted != numbered.c.number, numbered.c.wanted == 1)
    )


_RENUMBERING = _renumbering_query()
# reads every command may run, built once (storage/direct.py keeps a plan for each)
_CIRCLE_OF_CHANNEL = select(CIRCLE.c.id).where(CIRCLE.c.channel == bindparam("key"))
_OPEN_OF_CIRCLE = select(SEANCE.c.id).where(
    SEANCE.c.circle_id == bindparam("key"),
    SEANCE.c.status == literal_column(f"'{SeanceStatus.OPEN.value}'"),
)
_SEANCE_BY_NUMBER = (
    select(SEANCE.c.id)
    .where(SEANCE.c.circle_id == bindparam("key"), SEANCE.c.number == bindparam("number"))
    .order_by(SEANCE.c.id)
    .limit(1)
)
_ITEMS_OF_SEANCE = select(ITEM).where(ITEM.c.seance_id == bindparam("key")).order_by(ITEM.c.number)
_OPEN_ACTIONS = (
    select(ITEM)
    .where(
        ITEM.c.circle_id == bindparam("key"),
        ITEM.c.kind == literal_column(f"'{ItemKind.ACTION.value}'"),
        ITEM.c.done_at.is_(None),
    )
    .order_by(ITEM.c.number)
)
_ITEM_BY_NUMBER = select(ITEM).where(
    ITEM.c.circle_id == bindparam("key"), ITEM.c.number == bindparam("number")
)
_PROMPTS_OF_SEANCE = (
    select(PROMPT)
    .where(PROMPT.c.seance_id == bindparam("key"))
    .order_by(PROMPT.c.due_at, PROMPT.c.id)
)


@functools.lru_cache(maxsize=16)
def _count_query(statuses: tuple[str, ...]) -> Any:
    """How many of a circle's séances are in one of `statuses` (the enum's own words)."""
    assert all(s.isidentifier() for s in statuses)
    return (
        select(func.count())
        .select_from(SEANCE)
        .where(
            SEANCE.c.circle_id == bindparam("key"),
            or_(*(SEANCE.c.status == literal_column(f"'{s}'") for s in statuses)),
        )
    )


@functools.lru_cache(maxsize=8)
def _trail_queries(count: int) -> tuple[Any, Any]:
    """Attendance, and who spoke (a pass is not speaking), of `count` séances (:s0, :s1, …)."""
    ids: list[Any] = [bindparam(f"s{n}") for n in range(count)]
    marks = select(ATTENDANCE.c.seance_id, ATTENDANCE.c.user, ATTENDANCE.c.status).where(
        ATTENDANCE.c.seance_id.in_(ids)
    )
    passed: Any = literal_column(f"'{TurnOutcome.PASSED.value}'")
    spoke = (
        select(TURN.c.seance_id, TURN.c.user)
        .where(
            TURN.c.seance_id.in_(ids),
            or_(TURN.c.outcome.is_(None), TURN.c.outcome != passed),
        )
        .distinct()
    )
    return marks, spoke


@functools.lru_cache(maxsize=8)
def _last_closed(count: int) -> Any:
    """Number and closing time of a circle's last `count` closed séances."""
    return (
        select(SEANCE.c.id, SEANCE.c.number, SEANCE.c.closed_at)
        .where(
            SEANCE.c.circle_id == bindparam("key"),
            SEANCE.c.status == literal_column(f"'{SeanceStatus.CLOSED.value}'"),
        )
        .order_by(SEANCE.c.closed_at.desc(), SEANCE.c.number.desc())
        .limit(count)
    )


@functools.lru_cache(maxsize=64)
def _summaries_query(statuses: tuple[str, ...], last: int | None, below: bool) -> Any:
    """The light rows of a circle's séances (of `statuses`, numbered `below` a number, the
    `last` ones by number), built
    once for each of the few shapes used: planning and lookups read them at every command.
    The statuses are the enum's own words, written into the SQL (no list to expand)."""
    query = select(*(SEANCE.c[c] for c in _SUMMARY)).where(SEANCE.c.circle_id == bindparam("key"))
    if statuses:
        assert all(s.isidentifier() for s in statuses)
        query = query.where(or_(*(SEANCE.c.status == literal_column(f"'{s}'") for s in statuses)))
    if below:
        query = query.where(SEANCE.c.number < bindparam("below"))
    if last is not None:
        query = query.order_by(SEANCE.c.number.desc()).limit(last)
    return query


@functools.lru_cache(maxsize=64)
def _rows_of(table: Table, column: str) -> Any:
    """SELECT * FROM table WHERE column = :key, built once: loading a séance runs five."""
    return select(table).where(table.c[column] == bindparam("key"))


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
        found = await direct.first(self._uow.conn, _CIRCLE_OF_CHANNEL, {"key": channel.key})
        return await self._uow.load_circle(int(found[0])) if found is not None else None

    async def get(self, circle_id: int) -> Circle | None:
        return await self._uow.load_circle(circle_id)

    async def channels(self, circle_ids: Sequence[int]) -> dict[int, ChannelRef]:
        found: dict[int, ChannelRef] = {}
        ids = list(circle_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._uow.conn.execute(
                select(CIRCLE.c.id, CIRCLE.c.channel).where(CIRCLE.c.id.in_(chunk))
            )
            found.update((int(i), ChannelRef.from_key(key)) for i, key in rows)
        return found

    async def of_member(self, user: UserRef) -> dict[int, ChannelRef]:
        query = (
            select(CIRCLE.c.id, CIRCLE.c.channel)
            .join(MEMBER, MEMBER.c.circle_id == CIRCLE.c.id)
            .where(MEMBER.c.user == user.key, MEMBER.c.left_at.is_(None))
            .order_by(CIRCLE.c.id)
        )
        rows = await self._uow.conn.execute(query)
        return {int(i): ChannelRef.from_key(key) for i, key in rows}

    async def all(self, partition: Partition = EVERYTHING) -> list[Circle]:
        query = select(CIRCLE.c.id).where(owned_by(partition)).order_by(CIRCLE.c.id)
        ids = (await self._uow.conn.execute(query)).scalars()
        return [c for i in list(ids) if (c := await self._uow.load_circle(i)) is not None]

    async def retaining(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef, int]]:
        query = (
            select(CIRCLE.c.id, CIRCLE.c.channel, CIRCLE.c.retention_days)
            .where(owned_by(partition), CIRCLE.c.retention_days > 0)
            .order_by(CIRCLE.c.id)
        )
        rows = await self._uow.conn.execute(query)
        return [(int(i), ChannelRef.from_key(key), int(days)) for i, key, days in rows]

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

    async def channel_of(self, seance_id: int) -> ChannelRef | None:
        found = await self._uow.conn.execute(
            select(CIRCLE.c.channel)
            .join(SEANCE, SEANCE.c.circle_id == CIRCLE.c.id)
            .where(SEANCE.c.id == seance_id)
        )
        key = found.scalar_one_or_none()
        return ChannelRef.from_key(key) if key is not None else None

    async def open_for(self, circle_id: int) -> Seance | None:
        cache = self._uow._cache.open_by_circle
        if circle_id in cache:
            seance_id = cache[circle_id]
            return await self._uow.load_seance(seance_id) if seance_id is not None else None
        found = await direct.first(self._uow.conn, _OPEN_OF_CIRCLE, {"key": circle_id})
        seance_id = int(found[0]) if found is not None else None
        cache[circle_id] = seance_id
        return await self._uow.load_seance(seance_id) if seance_id is not None else None

    async def by_number(self, circle_id: int, number: int) -> Seance | None:
        key = {"key": circle_id, "number": number}
        found = await direct.first(self._uow.conn, _SEANCE_BY_NUMBER, key)
        return await self._uow.load_seance(int(found[0])) if found is not None else None

    async def for_circle(self, circle_id: int) -> list[Seance]:
        ids = await self._uow.conn.execute(
            select(SEANCE.c.id).where(SEANCE.c.circle_id == circle_id).order_by(SEANCE.c.number)
        )
        return [s for i in list(ids.scalars()) if (s := await self._uow.load_seance(i))]

    async def summaries(
        self,
        circle_id: int,
        statuses: Sequence[SeanceStatus] = (),
        last: int | None = None,
        below: int | None = None,
    ) -> list[SeanceSummary]:
        query = _summaries_query(tuple(s.value for s in statuses), last, below is not None)
        key = {"key": circle_id} if below is None else {"key": circle_id, "below": below}
        found = {
            row["id"]: SeanceSummary(
                row["id"],
                row["circle_id"],
                row["number"],
                SeanceStatus(row["status"]),
                row["planned_at"],
                row["opened_at"],
                row["closed_at"],
                row["subject"],
                row["prep_question"],
                row["recap_published_at"],
            )
            for row in await direct.rows(self._uow.conn, query, key)
        }
        # what this transaction changed and has not written yet
        for seance in self._uow.touched_seances():
            if seance.circle_id != circle_id:
                continue
            if (statuses and seance.status not in statuses) or (
                below is not None and seance.number >= below
            ):
                found.pop(seance.id, None)
            elif last is None or seance.id in found:
                found[seance.id] = SeanceSummary.of(seance)
        ordered = sorted(found.values(), key=lambda s: s.number)
        return ordered[-last:] if last else ordered

    async def renumbering(self, circle_id: int) -> tuple[dict[int, int], int]:
        await self._uow.write_seances_early(circle_id)
        found = await direct.rows(self._uow.conn, _RENUMBERING, {"key": circle_id})
        total = int(found[0]["total"]) if found else 0
        return {int(r["id"]): int(r["wanted"]) for r in found if r["wanted"] != r["number"]}, total

    async def count(self, circle_id: int, statuses: Sequence[SeanceStatus]) -> int:
        values = [s.value for s in statuses]
        if not values:
            return 0
        found = await direct.first(self._uow.conn, _count_query(tuple(values)), {"key": circle_id})
        stored = int(found[0]) if found else 0
        # what this transaction changed and has not written yet
        for was, now in self._uow.status_changes(circle_id):
            stored += (now in values) - (was in values)
        return stored

    async def recent_trails(self, circle_id: int, count: int) -> list[SeanceTrail]:
        uow = self._uow
        touched = {s.id: s for s in uow.touched_seances() if s.circle_id == circle_id}
        # (closed at, number, id) of the candidates: the last stored ones, and those closed here
        stored = await direct.rows(uow.conn, _last_closed(count), {"key": circle_id})
        candidates = [
            (r["closed_at"], r["number"], r["id"]) for r in stored if r["id"] not in touched
        ]
        candidates += [
            (s.closed_at, s.number, s.id)
            for s in touched.values()
            if s.status is SeanceStatus.CLOSED
        ]
        candidates.sort(key=lambda c: (c[0] is not None, c[0] or _EPOCH, c[1]))
        chosen = [i for _, _, i in candidates[-count:]]
        trails: dict[int, SeanceTrail] = {}
        to_read = []
        for seance_id in chosen:
            entry = touched.get(seance_id) or uow.cached_seance(seance_id)
            if entry is not None:
                trails[seance_id] = SeanceTrail.of(entry)
            else:
                to_read.append(seance_id)
        if to_read:
            trails.update(await self._read_trails(to_read, {i: n for _, n, i in candidates}))
        return sorted(trails.values(), key=lambda t: t.number)

    async def _read_trails(
        self, seance_ids: list[int], numbers: dict[int, int]
    ) -> dict[int, SeanceTrail]:
        """Attendance and speakers of stored séances: two queries, whatever their turns."""
        conn, ids = self._uow.conn, {f"s{n}": i for n, i in enumerate(seance_ids)}
        marks_query, spoke_query = _trail_queries(len(seance_ids))
        attendance: dict[int, dict[UserRef, AttendanceStatus]] = {i: {} for i in seance_ids}
        for r in await direct.rows(conn, marks_query, ids):
            attendance[r["seance_id"]][UserRef.from_key(r["user"])] = AttendanceStatus(r["status"])
        speakers: dict[int, set[UserRef]] = {i: set() for i in seance_ids}
        for r in await direct.rows(conn, spoke_query, ids):
            speakers[r["seance_id"]].add(UserRef.from_key(r["user"]))
        return {
            i: SeanceTrail(numbers[i], attendance[i], frozenset(speakers[i])) for i in seance_ids
        }

    async def open_channels(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef]]:
        query = (
            select(SEANCE.c.id, CIRCLE.c.channel)
            .join(CIRCLE, CIRCLE.c.id == SEANCE.c.circle_id)
            .where(SEANCE.c.status == SeanceStatus.OPEN.value, owned_by(partition))
            .order_by(SEANCE.c.id)
        )
        rows = await self._uow.conn.execute(query)
        return [(int(i), ChannelRef.from_key(key)) for i, key in rows]

    async def purge_checkins(self, circle_id: int, cutoff: datetime) -> int:
        conn = self._uow.conn
        in_circle = select(SEANCE.c.id).where(SEANCE.c.circle_id == circle_id)
        old = and_(CHECKIN.c.seance_id.in_(in_circle), CHECKIN.c.recorded_at <= cutoff)
        ids = list(
            (await conn.execute(select(CHECKIN.c.seance_id).distinct().where(old))).scalars()
        )
        if not ids:
            return 0
        # other processes holding these séances must read them again
        await conn.execute(
            update(SEANCE).where(SEANCE.c.id.in_(ids)).values(version=SEANCE.c.version + 1)
        )
        deleted = await conn.execute(delete(CHECKIN).where(old))
        self._uow.evict_seances(ids)
        return int(deleted.rowcount)

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
        await conn.execute(
            update(TURN_CORRECTION)
            .where(TURN_CORRECTION.c.seance_id.in_(ids), TURN_CORRECTION.c.corrected_by == key)
            .values(corrected_by=anon)
        )
        dropped = await conn.execute(
            delete(ATTENDANCE).where(ATTENDANCE.c.seance_id.in_(planned), ATTENDANCE.c.user == key)
        )
        marks = await conn.execute(
            update(ATTENDANCE)
            .where(ATTENDANCE.c.seance_id.in_(ids), ATTENDANCE.c.user == key)
            .values(user=anon, reason=None)
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
    """Items carry a version, like circles and séances: an update made from an item read
    before another instance changed it is refused (ConcurrentChange) and the work runs again."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._versions: dict[tuple[int, int], int] = {}  # (circle, number) -> version read

    def _read(self, rows: list[Row]) -> list[Item]:
        items = []
        for row in rows:
            self._versions[(row["circle_id"], row["number"])] = row.pop("version")
            items.append(mapping.item_from_row(row))
        return items

    async def for_seance(self, seance_id: int) -> list[Item]:
        return self._read(await direct.rows(self._uow.conn, _ITEMS_OF_SEANCE, {"key": seance_id}))

    async def for_circle(self, circle_id: int) -> list[Item]:
        rows = await self._uow.conn.execute(
            select(ITEM).where(ITEM.c.circle_id == circle_id).order_by(ITEM.c.number)
        )
        return self._read(_rows(rows))

    async def open_actions(self, circle_id: int) -> list[Item]:
        return self._read(await direct.rows(self._uow.conn, _OPEN_ACTIONS, {"key": circle_id}))

    async def add(self, item: Item) -> None:
        """A duplicate number means another instance numbered an item at the same time from
        the same circle: a concurrent change, run again on fresh data."""
        try:
            row = {**mapping.item_row(item), "version": 0}
            await direct.write(self._uow.conn, _insert_statement(ITEM), row)
        except IntegrityError as error:
            raise ConcurrentChange(f"item {item.number} of circle {item.circle_id}") from error
        self._versions[(item.circle_id, item.number)] = 0

    async def get(self, circle_id: int, number: int) -> Item | None:
        key = {"key": circle_id, "number": number}
        rows = await direct.rows(self._uow.conn, _ITEM_BY_NUMBER, key)
        return self._read(rows)[0] if rows else None

    async def update(self, item: Item) -> None:
        row = mapping.item_row(item)
        key = (row.pop("circle_id"), row.pop("number"))
        version = self._versions.get(key)
        where = [ITEM.c.circle_id == key[0], ITEM.c.number == key[1]]
        if version is not None:
            where.append(ITEM.c.version == version)
        result = await self._uow.conn.execute(
            update(ITEM).where(*where).values(**row, version=ITEM.c.version + 1)
        )
        if result.rowcount != 1:
            raise ConcurrentChange(f"item {key[1]} of circle {key[0]} changed since read")
        if version is not None:
            self._versions[key] = version + 1

    async def purge_notes(self, circle_id: int, cutoff: datetime) -> int:
        deleted = await self._uow.conn.execute(
            delete(ITEM).where(
                ITEM.c.circle_id == circle_id,
                ITEM.c.kind == ItemKind.NOTE.value,
                ITEM.c.created_at <= cutoff,
            )
        )
        return int(deleted.rowcount)

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
        rows = await direct.rows(self._uow.conn, _PROMPTS_OF_SEANCE, {"key": seance_id})
        return [mapping.prompt_from_row(r) for r in rows]

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
        conn = self._uow.conn
        try:
            ids = await direct.insert_ids(conn, _ADD_PROMPT, [row])
            if ids is None:
                ids = [int((await conn.execute(_ADD_PROMPT, row)).scalar_one())]
        except IntegrityError as error:
            # the séance's prompt of this kind exists: another instance planned it meanwhile
            raise ConcurrentChange(
                f"prompt {prompt.kind.value} of séance {prompt.seance_id}"
            ) from error
        prompt.id = ids[0]

    async def reschedule(self, prompt_id: int, due_at: datetime) -> None:
        await direct.write(self._uow.conn, _RESCHEDULE, {"prompt_id": prompt_id, "due_at": due_at})

    async def delete(self, prompt_id: int) -> None:
        await direct.write(self._uow.conn, _DELETE_PROMPT, {"prompt_id": prompt_id})

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
