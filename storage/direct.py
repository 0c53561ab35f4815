"""The statements every command runs, sent straight to SQLite's driver, compiled once.

SQLAlchemy Core spends about 50 µs on each `execute` (building the parameters, finding the
compiled statement in its cache, making a result object), several times what SQLite itself
takes to write a row; and each command runs five to eight statements (its changes, its outbox
rows, its event id). So, with SQLite inline in the event loop, the hot statements are compiled
once per shape of parameters (the SQL, the order of its parameters, each parameter's bind
processor, e.g. for instants) and run on the `sqlite3` connection itself, in the same
transaction. The SQL, the conversions and the errors (`IntegrityError`, ...) are SQLAlchemy's,
so a row written here is the row SQLAlchemy would have written.

Everything else goes through SQLAlchemy as before: another database or SQLite on aiosqlite's
thread, a statement this module cannot fill by itself (a Python-side default, an `IN` list),
and any statement while someone listens to the engine's statements (tests that check what is
written, benchmarks that count statements), so that they see every one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, NoReturn

from sqlalchemy import Integer
from sqlalchemy.exc import DBAPIError

from storage.inline import InlineConnection
from storage.types import UTCDateTime

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One statement compiled for one set of parameter names."""

    statement: Any  # held, so that no other statement ever gets its id
    sql: str
    names: tuple[str, ...]  # of the positional parameters, in order
    constants: Row  # values the statement holds itself (`version + 1`, a column's default)
    # the values of `names` from a row, in one call in C (most need no conversion)...
    pick: Callable[[Row], tuple[Any, ...]]
    # ...then the few that do (an instant): (position, conversion)
    conversions: tuple[tuple[int, Callable[[Any], Any]], ...]
    # a SELECT's columns: their names and how each value is read back (None: as it comes)
    columns: tuple[str, ...] = ()
    readers: tuple[Callable[[Any], Any] | None, ...] = ()

    def parameters(self, row: Row) -> list[Any]:
        if self.constants:
            row = self.constants | row
        values = list(self.pick(row))
        for position, process in self.conversions:
            values[position] = process(values[position])
        return values


# (id of the statement, parameter names) -> its plan, or None: SQLAlchemy runs it
_plans: dict[tuple[int, tuple[str, ...]], _Plan | None] = {}


def _compile(statement: Any, names: tuple[str, ...], conn: InlineConnection) -> _Plan | None:
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    if not compiled.positional or compiled.literal_execute_params or compiled.post_compile_params:
        return None
    constants: Row = {}
    for column in compiled.insert_prefetch:
        if column.default is None or not column.default.is_scalar:
            return None  # computed in Python at each execution: leave it to SQLAlchemy
        constants[column.key] = column.default.arg
    if compiled.update_prefetch:
        return None
    order = tuple(compiled.positiontup or ())
    for name in order:
        bind = compiled.binds[name]
        if name in names or name in constants:
            continue
        if bind.required or bind.callable is not None:
            return None
        constants[name] = bind.value
    processors = [_processor(compiled.binds[n].type, dialect) for n in order]
    conversions = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    result_columns = getattr(compiled, "_result_columns", None) or ()
    columns = tuple(c.keyname for c in result_columns)
    readers = tuple(
        c.type.dialect_impl(dialect).result_processor(dialect, None) for c in result_columns
    )
    return _Plan(
        statement, compiled.string, order, constants, _picker(order), conversions, columns, readers
    )


