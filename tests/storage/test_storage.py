"""SQLite storage: what the aggregate cache holds is exactly what the database gives back.

A séance is driven through the core on a real SQLite file. After each step the circle and the
open séance are taken from the cache, the cache is forgotten, and both are loaded again from the
database: they must be equal, field by field (dataclasses compare by value). The same
conversation also runs on the in-memory store of the unit tests and must read the same, so
reloading never changes what the bot says.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import NullPool, event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.tables
from bot.app import CercleCore
from bot.domain.circle import Circle, QueueOrder
from bot.domain.items import Item, ItemKind
from bot.domain.protocol import PhaseMode
from bot.domain.refs import ChannelRef
from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, QueueEntry, Seance, SeanceStatus, TurnOutcome
from bot.effects import Effect, RecapPost, Reply, StatusView
from bot.exports.data import circle_data
from bot.partition import Partition, Share
from bot.timing.clock import ManualClock
from storage.database import Database, alembic_config, sqlite_url, upgrade
from tests.conftest import PostgresServer, migrated_sqlite
from tests.conversation import START, Chat, user
from tests.fakes import MemoryDatabase

SALON = ChannelRef("console", "salon")
CIRCLE_TABLE: sa.Table = storage.tables.CircleRow.__table__  # type: ignore[attr-defined]
# Every table model declared in storage/tables.py.
MODEL_TABLES = {
    model.__tablename__
    for model in vars(storage.tables).values()
    if isinstance(model, type)
    and issubclass(model, SQLModel)
    and model.__module__ == storage.tables.__name__
    and hasattr(model, "__table__")
}


def at(**span: float) -> datetime:
    return START + timedelta(**span)


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run the migrations once outside any event loop.

    conftest's `any_db` migrates its template with `storage.database.upgrade`, whose Alembic
    env calls `asyncio.run`; inside the running loop of an async fixture that raises
    "asyncio.run() cannot be called from a running event loop". Once the template exists the
    fixture only copies it, so migrating here first lets every test use `any_db`.
    """
    migrated_sqlite(tmp_path_factory.mktemp("template") / "warm.sqlite3")


# -- helpers -----------------------------------------------------------------------------------


