"""A circle's voice channel on SQLite and PostgreSQL: the setting is kept, and the floor the
core hands to the adapter comes back from the outbox as it was stored."""

from __future__ import annotations

import dataclasses

from bot.app import CercleCore
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.voice import VoiceRoom
from bot.effects import FloorSpeaker
from bot.events import CommandEvent
from bot.timing.clock import ManualClock
from storage.database import Database
from tests.conversation import START

CHANNEL = ChannelRef("discord", "100")
ANIM = UserRef("discord", "7")
ROOM = VoiceRoom("900", "vocal", stage=False, can_mute=True)


async def _say(core: CercleCore, text: str) -> str | None:
    event = CommandEvent(
        CHANNEL, ANIM, "anim", text, resolve_voice={"#vocal": ROOM}.get, home="discord"
    )
    outcome = await core.handle(event)
    await core.outbox.done(*outcome.effects)
    return outcome.refused


async def test_the_voice_channel_and_strict_mode_are_kept(any_db: Database) -> None:
    core = CercleCore(any_db, ManualClock(START))
    assert await _say(core, "/cercle creer Test") is None
    assert await _say(core, "/cercle vocal #vocal strict") is None
    async with any_db() as uow:
        circle = await uow.circles.by_channel(CHANNEL)
        await uow.commit()
    assert circle is not None
    assert (circle.settings.voice_channel, circle.settings.voice_strict) == ("900", True)
    assert await _say(core, "/cercle vocal non") is None
    async with any_db() as uow:
        circle = await uow.circles.by_channel(CHANNEL)
        await uow.commit()
    assert circle is not None
    assert (circle.settings.voice_channel, circle.settings.voice_strict) == (None, False)


async def test_a_floor_comes_back_from_the_outbox(any_db: Database) -> None:
    floor = FloorSpeaker(
        CHANNEL,
        "900",
        UserRef("discord", "8"),
        UserRef("discord", "9"),
        strict=True,
        keep=(ANIM,),
        closed=False,
    )
    async with any_db() as uow:
        [stored] = await uow.outbox.add([floor], "discord", 1, START)
        await uow.commit()
    async with any_db() as uow:
        [waiting] = await uow.outbox.waiting()
        await uow.commit()
    assert waiting.effect == dataclasses.replace(floor, outbox_id=stored)
