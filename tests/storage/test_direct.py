"""The hot statements sent straight to SQLite's driver write the rows SQLAlchemy would have
written, fail with SQLAlchemy's errors, and step aside whenever they cannot do the same."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from bot.domain.refs import ChannelRef
from bot.effects import Effect, Reply
from bot.ports import UnitOfWork
from storage import direct
from storage.database import Database
from storage.outbox import HANDLED, OUTBOX
from storage.uow import CIRCLE, SqlUnitOfWork, _insert_statement, _versioned_update

WHEN = datetime(2026, 12, 7, 5, 30, 12, 345678, tzinfo=UTC)
NAIVE = WHEN.replace(tzinfo=None)  # a plain DateTime column, as SQLite gives it back


def sql(work: UnitOfWork) -> SqlUnitOfWork:
    assert isinstance(work, SqlUnitOfWork)
    return work


def circle_row(channel: str) -> dict[str, Any]:
    return {
        "name": "Cercle",
        "channel": channel,
        "language": "fr",
        "timezone": "Europe/Paris",
        "protocol": "libre",
        "queue_order": "arrival",
        "roster_open": True,
        "round_auto_advance": False,
        "phase_auto_advance": False,
        "created_at": WHEN,
        "version": 0,
    }


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The statements SQLAlchemy itself sent to the database inside the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_rows_written_directly_read_back_as_sqlalchemy_writes_them(
    sqlite_db: Database,
) -> None:
    assert sqlite_db.inline
    async with sqlite_db() as work:
        uow = sql(work)
        conn = uow.conn
        ids = await direct.insert_ids(
            conn,
            OUTBOX.insert().returning(OUTBOX.c.id),
            [
                {
                    "home": None,
                    "shard_key": 2**40 + 7,
                    "channel": "matrix:!a",
                    "kind": "reply",
                    "payload": "« é »",
                    "created_at": WHEN,
                    "attempts": 0,
                }
            ]
            * 3,
        )
        assert ids is not None
        assert ids == sorted(ids)
        assert len(set(ids)) == 3
        await direct.write(conn, HANDLED.insert(), {"event_id": "$e1", "handled_at": WHEN})
        seen = sa.select(HANDLED.c.event_id).where(HANDLED.c.event_id == sa.bindparam("e"))
        assert await direct.first(conn, seen, {"e": "$e1"}) == ("$e1",)
        assert await direct.first(conn, seen, {"e": "$e2"}) is None
        await uow.commit()
    async with sqlite_db() as work:
        uow = sql(work)
        rows = (await uow.conn.execute(sa.select(OUTBOX).order_by(OUTBOX.c.id))).all()
        handled = (await uow.conn.execute(sa.select(HANDLED))).one()
        await uow.commit()
    assert [r.id for r in rows] == ids
    assert {(r.shard_key, r.payload, r.created_at, r.delivered_at) for r in rows} == {
        (2**40 + 7, "« é »", WHEN, None)
    }
    assert handled.handled_at == WHEN  # the instant kept its microseconds and its zone


async def test_rows_inserted_together_get_their_ids_in_their_order(sqlite_db: Database) -> None:
    """Several rows go in one statement; each id is its own row's, whatever the count."""
    row = {
        "home": None,
        "shard_key": None,
        "channel": "matrix:!o",
        "kind": "reply",
        "created_at": WHEN,
        "attempts": 0,
    }
    add = OUTBOX.insert().returning(OUTBOX.c.id)
    async with sqlite_db() as work:
        uow = sql(work)
        given: dict[int, str] = {}
        for count in (1, 2, 3, 7, 120):  # 120: more than one statement's worth
            payloads = [f"{count}-{i}" for i in range(count)]
            ids = await direct.insert_ids(uow.conn, add, [row | {"payload": p} for p in payloads])
            assert ids is not None
            assert len(ids) == count
            given |= dict(zip(ids, payloads, strict=True))
        # an id given (not SQLite's to pick): row by row, each reading back its own
        ids = await direct.insert_ids(uow.conn, add, [row | {"id": 10_000, "payload": "mine"}])
        assert ids == [10_000]
        given[10_000] = "mine"
        ids = await direct.insert_ids(uow.conn, add, [row | {"payload": "next"}] * 2)
        assert ids == [10_001, 10_002]
        given |= dict.fromkeys(ids, "next")
        stored = (await uow.conn.execute(sa.select(OUTBOX.c.id, OUTBOX.c.payload))).all()
        await uow.commit()
    assert dict((i, p) for i, p in stored) == given