def datetimes(value: Any, path: str = "") -> Iterator[tuple[str, datetime]]:
    """Every datetime inside a dataclass, with where it was found."""
    if isinstance(value, datetime):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from datetimes(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from datetimes(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from datetimes(item, f"{path}[{key}]")


def assert_utc(*values: Any) -> None:
    for value in values:
        for path, instant in datetimes(value):
            assert instant.tzinfo is not None, f"{path} is naive: {instant!r}"
            assert instant.utcoffset() == timedelta(0), f"{path} is not UTC: {instant!r}"


async def reload_and_compare(
    db: Database, channel: ChannelRef = SALON, *, from_cache: bool = True
) -> tuple[Circle, Seance | None]:
    """The circle and open séance as cached, then as stored: they must be equal.

    With `from_cache=False` the first read may come from the database too: a rollback (a
    refused command, a read-only unit of work) drops what it touched from the cache, and so does
    the first reload of another channel."""
    async with db() as uow:
        cached_circles = set(db.cache.circles)
        cached_seances = set(db.cache.open_seances) | set(db.cache.recent_seances)
        circle = await uow.circles.by_channel(channel)
        assert circle is not None
        seance = await uow.seances.open_for(circle.id)
        assert db.cache.circles[circle.id].circle is circle
        if from_cache:
            assert circle.id in cached_circles, "the circle should come from the cache"
            assert seance is None or seance.id in cached_seances, "the séance should be cached"
        cached = copy.deepcopy((circle, seance))
    db.cache.clear()
    async with db() as uow:
        stored_circle = await uow.circles.by_channel(channel)
        assert stored_circle is not None
        stored_seance = await uow.seances.open_for(stored_circle.id)
    assert stored_circle is not circle
    assert stored_circle == cached[0]
    assert stored_seance == cached[1]
    assert_utc(stored_circle, stored_seance)
    return stored_circle, stored_seance


def said(effects: list[Effect]) -> list[tuple[str, ...]]:
    """What effects show people (ids of séances differ between stores, so they are left out)."""
    out: list[tuple[str, ...]] = []
    for e in effects:
        if isinstance(e, Reply):
            out.append(("reply", e.text, e.to.key if e.to else "", str(e.private)))
        elif isinstance(e, StatusView):
            out.append(("status", e.text, str(e.closed)))
        elif isinstance(e, RecapPost):
            out.append(("recap", e.markdown))
    return out


class Twin:
    """The same conversation on SQLite (reloaded after every step) and on the memory store."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.chat = Chat(db)
        self.memory_db = MemoryDatabase()
        self.memory = Chat(self.memory_db)

    async def act(self, action: str | float) -> None:
        if isinstance(action, str):
            name, _, text = action.partition(": ")
            await self.chat.say(name, text)
            await self.memory.say(name, text)
            assert self.chat.refused is None, f"{action!r} refused: {self.chat.text}"
        else:
            await self.chat.wait(seconds=action)
            await self.memory.wait(seconds=action)
        assert said(self.chat.last) == said(self.memory.last), action

    async def step(self, *actions: str | float) -> tuple[Circle, Seance | None]:
        for action in actions:
            await self.act(action)
        circle, seance = await reload_and_compare(self.db)
        store = self.memory_db.store
        assert store.circles[circle.id] == circle
        in_memory = [s for s in store.seances.values() if s.is_open]
        if seance is None:
            assert in_memory == []
        else:
            assert [dataclasses.replace(s, id=seance.id) for s in in_memory] == [seance]
        return circle, seance


async def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read on a connection of its own (not through the cache)."""
    engine = create_async_engine(db.url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return {
                name: sorted([tuple(r) for r in await conn.execute(sa.select(table))], key=repr)
                for name, table in SQLModel.metadata.tables.items()
            }
    finally:
        await engine.dispose()


@contextmanager
def writes(db: Database) -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements sent to the database inside the block, but
    for the outbox's (what to post, and which events were handled: not the circle's data)."""
    seen: list[str] = []
    transport = re.compile(r"^(INSERT INTO|UPDATE|DELETE FROM) (outbox|handled_event)\b")

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        flat = " ".join(statement.split())
        if flat.upper().startswith(("INSERT", "UPDATE", "DELETE")) and not transport.match(flat):
            seen.append(flat)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


def set_columns(statement: str) -> set[str]:
    match = re.match(r"UPDATE (\w+) SET (.*) WHERE", statement)
    assert match, statement
    return {part.split("=")[0].strip() for part in match.group(2).split(",")}


# -- a whole séance, reloaded after every step --------------------------------------------------


async def test_a_seance_reloads_as_it_was_in_the_cache(any_db: Database) -> None:
    twin = Twin(any_db)
    alice, bob, carol, dave, eve, anim = (
        user(n) for n in ("alice", "bob", "carol", "dave", "eve", "anim")
    )

    circle, seance = await twin.step(
        "anim: /cercle creer Cercle du jeudi",
        "anim: /cercle animateur @dom",
        "anim: /cercle fuseau America/Montreal",
    )
    assert seance is None
    assert circle.name == "Cercle du jeudi"
    assert circle.created_at == START
    assert circle.settings.timezone == "America/Montreal"
    assert circle.members[user("dom")].role is Role.FACILITATOR
    assert circle.members[anim].role is Role.FACILITATOR

    circle, seance = await twin.step("anim: /seance")
    assert seance is not None
    assert (seance.number, seance.status, seance.opened_at) == (1, SeanceStatus.OPEN, START)
    assert seance.phases == []
    assert circle.seance_counter == 1

    circle, seance = await twin.step(
        "alice: /present", "bob: /present", "carol: /present", "eve: /excuse"
    )
    assert seance is not None
    assert seance.attendance == {
        anim: AttendanceStatus.PRESENT,
        alice: AttendanceStatus.PRESENT,
        bob: AttendanceStatus.PRESENT,
        carol: AttendanceStatus.PRESENT,
        eve: AttendanceStatus.EXCUSED,
    }
    assert [m.user for m in circle.roster()] == [anim, user("dom"), alice, bob, carol, eve]

    # The check-in round: anim speaks 70 s, then alice has the floor.
    circle, seance = await twin.step(
        "anim: /seance cas @bob", "anim: /seance phase suivante", 70, "anim: /fini"
    )
    assert seance is not None
    assert seance.case_owner == bob
    assert [(p.key, p.mode, p.turn_limit) for p in seance.phases] == [
        ("meteo", PhaseMode.ROUND, timedelta(minutes=2))
    ]
    assert seance.round_order == [anim, alice, bob, carol]
    assert seance.round_pending == [bob, carol]
    assert [(t.user, t.started_at, t.ended_at, t.outcome) for t in seance.turns] == [
        (anim, START, at(seconds=70), TurnOutcome.FINISHED),
        (alice, at(seconds=70), None, None),
    ]

    # alice passes; anim raises a hand for the open floor (with a motive); dave comes late.
    circle, seance = await twin.step(
        "alice: /passe", "anim: /tour une idée « accentuée »", "dave: /present"
    )
    assert seance is not None
    assert seance.queue == [QueueEntry(anim, 1, "une idée « accentuée »")]
    assert seance.arrivals == 1
    assert seance.round_order == [anim, alice, bob, carol, dave]
    assert seance.round_pending == [carol, dave]
    assert seance.turns[1].outcome is TurnOutcome.PASSED
    assert seance.speaker == bob

    # bob's time box: the warning at 80 %, then the end of his turn moves the round on.
    circle, seance = await twin.step(96)
    assert seance is not None
    assert seance.turn is not None
    assert (seance.turn.user, seance.turn.warned, seance.turn.overrun_notified) == (
        bob,
        True,
        False,
    )
    assert twin.chat.private_to("bob") == ["Il vous reste 24 s de temps de parole."]

    circle, seance = await twin.step(24)
    assert seance is not None
    ended = seance.turns[2]
    assert (ended.user, ended.outcome, ended.warned, ended.overrun_notified) == (
        bob,
        TurnOutcome.TIMEOUT,
        True,
        True,
    )
    assert ended.ended_at == at(seconds=70 + 120)
    assert seance.speaker == carol

    # A pause in the middle of carol's turn, kept across reloads; sub-second times too.
    circle, seance = await twin.step(20, "anim: /seance pause")
    assert seance is not None
    assert seance.paused_since == at(seconds=210)
    assert seance.is_paused

    circle, seance = await twin.step(12.345678, "anim: /seance reprendre")
    assert seance is not None
    assert seance.paused_since is None
    assert seance.turn is not None
    assert seance.turn.paused == timedelta(seconds=12.345678)
    assert seance.phases[0].paused == timedelta(seconds=12.345678)
    assert "Parole : carol (20 s) · reste 1 min 40 s" in (twin.chat.status() or "")

    # Items: a note and an action for someone else, with a due date.
    circle, seance = await twin.step(
        "carol: /fini",
        "dave: /note Une note — é",
        "anim: /action @carol préparer le budget échéance 2027-01-15",
    )
    assert seance is not None
    assert circle.item_counter == 2
    assert seance.speaker == dave

    # The open floor: anim (queued during the round) gets it; three hands are raised.
    circle, seance = await twin.step(
        "anim: /seance phase suivante", "alice: /tour une question", "carol: /tour", "bob: /tour"
    )
    assert seance is not None
    assert [(p.key, p.ended_at is None) for p in seance.phases] == [
        ("meteo", False),
        ("libre", True),
    ]
    assert seance.round_order == seance.round_pending == []
    assert seance.speaker == anim
    assert seance.queue == [
        QueueEntry(alice, 2, "une question"),
        QueueEntry(carol, 3, None),
        QueueEntry(bob, 4, None),
    ]
    assert seance.turns[-2].outcome is TurnOutcome.PHASE_END
    assert [e.user for e in seance.ordered_queue(QueueOrder.FAIR, twin.chat.clock.now())] == [
        alice,
        carol,
        bob,
    ]

    circle, seance = await twin.step("carol: /passe", 30, "anim: /fini")
    assert seance is not None
    assert seance.queue == [QueueEntry(bob, 4, None)]
    assert seance.speaker == alice

    # A single-speaker phase: the case owner gets the floor.
    circle, seance = await twin.step("anim: /seance phase unique")
    assert seance is not None
    assert seance.phase is not None
    assert (seance.phase.mode, seance.phase.speaker) == (PhaseMode.SINGLE, bob)
    assert seance.speaker == bob
    assert [(t.user, t.outcome) for t in seance.turns] == [
        (anim, TurnOutcome.FINISHED),
        (alice, TurnOutcome.PASSED),
        (bob, TurnOutcome.TIMEOUT),
        (carol, TurnOutcome.FINISHED),
        (dave, TurnOutcome.PHASE_END),
        (anim, TurnOutcome.FINISHED),
        (alice, TurnOutcome.PHASE_END),
        (bob, None),
    ]
    assert [t.seq for t in seance.turns] == list(range(1, 9))
    assert seance.next_protocol_phase == 2

    async with any_db() as uow:
        items = await uow.items.for_circle(circle.id)
    assert items == [
        Item(
            circle.id,
            1,
            ItemKind.NOTE,
            "Une note — é",
            dave,
            at(seconds=210 + 12.345678),
            seance.id,
        ),
        Item(
            circle.id,
            2,
            ItemKind.ACTION,
            "préparer le budget",
            anim,
            at(seconds=210 + 12.345678),
            seance.id,
            owner=carol,
            due=date(2027, 1, 15),
        ),
    ]
    assert_utc(*items)


# -- refusals ---------------------------------------------------------------------------------


async def test_a_refused_command_leaves_the_database_as_it_was(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.script(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "carol: /present",
        "anim: /seance phase suivante",
        "anim: /fini",
        "anim: /tour plus tard",
    )
    await chat.wait(seconds=30)
    before = await dump(any_db)
    # copies: the objects returned may be the live cached ones, which a command mutates
    circle_before, seance_before = copy.deepcopy(await reload_and_compare(any_db, from_cache=False))
    assert seance_before is not None
    assert seance_before.speaker == user("alice")

    refused = [
        ("anim", "/action @zoe budget échéance 2027-01-15", "circle.not_a_member"),
        ("anim", "/action @bob budget échéance 2020-01-01", "item.due_in_past"),
        ("anim", "/action @bob budget échéance 2027-02-30", "planning.no_such_date"),
        ("alice", "/seance pause", "permission.facilitator_only"),
        ("anim", "/seance reprendre", "seance.not_paused"),
        ("anim", "/cercle fuseau Mars/Olympus", "circle.bad_timezone"),
        ("carol", "/excuse", "attendance.excuse_while_taking_part"),
        ("anim", "/seance phase unique", "phase.single_needs_speaker"),
        ("bob", "/fini", "turn.not_speaking"),
    ]
    for name, text, key in refused:
        await chat.say(name, text)
        assert chat.refused == key, (name, text, chat.text)
        assert await dump(any_db) == before, f"{name}: {text} changed the database"
        # What the next command sees equals what was stored before the refusal.
        circle, seance = await reload_and_compare(any_db, from_cache=False)
        assert (circle, seance) == (circle_before, seance_before), (name, text)

    # A newcomer's refused command makes them a member, and changes nothing else: they are
    # neither marked present nor put in the round.
    await chat.say("zed", "/fini")
    assert chat.refused == "turn.not_speaking"
    circle, seance = await reload_and_compare(any_db, from_cache=False)
    assert user("zed") in circle.members
    assert seance == seance_before

    # The séance goes on from where it was.
    await chat.say("alice", "/fini")
    assert chat.public() == ["alice a terminé (30 s).", "bob, vous avez la parole (2 min 00 s)."]
    assert await dump(any_db) != before
    circle, _ = await reload_and_compare(any_db)
    assert user("zoe") not in circle.members


async def test_only_what_changed_is_written(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.script(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance phase tour",
        "anim: /fini",
        "alice: /fini",
        "bob: /fini",
        "anim: /seance phase libre",
        "alice: /tour",
    )

    with writes(any_db) as seen:
        await chat.say("anim", "/file")
    assert seen == []

    with writes(any_db) as seen:
        await chat.say("bob", "/tour")
    assert len(seen) == 1
    assert seen[0].startswith("UPDATE seance ")
    assert set_columns(seen[0]) == {"arrivals", "queue_json", "version"}

    # Closed turns are not written again: only alice's turn ends and bob's begins.
    await chat.wait(seconds=45)
    with writes(any_db) as seen:
        await chat.say("alice", "/fini")
    assert chat.public() == ["alice a terminé (45 s).", "bob, vous avez la parole."]
    updates = sorted(s for s in seen if s.startswith("UPDATE"))
    inserts = [s for s in seen if s.startswith("INSERT")]
    assert [s.split()[1] for s in updates] == ["seance", "turn"]
    assert set_columns(updates[0]) == {"queue_json", "version"}
    assert set_columns(updates[1]) == {"ended_at", "outcome"}
    assert [s.split()[2] for s in inserts] == ["turn"]
    assert not any(s.startswith("DELETE") for s in seen)
    await reload_and_compare(any_db)


# -- closed séances, items, two circles ---------------------------------------------------------


async def test_a_closed_seance_and_its_items_round_trip(any_db: Database) -> None:
    chat = Chat(any_db)
    for line in (
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /excuse",
        "anim: /seance phase suivante",
        60,
        "anim: /fini",
        "alice: /note à retenir",
        "anim: /decision On se revoit en janvier",
        "alice: /action @anim écrire le compte rendu échéance 2027-01-15",
        30,
        "anim: /seance pause",
        "anim: /seance fin",
    ):
        if isinstance(line, str):
            name, _, text = line.partition(": ")
            await chat.say(name, text)
            assert chat.refused is None, line
        else:
            await chat.wait(seconds=line)
    assert len(chat.recaps()) == 1

    async with any_db() as uow:
        circle = await uow.circles.by_channel(SALON)
        assert circle is not None
        assert await uow.seances.open_for(circle.id) is None
        seances = await uow.seances.for_circle(circle.id)
        items = await uow.items.for_circle(circle.id)
        cached = copy.deepcopy((circle, seances))
        exported = circle_data(circle, seances, items)
    any_db.cache.clear()
    async with any_db() as uow:
        stored_circle = await uow.circles.by_channel(SALON)
        assert stored_circle is not None
        assert await uow.seances.open_for(stored_circle.id) is None
        stored_seances = await uow.seances.for_circle(stored_circle.id)
        stored_items = await uow.items.for_circle(stored_circle.id)
        by_number = await uow.seances.by_number(stored_circle.id, 1)
    assert (stored_circle, stored_seances) == cached
    assert stored_items == items
    assert circle_data(stored_circle, stored_seances, stored_items) == exported
    assert_utc(stored_circle, *stored_seances, *stored_items)

    [seance] = stored_seances
    assert by_number == seance
    assert seance.status is SeanceStatus.CLOSED
    assert seance.closed_at == at(seconds=90)
    assert seance.paused_since is None
    assert seance.queue == []
    assert seance.round_order == seance.round_pending == []
    assert all(p.ended_at == at(seconds=90) for p in seance.phases)
    assert [(t.user, t.outcome, t.ended_at) for t in seance.turns] == [
        (user("anim"), TurnOutcome.FINISHED, at(seconds=60)),
        (user("alice"), TurnOutcome.SEANCE_END, at(seconds=90)),
    ]
    assert seance.attendance == {
        user("anim"): AttendanceStatus.PRESENT,
        user("alice"): AttendanceStatus.PRESENT,
        user("bob"): AttendanceStatus.EXCUSED,
    }
    assert [(i.number, i.kind, i.text, i.author, i.owner, i.due) for i in stored_items] == [
        (1, ItemKind.NOTE, "à retenir", user("alice"), None, None),
        (2, ItemKind.DECISION, "On se revoit en janvier", user("anim"), None, None),
        (
            3,
            ItemKind.ACTION,
            "écrire le compte rendu",
            user("alice"),
            user("anim"),
            date(2027, 1, 15),
        ),
    ]
    assert all(i.seance_id == seance.id and i.created_at == at(seconds=60) for i in stored_items)

    # The next séance gets the next number; the closed one stays as it was.
    await chat.say("anim", "/seance")
    assert chat.refused is None
    _, second = await reload_and_compare(any_db)
    assert second is not None
    assert (second.number, second.status) == (2, SeanceStatus.OPEN)
    async with any_db() as uow:
        assert await uow.seances.by_number(stored_circle.id, 1) == seance


async def test_two_circles_in_two_channels_stay_separate(any_db: Database) -> None:
    north = Chat(any_db, channel="nord")
    south = Chat(any_db, channel="sud", clock=north.clock, core=north.core)
    for chat, lines in (
        (north, ("anim: /cercle creer Nord", "anim: /seance", "alice: /present")),
        (south, ("bea: /cercle creer Sud", "bea: /seance", "alice: /present", "carl: /present")),
        (north, ("anim: /seance phase suivante", "alice: /note au nord")),
        (south, ("bea: /seance phase libre", "carl: /tour", "alice: /tour au sud")),
        (south, ("bea: /action @carl au sud échéance 2027-01-15",)),
    ):
        for line in lines:
            name, _, text = line.partition(": ")
            await chat.say(name, text)
            assert chat.refused is None, line
    await north.wait(seconds=120)  # anim's round turn ends in the north; nothing due in the south
    assert north.public() == [
        "Temps écoulé pour anim (2 min 00 s).",
        "alice, vous avez la parole (2 min 00 s).",
    ]

    n_circle, n_seance = await reload_and_compare(any_db, north.channel)
    # (the first reload forgot the whole cache, so the south is read from the database twice)
    s_circle, s_seance = await reload_and_compare(any_db, south.channel, from_cache=False)
    assert n_seance is not None
    assert s_seance is not None
    assert n_circle.id != s_circle.id
    assert (n_seance.circle_id, s_seance.circle_id) == (n_circle.id, s_circle.id)
    assert (n_seance.number, s_seance.number) == (1, 1)
    assert set(n_circle.members) == {user("anim"), user("alice")}
    assert set(s_circle.members) == {user("bea"), user("alice"), user("carl")}
    assert n_circle.members[user("alice")].position == 2
    assert s_circle.members[user("alice")].position == 2
    assert set(n_seance.attendance) == {user("anim"), user("alice")}
    assert set(s_seance.attendance) == {user("bea"), user("alice"), user("carl")}
    assert [t.user for t in n_seance.turns] == [user("anim"), user("alice")]
    assert [t.user for t in s_seance.turns] == [user("carl")]
    assert s_seance.queue == [QueueEntry(user("alice"), 2, "au sud")]
    assert n_seance.queue == []

    async with any_db() as uow:
        assert [c.name for c in await uow.circles.all()] == ["Nord", "Sud"]
        north_items = await uow.items.for_circle(n_circle.id)
        south_items = await uow.items.for_circle(s_circle.id)
    assert [(i.number, i.text, i.seance_id) for i in north_items] == [(1, "au nord", n_seance.id)]
    assert [(i.number, i.text, i.owner, i.seance_id) for i in south_items] == [
        (1, "au sud", user("carl"), s_seance.id)
    ]

    # Closing one circle's séance leaves the other's open.
    await north.say("anim", "/seance fin")
    assert north.refused is None
    _, n_open = await reload_and_compare(any_db, north.channel)
    _, s_open = await reload_and_compare(any_db, south.channel, from_cache=False)
    assert n_open is None
    assert s_open == s_seance


# -- schema -------------------------------------------------------------------------------------


def _inspect(url: str, look: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_differences(url: str, metadata: sa.MetaData) -> list[Any]:
    def look(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    return list(_inspect(url, look))


def table_names(url: str) -> set[str]:
    return set(_inspect(url, lambda conn: sa.inspect(conn).get_table_names()))


def test_the_migrations_build_exactly_the_tables_of_the_models(empty_url: str) -> None:
    url = empty_url
    upgrade(url)
    assert set(SQLModel.metadata.tables) == MODEL_TABLES
    assert table_names(url) == MODEL_TABLES | {"alembic_version"}
    assert schema_differences(url, SQLModel.metadata) == []

    # The comparison does see a drift (a column the migrations do not create).
    drifted = sa.MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["turn"].append_column(sa.Column("extra", sa.Integer, nullable=True))
    [difference] = schema_differences(url, drifted)
    assert difference[0] == "add_column"
    assert difference[2:4] == ("turn", drifted.tables["turn"].c.extra)

    # Down to nothing and up again gives the same schema.
    command.downgrade(alembic_config(url), "base")
    assert table_names(url) == {"alembic_version"}
    upgrade(url)
    assert schema_differences(url, SQLModel.metadata) == []


def insert_circle_at(created_at: datetime) -> Any:
    """A bare circle row, straight into the table, created at `created_at`."""
    return CIRCLE_TABLE.insert().values(
        name="x",
        channel="console:x",
        created_at=created_at,
        language="fr",
        timezone="Europe/Paris",
        protocol="meteo",
        queue_order="fair",
        roster_open=True,
        round_auto_advance=True,
        phase_auto_advance=False,
        item_counter=0,
        seance_counter=0,
    )


def test_instants_are_stored_in_utc_and_read_back_aware(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "utc.sqlite3")
    upgrade(url)
    paris = datetime(2026, 12, 3, 14, 0, 0, 123456, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    engine = sa.create_engine(url.replace("sqlite+aiosqlite", "sqlite"))
    try:
        with engine.begin() as conn:
            conn.execute(insert_circle_at(paris))
            stored = conn.execute(sa.select(CIRCLE_TABLE.c.created_at)).scalar_one()
            raw = conn.exec_driver_sql("SELECT created_at FROM circle").scalar_one()
    finally:
        engine.dispose()
    assert stored == paris
    assert stored.utcoffset() == timedelta(0)
    assert raw.startswith("2026-12-03 14:00:00.123456")


def test_instants_keep_their_zone_on_postgres(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    paris = datetime(2026, 12, 3, 14, 0, 0, 123456, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))

    async def run() -> tuple[Any, Any, str]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert_circle_at(paris))
                stored = (await conn.execute(sa.select(CIRCLE_TABLE.c.created_at))).scalar_one()
                raw = (await conn.exec_driver_sql("SELECT created_at FROM circle")).scalar_one()
                kind = (
                    await conn.exec_driver_sql(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = 'circle' AND column_name = 'created_at'"
                    )
                ).scalar_one()
                return stored, raw, kind
        finally:
            await engine.dispose()

    stored, raw, kind = asyncio.run(run())
    assert stored == paris
    assert stored.utcoffset() == timedelta(0)
    assert raw == paris
    assert kind == "timestamp with time zone"


# -- concurrent units of work (PostgreSQL runs them side by side) ------------------------------


# -- partitions: which circles an instance looks after ------------------------------------------


async def test_an_instance_finds_only_the_circles_of_its_shares(any_db: Database) -> None:
    homes = {
        "console:a": ("console:a", None),
        "console:b": ("console:b", None),
        "console:legacy": (None, None),  # stored before homes were recorded
        "discord:1": ("discord", 1 << 22),  # shard 1 of 2
        "discord:2": ("discord", 2 << 22),  # shard 0 of 2
        "discord:3": ("discord", 3 << 22),  # shard 1 of 2
        "matrix:!room": ("matrix:@cercle:example.org", None),
    }
    async with any_db() as uow:
        for key, (home, shard_key) in homes.items():
            circle = Circle(0, key, ChannelRef.from_key(key), START, home=home, shard_key=shard_key)
            await uow.circles.add(circle)
        await uow.commit()

    async def names(*shares: Share) -> set[str]:
        async with any_db() as uow:
            return {c.name for c in await uow.circles.all(Partition(shares))}

    assert await names(Share("console:a")) == {"console:a"}
    assert await names(Share("discord", 2, (1,))) == {"discord:1", "discord:3"}
    assert await names(Share("discord", 2, (0,))) == {"discord:2"}
    assert await names(Share("discord")) == {"discord:1", "discord:2", "discord:3"}
    assert await names(Share("matrix:@cercle:example.org"), Share("discord", 4, (2,))) == {
        "matrix:!room",
        "discord:2",
    }
    assert await names(Share("matrix:@autre:example.org")) == set()
    assert len(await names()) == len(homes)  # no shares: the whole database

    # A circle stored before homes were recorded is adopted by the first instance to start
    # with a share of its platform, if that share is its only one there.
    two_consoles = Partition((Share("console:a"), Share("console:b")))
    await CercleCore(any_db, ManualClock(START), partition=two_consoles).start()
    assert await names(Share("console:a")) == {"console:a"}
    one_console = Partition((Share("console:b"), Share("discord")))
    await CercleCore(any_db, ManualClock(START), partition=one_console).start()
    assert await names(Share("console:b")) == {"console:b", "console:legacy"}
    assert await names(Share("console:a")) == {"console:a"}


# -- PostgreSQL: instances starting together, and an outage -------------------------------------


def test_instances_starting_together_migrate_a_new_database_once(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database(template=None)
    config = tmp_path / "cercle.toml"
    config.write_text('[cercle]\ndatabase_url_env = "CERCLE_DATABASE_URL"\n', "utf-8")
    env = {**os.environ, "CERCLE_DATABASE_URL": url}
    command = [sys.executable, "-m", "adapters.cli", "--config", str(config), "db", "upgrade"]
    root = Path(__file__).resolve().parents[2]
    upgrades = [
        subprocess.Popen(command, env=env, cwd=root, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for process in upgrades:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors  # none fails on tables another one created
    assert schema_differences(url, SQLModel.metadata) == []


async def test_a_database_outage_loses_nothing_and_the_bot_recovers(
    postgres: PostgresServer,
) -> None:
    url = await asyncio.to_thread(postgres.create_database)
    db = Database(url)
    try:
        chat = Chat(db)
        await chat.script("anim: /cercle creer Test", "anim: /seance", "alice: /present")
        before = await dump(db)

        await asyncio.to_thread(postgres.stop)
        try:
            await chat.say("bob", "/present")
            assert chat.outcome is not None
            assert chat.outcome.refused == "command.failed"
            assert chat.texts == [
                "Désolé, quelque chose s'est mal passé : rien n'a été modifié. "
                "Réessayez dans un instant."
            ]
        finally:
            await asyncio.to_thread(postgres.start)

        assert await dump(db) == before
        await chat.say("bob", "/present")  # the dropped connections are replaced
        assert chat.refused is None, chat.text
        _, seance = await reload_and_compare(db)
        assert seance is not None
        assert user("bob") in seance.present()
    finally:
        await db.close()


async def test_concurrent_circles_and_read_passes_end_as_if_one_at_a_time(
    postgres_db: Database,
) -> None:
    """Twenty circles talk at once on PostgreSQL while read passes (the start-up rebuild of
    wake-ups, which loads every open séance) run between them; each circle ends exactly as the
    same conversation does alone on the memory store, and the cache matches the database."""
    conversation = [
        "anim: /cercle creer C",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance phase suivante",
        "anim: /fini",
        "alice: /fini",
        "bob: /passe",
        "anim: /seance phase suivante",
        "bob: /tour",
        "alice: /tour",
        "anim: /note une idée",
        "bob: /fini",
    ]
    clock = ManualClock(START)
    core = CercleCore(postgres_db, clock)
    chats = [Chat(postgres_db, f"salon{n}", clock=clock, core=core) for n in range(20)]
    reference = Chat(MemoryDatabase())
    done = asyncio.Event()

    async def talk(chat: Chat) -> None:
        for line in conversation:
            name, _, text = line.partition(": ")
            await chat.say(name, text)
            assert chat.refused is None, (chat.channel, line, chat.text)
            await asyncio.sleep(0)

    async def read_passes() -> int:
        passes = 0
        while not done.is_set():
            await core.start()
            passes += 1
            await asyncio.sleep(0)
        return passes

    reader = asyncio.create_task(read_passes())
    await asyncio.gather(*(talk(chat) for chat in chats))
    done.set()
    assert await reader > 0
    for line in conversation:
        name, _, text = line.partition(": ")
        await reference.say(name, text)

    memory = reference.core.uow_factory
    assert isinstance(memory, MemoryDatabase)
    [expected_circle] = memory.store.circles.values()
    [expected] = memory.store.seances.values()
    cached = {}
    async with postgres_db() as uow:
        for chat in chats:
            circle = await uow.circles.by_channel(chat.channel)
            assert circle is not None
            seance = await uow.seances.open_for(circle.id)
            assert seance is not None
            cached[chat.channel] = copy.deepcopy((circle, seance))
    postgres_db.cache.clear()
    async with postgres_db() as uow:
        for chat in chats:
            circle, seance = cached[chat.channel]
            assert await uow.circles.by_channel(chat.channel) == circle
            assert await uow.seances.open_for(circle.id) == seance
            assert circle.members == expected_circle.members
            assert dataclasses.replace(seance, id=expected.id, circle_id=expected.circle_id) == (
                expected
            )


# -- two instances on one database: a cache that another process made stale --------------------


async def test_an_instance_with_a_stale_cache_runs_the_command_again_on_fresh_data(
    postgres: PostgresServer,
) -> None:
    """Two instances briefly serve one circle (a hand-over): each keeps its own cache. A write
    from a stale cache is refused by the database (the séance's version moved), so the command
    runs again on what is stored and neither change is lost."""
    url = await asyncio.to_thread(postgres.create_database)
    first, second = Database(url), Database(url)
    try:
        clock = ManualClock(START)
        one = Chat(first, clock=clock)
        two = Chat(second, clock=clock)
        await one.script("anim: /cercle creer Nord", "anim: /seance", "alice: /present")
        await two.say("bob", "/present")  # the second instance loads (and caches) it all
        await one.say("anim", "/seance phase suivante")
        assert one.refused is None, one.text
        await one.say("carol", "/present")  # joins the round through the first instance
        # The second instance still holds the séance as it was before the phase began.
        with writes(second) as seen:
            await two.say("dave", "/present")
        assert two.refused is None, two.text
        # dave joins the roster: the first try is refused (the circle's version moved with
        # carol), the second, on fresh data, is written
        assert sum(s.startswith("UPDATE circle") for s in seen) == 2
        first.cache.clear()  # its cache is the stale one now: read what is stored
        _, seance = await reload_and_compare(first, from_cache=False)
        assert seance is not None
        assert seance.present() == {user(n) for n in ("anim", "alice", "bob", "carol", "dave")}
        assert seance.phase is not None  # the phase the first instance began is still there
    finally:
        await first.close()
        await second.close()


async def test_two_instances_running_one_time_box_say_time_is_up_once(
    postgres: PostgresServer,
) -> None:
    url = await asyncio.to_thread(postgres.create_database)
    first, second = Database(url), Database(url)
    try:
        clock = ManualClock(START)
        one = Chat(first, clock=clock)
        await one.script(
            "anim: /cercle creer Nord",
            "anim: /seance",
            "alice: /present",
            "bob: /present",
            "anim: /seance phase suivante",
        )
        _, seance = await reload_and_compare(first, from_cache=False)
        assert seance is not None
        two = CercleCore(second, clock)
        async with second() as uow:  # the second instance has the séance cached too
            assert await uow.seances.get(seance.id) is not None
        clock.advance(timedelta(minutes=3))
        said_by = await asyncio.gather(
            one.core.timekeeper.run_seance(seance.id, clock.now()),
            two.timekeeper.run_seance(seance.id, clock.now()),
        )
        given = [
            [e.text for e in effects if isinstance(e, Reply) and "vous avez la parole" in e.text]
            for effects in said_by
        ]
        assert sorted(len(g) for g in given) == [0, 1]  # the floor moved on once, not twice
    finally:
        await first.close()
        await second.close()
