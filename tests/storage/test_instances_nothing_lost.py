"""Two instances on one PostgreSQL change the same item, or add items, at the same moment:
one of them is told by the database that it read stale data and runs again; nothing is lost
and nobody is told that something went wrong."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.items import ItemKind
from bot.domain.seance import SeanceStatus
from bot.errors import ConcurrentChange
from bot.timing.clock import ManualClock
from storage.database import Database
from tests.conftest import PostgresServer
from tests.conversation import START, Chat


async def two_instances(postgres: PostgresServer) -> tuple[Database, Database]:
    url = await asyncio.to_thread(postgres.create_database)
    return Database(url), Database(url)


async def test_action_done_against_withheld_on_two_instances_keeps_both(
    postgres: PostgresServer,
) -> None:
    first, second = await two_instances(postgres)
    try:
        clock = ManualClock(START)
        one, two = Chat(first, clock=clock), Chat(second, clock=clock)
        await one.script(
            "anim: /cercle creer Nord",
            "anim: /cercle approbation oui",
            "anim: /seance",
            "alice: /action Appeler la fédération",
            "anim: /seance fin",
        )
        await two.say("anim", "/file")  # the second instance has the circle cached too
        done, withheld = await asyncio.gather(
            one.say("alice", "/action fait 1"), two.say("anim", "/recap retirer 1")
        )
        assert done.refused is None
        assert withheld.refused is None
        async with first() as uow:
            circle = await uow.circles.by_channel(one.channel)
            assert circle is not None
            item = await uow.items.get(circle.id, 1)
        assert item is not None
        assert item.done_at is not None  # alice's change
        assert item.withheld  # and the facilitator's
    finally:
        await first.close()
        await second.close()


async def test_concurrent_notes_on_two_instances_are_all_kept(postgres: PostgresServer) -> None:
    first, second = await two_instances(postgres)
    try:
        clock = ManualClock(START)
        one, two = Chat(first, clock=clock), Chat(second, clock=clock)
        await one.script("anim: /cercle creer Nord", "anim: /seance", "alice: /present")
        await two.say("bob", "/present")
        outcomes = await asyncio.gather(
            *(one.say("alice", f"/note une {n}") for n in range(5)),
            *(two.say("bob", f"/note deux {n}") for n in range(5)),
        )
        assert [o.refused for o in outcomes] == [None] * 10
        async with first() as uow:
            circle = await uow.circles.by_channel(one.channel)
            assert circle is not None
            items = await uow.items.for_circle(circle.id)
        assert sorted(i.text for i in items if i.kind is ItemKind.NOTE) == sorted(
            [f"une {n}" for n in range(5)] + [f"deux {n}" for n in range(5)]
        )
        assert sorted(i.number for i in items) == list(range(1, 11))
    finally:
        await first.close()
        await second.close()


async def test_two_instances_opening_a_seance_at_once_open_one(postgres: PostgresServer) -> None:
    first, second = await two_instances(postgres)
    try:
        clock = ManualClock(START)
        one, two = Chat(first, clock=clock), Chat(second, clock=clock)
        await one.script("anim: /cercle creer Nord", "anim: /seance planifier 2026-12-03 14:30")
        await two.say("anim", "/file")
        opened = await asyncio.gather(one.say("anim", "/seance"), two.say("anim", "/seance"))
        assert sorted(o.refused or "" for o in opened) == ["", "seance.already_open"]
        async with first() as uow:
            circle = await uow.circles.by_channel(one.channel)
            assert circle is not None
            assert await uow.seances.count(circle.id, (SeanceStatus.OPEN,)) == 1
    finally:
        await first.close()
        await second.close()


async def test_the_database_refuses_a_second_open_seance_in_a_circle(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.script(
        "anim: /cercle creer Nord",
        "anim: /seance planifier 2026-12-10 14:00",
        "anim: /seance planifier 2026-12-17 14:00",
    )
    async with any_db() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        first, second = await uow.seances.summaries(circle.id)
    for summary in (first, second):  # as two instances each opening "their" séance
        any_db.cache.clear()
        async with any_db() as uow:
            seance = await uow.seances.get(summary.id)
            assert seance is not None
            seance.status = SeanceStatus.OPEN
            if summary is first:
                await uow.commit()
            else:
                with pytest.raises(ConcurrentChange):
                    await uow.commit()
