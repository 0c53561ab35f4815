"""A Lean Coffee topic's thumbs vote on Discord: 👍 / 👎 buttons under the time-up message,
members only, the message edited with the count and without its buttons once decided."""

from __future__ import annotations

from datetime import timedelta

from adapters.discord.adapter import DiscordAdapter
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord, Message
from tests.adapters.discord.test_discord_live import typed
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle
THUMBS = ["cercle:thumbs:yes", "cercle:thumbs:no"]


async def later(adapter: DiscordAdapter, minutes: int) -> None:
    clock, scheduler = adapter.core.clock, adapter.core.scheduler
    assert isinstance(clock, ManualClock)
    assert isinstance(scheduler, ManualScheduler)
    clock.advance(timedelta(minutes=minutes))
    await adapter.deliver(await scheduler.advance_to(clock.now()))


async def test_the_thumbs_buttons_extend_then_skip_a_topic(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    anim, ali, bea, chloe = (
        world.anim,
        world.people["ali"],
        world.people["bea"],
        world.people["chloe"],
    )
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await typed(adapter, world, anim, "/cercle protocole leancoffee")
    await typed(adapter, world, ali, "/cas proposer Déléguer la compta")
    await typed(adapter, world, anim, "/seance")
    for person in (ali, bea):  # anim, ali and bea are present; chloe is not in the circle
        await typed(adapter, world, person, "/present")
    await typed(adapter, world, anim, "/seance phase suivante")  # météo
    await typed(adapter, world, anim, "/seance phase suivante")  # the topic, 8 minutes
    await later(adapter, 8)

    def time_up(message: Message) -> bool:
        return message.content.startswith("Le temps de « Sujet n° 1")

    vote = await loopback.wait_message(world.channel, time_up, TIMEOUT)
    assert vote.custom_ids() == THUMBS
    assert "Pour l'instant : 👍 0 · 👎 0, sur 3 présent·es." in vote.content
    assert "Votez avec les boutons 👍 / 👎 ci-dessous" in vote.content

    clicked = await loopback.click(ali, vote, "cercle:thumbs:yes")
    answered = await clicked.wait_callback(TIMEOUT)
    assert answered.ephemeral
    assert answered.content == "Vote noté (oui). Pour l'instant : 1 oui, 0 non, sur 3 présent·es."
    await loopback.wait_for(
        lambda: "👍 1 · 👎 0, sur 3" in vote.content, TIMEOUT, what="the count edited"
    )
    assert vote.custom_ids() == THUMBS

    # someone not in the circle: refused privately, the count does not move
    edits = len(vote.edits)
    clicked = await loopback.click(chloe, vote, "cercle:thumbs:no")
    refused = await clicked.wait_callback(TIMEOUT)
    assert refused.ephemeral
    assert (refused.content or "").startswith("Seuls les membres du cercle peuvent répondre")

    clicked = await loopback.click(bea, vote, "cercle:thumbs:yes")  # 2 of 3: extended
    await clicked.wait_callback(TIMEOUT)
    await loopback.wait_message(
        world.channel, lambda m: m.content.startswith("On prolonge « Sujet n° 1"), TIMEOUT
    )
    await loopback.wait_for(
        lambda: vote.content.endswith("Le vote est terminé.") and not vote.custom_ids(),
        TIMEOUT,
        what="the decided vote without its buttons",
    )
    assert len(vote.edits) == edits + 1  # the decision alone: chloe's click changed nothing
    assert "👍 2 · 👎 0, sur 3" in vote.content

    await later(adapter, 4)  # the extension runs out: a new vote, a new message
    again = await loopback.wait_message(
        world.channel, lambda m: time_up(m) and m is not vote, TIMEOUT
    )
    assert again.custom_ids() == THUMBS
    for person in (ali, bea):
        clicked = await loopback.click(person, again, "cercle:thumbs:no")
        await clicked.wait_callback(TIMEOUT)
    await loopback.wait_message(
        world.channel, lambda m: m.content.startswith("On arrête « Sujet n° 1"), TIMEOUT
    )
    await loopback.wait_for(
        lambda: not again.custom_ids() and again.content.endswith("Le vote est terminé."),
        TIMEOUT,
        what="the second vote decided, its buttons gone",
    )
    assert [m for m in world.channel.posted if time_up(m)] == [vote, again]
