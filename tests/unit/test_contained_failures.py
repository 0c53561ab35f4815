"""One circle's failing prompt or time box holds back no one else's (own unit of work each)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import CercleCore
from bot.domain.protocol import ProtocolBook, load_builtin
from bot.domain.seance import Seance
from bot.effects import Effect, Reply
from bot.timing import deadlines, timeboxes
from bot.timing.clock import ManualClock
from bot.timing.deadlines import Due
from bot.timing.prompting import ATTEMPTS
from bot.timing.schedule import ManualScheduler
from tests.conversation import START, Chat, start_circle
from tests.fakes import MemoryDatabase

START_A = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)


def said_in(effects: Sequence[Effect], channel: str) -> list[str]:
    replies = [e for e in effects if isinstance(e, Reply) and not e.private]
    return [e.text for e in replies if e.channel.id == channel]


async def test_a_failing_prompt_does_not_hold_back_another_circles_prompt(
    memory_db: MemoryDatabase,
) -> None:
    # circle A uses a protocol of the configuration, and opens itself at 14:00; B is due at 14:01
    house = dataclasses.replace(load_builtin("libre"), name="maison")
    clock = ManualClock(START)
    before = CercleCore(memory_db, clock, protocols=ProtocolBook({"maison": house}))
    a = Chat(memory_db, "a", clock, before)
    b = Chat(memory_db, "b", clock, before)
    await a.script(
        "anim: /cercle creer A",
        "anim: /cercle protocole maison",
        "anim: /cercle rappels ouverture auto",
        "anim: /seance planifier 2026-12-10 14:00",
    )
    await b.script("anim: /cercle creer B", "anim: /seance planifier 2026-12-10 14:01")

    # a restart with "maison" removed from the configuration: A's opening can only fail
    core = CercleCore(memory_db, clock, protocols=ProtocolBook())
    await core.start()
    scheduler = core.scheduler
    assert isinstance(scheduler, ManualScheduler)

    clock.set(START_A - timedelta(seconds=1))
    await scheduler.advance_to(clock.now())  # the reminders before
    clock.set(START_A)
    at_a = await scheduler.advance_to(clock.now())
    assert said_in(at_a, "a") == []
    assert core.prompts.failed == 1

    clock.set(START_A + timedelta(minutes=1))
    at_b = await scheduler.advance_to(clock.now())
    assert said_in(at_b, "b") == [
        "C'est l'heure de la séance 1 ! Animation : ouvrez-la avec /seance."
    ]

    # A's prompt is tried a bounded number of times, then dropped; nothing else is lost
    clock.set(START_A + timedelta(minutes=10))
    await scheduler.advance_to(clock.now())
    assert core.prompts.failed == ATTEMPTS
    start_a = next(
        p
        for p in memory_db.store.prompts.values()
        if p.kind.value == "start" and p.due_at == START_A
    )
    assert start_a.dropped_at is not None
    assert core.prompts.sent >= 1
    clock.set(START_A + timedelta(hours=1))
    assert said_in(await scheduler.advance_to(clock.now()), "a") == []
    assert core.prompts.failed == ATTEMPTS


async def test_a_failing_time_box_does_not_hold_back_another_circles(
    memory_db: MemoryDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(START)
    core = CercleCore(memory_db, clock)
    a = Chat(memory_db, "a", clock, core)
    b = Chat(memory_db, "b", clock, core)
    for chat in (a, b):
        await start_circle(chat, protocol="meteo")
        await chat.script("anim: /seance phase suivante", "anim: /fini")
    async with memory_db() as uow:
        broken = await uow.seances.open_for(1)
        assert broken is not None
    real = deadlines.pending

    def failing(seance: Seance) -> list[Due]:
        if seance.id == broken.id:
            raise RuntimeError("a bug in one séance's time boxes")
        return real(seance)

    monkeypatch.setattr(timeboxes, "pending", failing)
    said = await b.wait(minutes=15)
    assert said_in(said, "b") == [
        "Le temps prévu pour « Météo » est écoulé. Suite avec /seance phase suivante."
    ]
    assert core.timekeeper.failed == 1
    await b.wait(minutes=5)  # tried again a minute later, a bounded number of times
    assert core.timekeeper.failed == timeboxes.ATTEMPTS
    monkeypatch.setattr(timeboxes, "pending", real)
    await a.say("anim", "/file")  # the next command notes its time box again
    said = await a.wait(minutes=1)
    assert said_in(said, "a") == [
        "Le temps prévu pour « Météo » est écoulé. Suite avec /seance phase suivante."
    ]