def _picker(names: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    if len(names) > 1:
        return itemgetter(*names)
    return lambda row: tuple(row[name] for name in names)  # itemgetter of one is no tuple


# every instant column converts the same way (UTCDateTime on SQLite): one converter for all
_instants: dict[str, Callable[[Any], Any]] = {}


def _processor(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    process: Callable[[Any], Any] | None = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is not None and type(column_type) is UTCDateTime:
        if dialect.name not in _instants:
            _instants[dialect.name] = _instant_memo(process)
        return _instants[dialect.name]
    return process


def _instant_memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An instant's conversion, remembering the last one: a command writes the same `now` in
    several rows (its outbox rows, a turn, the séance's marks), and the conversion (to UTC,
    then to SQLite's text) costs more than the rest of a row's parameters. Equal aware instants
    are the same moment, so they convert to the same text."""
    last: list[Any] = [None, None]

    def convert(value: Any) -> Any:
        if value is None:
            return process(value)
        if type(value) is datetime and value.tzinfo is not None and value == last[0]:
            return last[1]
        converted = process(value)
        last[0], last[1] = value, converted
        return converted

    return convert


def _plan(conn: Any, statement: Any, row: Row) -> _Plan | None:
    if not isinstance(conn, InlineConnection) or conn.watched():
        return None
    names = tuple(row)
    key = (id(statement), names)
    known = _plans.get(key)
    if key not in _plans or (known is not None and known.statement is not statement):
        known = _plans[key] = _compile(statement, names, conn)
    return known


def _raise(conn: InlineConnection, sql: str, parameters: Any, error: sqlite3.Error) -> NoReturn:
    dialect = conn.dialect
    raise DBAPIError.instance(sql, parameters, error, sqlite3.Error, dialect=dialect) from error


async def write(conn: Any, statement: Any, row: Row) -> int:
    """Run an INSERT, UPDATE or DELETE for one row of parameters; the rows it changed."""
    plan = _plan(conn, statement, row)
    if plan is None:
        return int((await conn.execute(statement, row)).rowcount)
    parameters = plan.parameters(row)
    try:
        return int(conn.driver.execute(plan.sql, parameters).rowcount)
    except sqlite3.Error as error:
        _raise(conn, plan.sql, parameters, error)


async def write_many(conn: Any, statement: Any, rows: Sequence[Row]) -> None:
    """Run an INSERT (or UPDATE) once for each of `rows`, which all have the same keys."""
    plan = _plan(conn, statement, rows[0]) if rows else None
    if plan is None:
        if rows:
            await conn.execute(statement, list(rows))
        return
    batch = [plan.parameters(r) for r in rows]
    try:
        conn.driver.executemany(plan.sql, batch)
    except sqlite3.Error as error:
        _raise(conn, plan.sql, batch, error)


async def insert_ids(conn: Any, statement: Any, rows: Sequence[Row]) -> list[int] | None:
    """Run an `INSERT … RETURNING id` for `rows`, all with the same keys: the new ids, in the
    order of `rows`. None when the statement has to go through SQLAlchemy (the caller runs it
    there)."""
    plan = _plan(conn, statement, rows[0]) if rows else None
    if plan is None:
        return None
    ids: list[int] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        sql = _numbered_sql(plan, len(chunk))
        if sql is None:  # not a shape this module can repeat: one row at a time, as written
            for row in chunk:
                cursor = _run(conn, plan.sql, plan.parameters(row))
                ids.append(int(cursor.fetchone()[0]))
                cursor.close()  # else the statement stays open
            continue
        parameters = [value for row in chunk for value in plan.parameters(row)]
        last = _run(conn, sql, parameters).lastrowid
        assert last is not None
        ids.extend(range(last - len(chunk) + 1, last + 1))
    return ids


async def rows(conn: Any, statement: Any, row: Row) -> list[Row]:
    """What a SELECT returns, as dicts by column name, read back as SQLAlchemy reads them
    (instants made aware, ...). Loading a séance runs six of these; SQLAlchemy's result
    objects cost several times the reading itself. For statements built once (a plan is kept
    for each statement object)."""
    plan = _plan(conn, statement, row)
    if plan is None or len(set(plan.columns)) != len(plan.columns):
        return [dict(r._mapping) for r in await conn.execute(statement, row)]
    parameters = plan.parameters(row)
    try:
        cursor = conn.driver.execute(plan.sql, parameters)
        found = cursor.fetchall()
        cursor.close()
    except sqlite3.Error as error:
        _raise(conn, plan.sql, parameters, error)
    columns, readers = plan.columns, plan.readers
    if not any(readers):
        return [dict(zip(columns, values, strict=True)) for values in found]
    return [
        {
            name: value if read is None or value is None else read(value)
            for name, read, value in zip(columns, readers, values, strict=True)
        }
        for values in found
    ]


# A command writes two or three outbox rows: one statement for all costs SQLite one statement's
# overhead instead of three. Bounded, to stay far below SQLite's limit of bound parameters.
_ROWS_PER_INSERT = 50
# (SQL of one row with RETURNING, number of rows) -> the statement without, or None
_numbered: dict[tuple[str, int], str | None] = {}


def _numbered_sql(plan: _Plan, count: int) -> str | None:
    """`INSERT … VALUES (?, …), (?, …) …` for `count` rows of the plan's shape, without its
    `RETURNING id`: SQLite numbers a new row of an integer primary key one above the largest
    (while it stays below 2**63), in the order of VALUES, so the rows of one statement get
    consecutive ids, the last of which is the cursor's `lastrowid`. RETURNING would cost SQLite
    a temporary table to hold the rows it returns: as much again as the insert itself."""
    key = (plan.sql, count)
    if key not in _numbered:
        one_row = "(" + ", ".join("?" * len(plan.names)) + ")"
        head, values, tail = plan.sql.partition(f" VALUES {one_row} ")
        numbered = values and head.startswith("INSERT INTO ") and tail == "RETURNING id"
        table = plan.statement.table
        key_columns = list(table.primary_key.columns)
        # only ids SQLite picks itself, not given: a primary key `id` declared INTEGER (SQLite's
        # rowid under another name; BIGINT would not be)
        numbered = (
            numbered
            and "id" not in plan.names
            and [c.name for c in key_columns] == ["id"]
            and type(key_columns[0].type) is Integer
        )
        _numbered[key] = f"{head} VALUES {', '.join([one_row] * count)}" if numbered else None
    return _numbered[key]


def _run(conn: InlineConnection, sql: str, parameters: list[Any]) -> sqlite3.Cursor:
    try:
        return conn.driver.execute(sql, parameters)
    except sqlite3.Error as error:
        _raise(conn, sql, parameters, error)


async def first(conn: Any, statement: Any, row: Row) -> tuple[Any, ...] | None:
    """The first row a SELECT of plain columns (no conversions on reading) returns."""
    plan = _plan(conn, statement, row)
    if plan is None:
        found = (await conn.execute(statement, row)).first()
        return None if found is None else tuple(found)
    parameters = plan.parameters(row)
    try:
        cursor = conn.driver.execute(plan.sql, parameters)
        found = cursor.fetchone()
        cursor.close()
    except sqlite3.Error as error:
        _raise(conn, plan.sql, parameters, error)
    return None if found is None else tuple(found)