async def test_a_versioned_update_counts_the_rows_it_changed(sqlite_db: Database) -> None:
    async with sqlite_db() as work:
        uow = sql(work)
        await direct.write(uow.conn, _insert_statement(CIRCLE), circle_row("matrix:!v"))
        circle_id = (await uow.conn.execute(sa.select(CIRCLE.c.id))).scalar_one()
        update = _versioned_update(CIRCLE, ("name",))
        later = {"name": "Autre", "pk_id": circle_id}
        assert await direct.write(uow.conn, update, later | {"pk_version": 0}) == 1
        # the version was stepped by the statement's own `version + 1`
        assert await direct.write(uow.conn, update, later | {"pk_version": 0}) == 0
        assert await direct.write(uow.conn, update, later | {"pk_version": 1}) == 1
        await uow.commit()
    async with sqlite_db() as work:
        uow = sql(work)
        row = (await uow.conn.execute(sa.select(CIRCLE.c.name, CIRCLE.c.version))).one()
        await uow.commit()
    assert tuple(row) == ("Autre", 2)


async def test_a_broken_unique_rule_is_sqlalchemys_integrity_error(sqlite_db: Database) -> None:
    async with sqlite_db() as work:
        uow = sql(work)
        row = {"event_id": "$twice", "handled_at": WHEN}
        await direct.write(uow.conn, HANDLED.insert(), row)
        with pytest.raises(IntegrityError):
            await direct.write(uow.conn, HANDLED.insert(), row)
        with pytest.raises(IntegrityError):
            await direct.write_many(
                uow.conn, _insert_statement(CIRCLE), [circle_row("m:!x"), circle_row("m:!x")]
            )


async def test_statements_go_through_sqlalchemy_while_someone_listens(
    sqlite_db: Database,
) -> None:
    async with sqlite_db() as work:
        uow = sql(work)
        with statements(sqlite_db) as seen:
            row = {"event_id": "$seen", "handled_at": WHEN}
            await direct.write(uow.conn, HANDLED.insert(), row)
        assert [s.split()[:3] for s in seen] == [["INSERT", "INTO", "handled_event"]]
        await direct.write(uow.conn, HANDLED.insert(), row | {"event_id": "$unseen"})
        assert len(seen) == 1  # nobody listens any more: straight to the driver
        count = sa.select(sa.func.count()).select_from(HANDLED)
        assert (await uow.conn.execute(count)).scalar_one() == 2
        await uow.commit()


async def test_a_statement_it_cannot_fill_alone_goes_through_sqlalchemy(
    sqlite_db: Database,
) -> None:
    """A Python-side default computed at each execution, an IN list: SQLAlchemy's work."""
    table = sa.Table(
        "scratch",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, default=lambda: NAIVE + timedelta(hours=1)),
    )
    async with sqlite_db() as work:
        uow = sql(work)
        conn = uow.conn
        await conn.execute(sa.text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, at DATETIME)"))
        assert await direct.insert_ids(conn, table.insert().returning(table.c.id), [{}]) is None
        await direct.write(conn, table.insert(), {"id": 5})
        stamp = (await conn.execute(sa.select(table.c.at))).scalar_one()
        assert stamp == NAIVE + timedelta(hours=1)
        gone = table.delete().where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        assert await direct.write(conn, gone, {"ids": [5, 6]}) == 1


async def test_outbox_and_handled_events_agree_on_both_databases(any_db: Database) -> None:
    """SQLite takes the direct path, PostgreSQL SQLAlchemy's: the same ids and answers."""
    room = ChannelRef("matrix", "!r")
    effects: list[Effect] = [Reply(room, f"n°{i}") for i in range(3)]
    async with any_db() as work:
        uow = sql(work)
        ids = await uow.outbox.add(effects, "home", None, WHEN)
        await uow.handled.add("$e", WHEN)
        assert await uow.handled.seen("$e")
        assert not await uow.handled.seen("$other")
        await uow.commit()
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    async with any_db() as work:
        uow = sql(work)
        waiting = await uow.outbox.waiting()
        await uow.commit()
    assert [(w.id, w.effect) for w in waiting] == [
        (i, dataclasses.replace(e, outbox_id=i)) for i, e in zip(ids, effects, strict=True)
    ]
