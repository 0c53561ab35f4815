"""Between séances on Discord: the preparation question by DM, answered by DM; native polls.

The unmodified discord.py client against the loopback Discord; the core's clock is moved by
hand, and what its scheduler posts is handed to the adapter as the runner would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.discord.adapter import DiscordAdapter
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord, Message
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world
start_cercle = seance.start_cercle

QUESTION_OUT = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # three days before séance 1


async def move_to(adapter: DiscordAdapter, instant: datetime) -> None:
    """The clock reaches `instant`: the scheduler wakes the core, the adapter posts."""
    clock = adapter.core.clock
    assert isinstance(clock, ManualClock)
    clock.set(instant)
    scheduler = adapter.core.scheduler
    assert isinstance(scheduler, ManualScheduler)
    await adapter.deliver(await scheduler.advance_to(instant))


async def plan_with_question(loopback: LoopbackDiscord, world: World) -> None:
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    for name in ("ali", "bea"):
        await slash(loopback, world.people[name], world, "aide")
    said = await slash(
        loopback,
        anim,
        world,
        "seance planifier",
        **{"quand-sujet-question": "2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?"},
    )
    assert said.startswith("Séance 1")


async def test_the_question_comes_by_dm_and_a_dm_answer_is_recorded_once(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    await plan_with_question(loopback, world)
    ali, bea = world.people["ali"], world.people["bea"]
    said = await slash(loopback, bea, world, "prepa dm", **{"etat": "off"})
    assert said.startswith("Vous ne recevrez plus la question")
    await move_to(adapter, QUESTION_OUT)
    dm = loopback.dm_channel(ali.user)

    def invitation(m: Message) -> bool:
        return "question de préparation : Que ne déléguez-vous pas ?" in m.content

    await loopback.wait_message(dm, invitation, TIMEOUT)
    assert [m for m in loopback.dm_channel(bea.user).posted if invitation(m)] == []

    loopback.post_message(ali, dm, "Je garde toute la compta")
    confirmed = await loopback.wait_message(
        dm, lambda m: m.content.startswith("Réponse enregistrée pour la séance 1"), TIMEOUT
    )
    assert "visible par l'animation seulement" in confirmed.content
    assert not any("Je garde" in m.content for m in world.channel.posted)  # never the channel
    said = await slash(loopback, ali, world, "prepa repondre")
    assert said.endswith("Je garde toute la compta")


async def test_a_native_poll_counts_its_ticks_as_votes(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    anim, ali, bea = world.anim, world.people["ali"], world.people["bea"]
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await slash(loopback, bea, world, "aide")
    await slash(loopback, ali, world, "cas proposer", texte="Déléguer la compta")
    await slash(loopback, bea, world, "cas proposer", texte="Un salarié qui décroche")
    await slash(loopback, anim, world, "cercle voix", nombre=2)
    said = await slash(loopback, anim, world, "cas ouvrir", jusqua="48h")
    assert said.startswith("Le vote pour le prochain cas est ouvert")
    poll_message = await loopback.wait_message(world.channel, lambda m: m.poll is not None, TIMEOUT)
    poll = poll_message.poll
    assert poll is not None
    assert poll.answers == ["n° 1 Déléguer la compta", "n° 2 Un salarié qui décroche"]
    assert poll.multiselect  # two votes each: two answers may be ticked
    assert (poll.expiry - poll_message.created_at).total_seconds() / 3600 == pytest.approx(
        48, abs=0.01
    )

    async def votes_of(number: int) -> dict[str, int]:
        async with adapter.core.uow_factory() as uow:
            cases = await uow.cases.for_circle(1)
            await uow.commit()
        found = next(c for c in cases if c.number == number)
        return {u.id: n for u, n in found.votes.items()}

    async def counted(number: int, expected: dict[str, int]) -> None:
        for _ in range(200):
            if await votes_of(number) == expected:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"case {number}: {await votes_of(number)} != {expected}")

    loopback.vote_poll(bea, poll_message, 1)
    await counted(1, {str(bea.id): 1})
    loopback.vote_poll(bea, poll_message, 2)
    await counted(2, {str(bea.id): 1})
    loopback.vote_poll(bea, poll_message, 1, add=False)
    await counted(1, {})
    # the command still stacks: ali puts both votes on case 2, then a tick does not count
    await slash(loopback, ali, world, "cas voter", n=2)
    await slash(loopback, ali, world, "cas voter", n=2)
    loopback.vote_poll(ali, poll_message, 1)
    dm = loopback.dm_channel(ali.user)
    await loopback.wait_message(
        dm, lambda m: "n'a pas compté pour le cas n° 1" in m.content, TIMEOUT
    )
    await counted(1, {})
    # someone outside the circle (the roster is closed) is ignored
    await slash(loopback, anim, world, "cercle inscriptions", etat="closed")
    chloe = world.people["chloe"]
    loopback.vote_poll(chloe, poll_message, 1)
    loopback.vote_poll(bea, poll_message, 1)  # after chloe's: once it counts, hers was seen
    await counted(1, {str(bea.id): 1})
    # the facilitator closes the vote: the poll ends on Discord, later ticks are refused
    said = await slash(loopback, anim, world, "cas clore")
    assert said.startswith("Le vote pour le prochain cas est clos")
    await loopback.wait_for(lambda: poll.ended, TIMEOUT, what="the poll ended")
