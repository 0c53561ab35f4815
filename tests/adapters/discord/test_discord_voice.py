"""A séance that a voice or Stage channel follows, on the loopback Discord: speakers brought up
and moved back on a Stage, a raised hand as `/tour`, strict mode muting and unmuting a voice
channel, and strict mode refused without Mute Members. The bot never joins the call."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import Channel, LoopbackDiscord, Member, Permission
from tests.adapters.discord.loopback.model import Json
from tests.adapters.discord.loopback.voice import STAGE, VOICE
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle
CHANNEL_OPTION = "salon-non"


def _room(loopback: LoopbackDiscord, world: World, name: str, kind: int, *, mute: bool) -> Channel:
    room = loopback.add_channel(world.guild, name, type=kind)
    if mute:
        bot = world.guild.members[loopback.bot_user.id]
        loopback.set_permissions(room, bot, allow=Permission.MUTE_MEMBERS)
    return room


def _state(loopback: LoopbackDiscord, member: Member) -> Json:
    state = loopback.voice_state(member)
    assert state is not None
    return state


async def _until(loopback: LoopbackDiscord, what: str, check: Callable[[], bool]) -> None:
    await loopback.wait_for(check, TIMEOUT, what=what)


def _speaking(loopback: LoopbackDiscord, people: list[Member]) -> list[str]:
    return [p.user.username for p in people if not _state(loopback, p)["suppress"]]


async def test_a_stage_follows_three_speakers_in_turn(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    stage = _room(loopback, world, "scene", STAGE, mute=True)
    anim, ali, bea = world.anim, world.people["ali"], world.people["bea"]
    people = [anim, ali, bea]
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    for person in people:
        loopback.join_voice(person, stage)
    said = await slash(loopback, anim, world, "cercle vocal", **{CHANNEL_OPTION: stage.mention})
    assert said.startswith("La scène scene suit l'ordre de parole")
    await slash(loopback, anim, world, "seance ouvrir")
    for person in (ali, bea):
        await slash(loopback, person, world, "present")
    assert _speaking(loopback, people) == []  # nobody has the floor yet: all in the audience

    await slash(loopback, anim, world, "seance phase", phase="suivante")  # a round: camille first
    await _until(loopback, "camille on stage", lambda: _speaking(loopback, people) == ["camille"])
    await slash(loopback, anim, world, "fini")
    await _until(loopback, "ali on stage", lambda: _speaking(loopback, people) == ["ali"])
    await slash(loopback, ali, world, "fini")
    await _until(loopback, "bea on stage", lambda: _speaking(loopback, people) == ["bea"])
    await slash(loopback, anim, world, "seance fin")
    await _until(loopback, "all back", lambda: _speaking(loopback, people) == [])

    route = "PATCH /guilds/{guild_id}/voice-states/{user_id}"
    calls = loopback.calls_to(route)
    assert len(calls) == 6  # three brought up, three moved back: nothing repeated
    assert all(call.status == 204 for call in calls)
    assert loopback.unknown_routes == []


async def test_a_hand_raised_on_the_stage_asks_for_the_floor(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    stage = _room(loopback, world, "scene", STAGE, mute=True)
    anim, ali, bea = world.anim, world.people["ali"], world.people["bea"]
    for person in (ali, bea):  # already on the Stage when Cercle connects (in GUILD_CREATE)
        loopback.join_voice(person, stage)
    await start_cercle()
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await slash(loopback, anim, world, "cercle vocal", **{CHANNEL_OPTION: stage.mention})
    await slash(loopback, anim, world, "seance ouvrir")
    await slash(loopback, anim, world, "seance phase", phase="libre")
    await slash(loopback, bea, world, "tour")
    await _until(loopback, "bea on stage", lambda: _speaking(loopback, [ali, bea]) == ["bea"])

    loopback.request_to_speak(ali)
    queued = await loopback.wait_message(world.channel, lambda m: "n° 1" in m.content, TIMEOUT)
    assert f"<@{ali.id}>" in queued.content  # ali's hand: first in the queue, told in the channel
    await slash(loopback, bea, world, "fini")
    await _until(loopback, "ali on stage", lambda: _speaking(loopback, [ali, bea]) == ["ali"])


async def test_strict_mode_mutes_all_but_the_speaker_and_the_facilitators(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    room = _room(loopback, world, "vocal", VOICE, mute=True)
    anim, ali, bea, chloe = world.anim, *(world.people[n] for n in ("ali", "bea", "chloe"))
    people = [anim, ali, bea, chloe]
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    for person in (anim, ali, bea):
        loopback.join_voice(person, room)
    said = await slash(
        loopback, anim, world, "cercle vocal", **{CHANNEL_OPTION: room.mention, "mode": "strict"}
    )
    assert "mode strict" in said
    await slash(loopback, anim, world, "seance ouvrir")
    for person in (ali, bea):
        await slash(loopback, person, world, "present")

    def muted() -> list[str]:
        states = [(p, loopback.voice_state(p)) for p in people]
        return [p.user.username for p, s in states if s is not None and s["mute"]]

    await slash(loopback, anim, world, "seance phase", phase="libre")
    await _until(loopback, "everyone muted", lambda: muted() == ["ali", "bea"])
    await slash(loopback, ali, world, "tour")
    await _until(loopback, "ali speaks", lambda: muted() == ["bea"])
    loopback.join_voice(chloe, room)  # arrives during the séance: muted on arrival
    await _until(loopback, "chloe muted", lambda: muted() == ["bea", "chloe"])
    await slash(loopback, ali, world, "fini")
    await _until(loopback, "ali muted again", lambda: muted() == ["ali", "bea", "chloe"])
    await slash(loopback, anim, world, "seance fin")
    await _until(loopback, "everyone unmuted", lambda: muted() == [])
    assert all(
        c.status == 200 for c in loopback.calls_to("PATCH /guilds/{guild_id}/members/{user_id}")
    )


async def test_strict_mode_is_refused_without_mute_members(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    room = _room(loopback, world, "vocal", VOICE, mute=False)
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    interaction = await loopback.send_slash(
        anim, world.channel, "cercle vocal", {CHANNEL_OPTION: room.mention, "mode": "strict"}
    )
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert "Rendre les membres muets" in (callback.content or "")
    said = await slash(loopback, anim, world, "cercle vocal")
    assert said.startswith("Aucun salon vocal")  # nothing was stored

    text = await slash(loopback, anim, world, "cercle vocal", **{CHANNEL_OPTION: "#cercle"})
    assert "n'est pas un salon vocal" in text


@pytest.mark.parametrize("kind", [STAGE, VOICE])
async def test_planned_seances_take_place_in_the_voice_channel(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle, kind: int
) -> None:
    adapter = await start_cercle()
    room = _room(loopback, world, "salle", kind, mute=True)
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await slash(loopback, anim, world, "cercle vocal", **{CHANNEL_OPTION: room.mention})
    plan = "quand-sujet-question"
    await slash(loopback, anim, world, "seance planifier", **{plan: "mardi 8 décembre 14h"})
    await adapter.events.idle()
    [event] = loopback.events_of(world.guild.id)
    assert event["entity_type"] == (1 if kind == STAGE else 2)
    assert event["channel_id"] == str(room.id)
