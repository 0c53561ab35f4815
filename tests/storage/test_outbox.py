"""The outbox and the handled events on SQLite and PostgreSQL: what a command decides to post is
stored with it, read back as the very effect, delivered once, and an event is handled once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from adapters.outbox import outbox_lines
from bot.app import CercleCore
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import (
    ChartImage,
    Effect,
    EmbedField,
    FilePost,
    Moment,
    RecapEmbed,
    RecapPost,
    Reply,
    StatusView,
)
from bot.events import CommandEvent
from bot.outbox import KEEP_FOR, prune
from bot.partition import Partition, Share
from bot.timing.clock import ManualClock
from storage.database import Database
from storage.outbox import report, waiting_count
from tests.conversation import START

ROOM = ChannelRef("matrix", "!room:example.org")
ANA = UserRef("matrix", "@ana:example.org")

EFFECTS: list[Effect] = [
    Reply(
        ROOM,
        "Bonjour, à mardi 8 décembre 14:00",
        to=ANA,
        private=True,
        mentions=(ANA,),
        confidential=True,
        moments=(Moment("mardi 8 décembre 14:00", START + timedelta(days=5)),),
    ),
    StatusView(ROOM, 3, "$status", "Séance 1", closed=True, lang="en"),
    RecapPost(
        ROOM,
        3,
        "# Récap",
        mentions=(ANA,),
        html="<h1>Récap</h1>",
        embed=RecapEmbed("Récap", "desc", (EmbedField("a", "b", True),), "pied", "x.png", True),
        chart=ChartImage(b"\x89PNG\x00\xff", "un graphique", "x.png"),
        number=1,
        filename="recap-1",
        lang="fr",
        to=ANA,
        private=True,
    ),
    FilePost(ROOM, "export.json", "application/json", b'{"a": 1}', "Export", ANA, True, True),
]


async def test_effects_come_back_as_they_were_stored_and_leave_once_delivered(
    any_db: Database,
) -> None:
    async with any_db() as uow:
        ids = await uow.outbox.add(EFFECTS, "matrix:@cercle:example.org", None, START)
        await uow.commit()
    assert ids == sorted(ids)
    async with any_db() as uow:
        waiting = await uow.outbox.waiting()
        mine = await uow.outbox.waiting(Partition((Share("matrix:@cercle:example.org"),)))
        others = await uow.outbox.waiting(Partition((Share("matrix:@autre:example.org"),)))
        await uow.commit()
    assert [w.effect for w in waiting] == [
        dataclasses.replace(e, outbox_id=i) for e, i in zip(EFFECTS, ids, strict=True)
    ]
    assert [w.created_at for w in waiting] == [START] * 4
    assert len(mine) == 4
    assert others == []

    async with any_db() as uow:
        await uow.outbox.delivered(ids[:2], START + timedelta(seconds=1))
        await uow.outbox.failed(ids[2], START, "forbidden")
        await uow.outbox.retried(ids[3])
        await uow.commit()
    async with any_db() as uow:
        (left,) = await uow.outbox.waiting()
        await uow.commit()
    assert (left.id, left.attempts) == (ids[3], 1)
    found = await report(any_db)
    assert [p.id for p in found.waiting] == [ids[3]]
    assert found.refused == {"forbidden": 1}
    assert await waiting_count(any_db) == 1
    lines = outbox_lines(found, 1, START + timedelta(minutes=10))
    assert lines[0] == "1 messages wait to be delivered (the oldest first):"
    assert lines[1].startswith(f"  #{ids[3]}  file    matrix:!room:example.org")
    assert lines[1].endswith("(10 min), 1 failed attempts  stuck")

    # delivered and refused rows keep no text, and are forgotten after a week
    async with any_db() as uow:
        assert await uow.outbox.prune(START + KEEP_FOR) == 3
        await uow.commit()


async def test_pruning_forgets_the_old_rows_done_with_and_keeps_the_rest(any_db: Database) -> None:
    reply = EFFECTS[0]
    week = START + KEEP_FOR
    ages = [START, START + timedelta(days=1), week, START]  # the last one written late
    async with any_db() as uow:
        ids = [(await uow.outbox.add([reply], None, None, at))[0] for at in ages]
        waiting = (await uow.outbox.add([reply], None, None, START))[0]
        await uow.outbox.delivered(ids, week)
        await uow.commit()
    async with any_db() as uow:
        assert await uow.outbox.prune(week) == 2
        await uow.commit()
    async with any_db() as uow:
        assert [w.id for w in await uow.outbox.waiting()] == [waiting]
        await uow.commit()
    found = await report(any_db)
    assert [p.id for p in found.waiting] == [waiting]
    async with any_db() as uow:
        # once the young row is done with and old enough, the late one goes with it
        assert await uow.outbox.prune(week + KEEP_FOR) == 2
        await uow.commit()


async def test_a_command_is_handled_once_per_platform_event(any_db: Database) -> None:
    clock = ManualClock(START)
    core = CercleCore(any_db, clock)
    room = ChannelRef("matrix", "!cercle:example.org")

    def event(text: str, event_id: str | None) -> CommandEvent:
        return CommandEvent(room, ANA, "ana", text, home="matrix:@c:x", event_id=event_id)

    created = await core.handle(event("/cercle creer Essai", "matrix:$1"))
    assert created.refused is None
    assert all(e.outbox_id is not None for e in created.effects)
    noted = await core.handle(event("/note une", "matrix:$2"))
    again = await core.handle(event("/note une", "matrix:$2"))  # a replay after a crash
    assert (again.duplicate, again.effects) == (True, [])
    refused = await core.handle(event("/inconnue", "matrix:$3"))
    assert refused.refused is not None
    assert (await core.handle(event("/inconnue", "matrix:$3"))).duplicate
    await core.handle(event("/note deux", None))  # no id (the console): always handled
    async with any_db() as uow:
        circle = await uow.circles.by_channel(room)
        assert circle is not None
        notes = [i.text for i in await uow.items.for_circle(circle.id)]
        await uow.commit()
    assert notes == ["une", "deux"]

    # an adapter marks what the platform took; a restart finds the rest, once
    waiting = await core.outbox.waiting()
    assert len(waiting) == len(created.effects) + len(noted.effects) + 1
    await core.outbox.done(*created.effects, *noted.effects)
    later = CercleCore(any_db, ManualClock(START + timedelta(minutes=1)))
    left = await later.outbox.recover("matrix")
    assert [e.outbox_id for e in left] == [w.id for w in await later.outbox.waiting()]
    assert await later.outbox.recover("matrix") == []  # held: not handed out twice
    await later.outbox.done(*left)
    assert await later.outbox.waiting() == []
    assert await prune(any_db, START + KEEP_FOR + timedelta(minutes=2)) == (
        len(created.effects) + len(noted.effects) + len(left),
        3,
    )


async def test_a_claimed_prompt_whose_message_did_not_get_out_is_posted_after_restart(
    any_db: Database,
) -> None:
    clock = ManualClock(START)
    core = CercleCore(any_db, clock)
    room = ChannelRef("console", "salon")
    anim = UserRef("console", "anim")

    async def say(text: str) -> None:
        outcome = await core.handle(CommandEvent(room, anim, "anim", text, home="console:local"))
        assert outcome.refused is None, outcome.effects
        await core.outbox.done(*outcome.effects)

    await say("/cercle creer Test")
    await say("/seance planifier 2026-12-10 14:00 | Déléguer")
    day_before = datetime(2026, 12, 9, 13, 0, tzinfo=UTC)
    clock.set(day_before)
    # the prompt is claimed and its message written, then the process dies before posting it
    # the reminder, then the question of who comes (the RSVP invitation)
    posted = await core.wake("prompt:any", day_before)
    reminder = posted[0]
    assert isinstance(reminder, Reply)
    assert reminder.text.startswith("Rappel : séance 1 demain")
    assert await core.wake("prompt:any", day_before) == []  # claimed: never again

    restarted = CercleCore(any_db, ManualClock(day_before + timedelta(minutes=1)))
    await restarted.start()
    again = await restarted.outbox.recover("console")
    assert again == posted  # the very messages, once
    assert await restarted.outbox.recover("console") == []
    await restarted.outbox.done(*again)
    third = CercleCore(any_db, ManualClock(day_before + timedelta(minutes=2)))
    assert await third.outbox.recover("console") == []
