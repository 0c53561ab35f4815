"""`/cercle vocal` in the core: what it refuses, and the floor it hands to the adapter."""

from __future__ import annotations

from bot.domain.voice import VoiceRoom
from bot.effects import FloorSpeaker
from bot.events import CommandEvent
from tests.conversation import Chat, user

STAGE = VoiceRoom("900", "scene", stage=True, can_mute=True)
MUTELESS = VoiceRoom("901", "vocal", stage=False, can_mute=False)


async def _voice(chat: Chat, text: str) -> str | None:
    """`anim` types `text` on a platform that knows two voice channels."""
    rooms = {"#scene": STAGE, "#vocal": MUTELESS}
    event = CommandEvent(
        channel=chat.channel,
        author=user("anim"),
        author_name="anim",
        text=text,
        resolve_voice=rooms.get,
    )
    outcome = await chat.core.handle(event)
    await chat.core.outbox.done(*outcome.effects)
    return outcome.refused


def _floors(chat: Chat) -> list[FloorSpeaker]:
    return [e for e in chat.last if isinstance(e, FloorSpeaker)]


async def test_a_platform_without_voice_channels_refuses_and_stores_nothing(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Test")
    await chat.say("anim", "/cercle vocal #salon")
    assert chat.refused == "voice.unsupported"
    await chat.say("anim", "/cercle vocal")
    assert chat.text.startswith("Aucun salon vocal")


async def test_refusals_name_what_is_missing(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Test")
    assert await _voice(chat, "/cercle vocal #cuisine") == "voice.not_voice"
    assert await _voice(chat, "/cercle vocal #vocal strict") == "voice.strict_needs_mute"
    assert await _voice(chat, "/cercle vocal #scene strict") == "voice.strict_on_stage"
    assert await _voice(chat, "/cercle vocal #vocal") is None  # without strict, no mute needed
    assert await _voice(chat, "/cercle vocal non") is None
    await chat.say("anim", "/seance")
    assert _floors(chat) == []  # turned off: no voice channel follows the floor


async def test_the_floor_goes_to_the_stage_with_who_spoke_before(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Test")
    assert await _voice(chat, "/cercle vocal #scene") is None
    await chat.say("anim", "/seance")
    await chat.say("alice", "/present")
    await chat.say("bob", "/present")
    await chat.say("anim", "/seance phase libre")
    await chat.say("alice", "/tour")
    [floor] = _floors(chat)
    assert (floor.voice_channel, floor.speaker, floor.previous) == ("900", user("alice"), None)
    assert floor.keep == (user("anim"),)  # the facilitators are never muted
    await chat.say("bob", "/tour")
    await chat.say("alice", "/fini")
    [floor] = _floors(chat)
    assert (floor.speaker, floor.previous, floor.closed) == (user("bob"), user("alice"), False)
    await chat.say("anim", "/seance fin")
    [floor] = _floors(chat)
    assert floor.closed
