"""The RSVP question on Discord: answered with its buttons, edited in place, members only."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord, Message
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle
PLAN = "quand-sujet-question"
DAY_BEFORE = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)
RSVP_IDS = ["cercle:rsvp:yes", "cercle:rsvp:maybe", "cercle:rsvp:no"]


async def test_the_rsvp_buttons_answer_and_the_question_is_edited(
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
    for person in (ali, bea):
        await slash(loopback, person, world, "aide")  # they join the circle; chloe does not
    await slash(loopback, anim, world, "seance planifier", **{PLAN: "jeudi 10 décembre 14h"})
    clock, scheduler = adapter.core.clock, adapter.core.scheduler
    assert isinstance(clock, ManualClock)
    assert isinstance(scheduler, ManualScheduler)
    clock.set(DAY_BEFORE)
    await adapter.deliver(await scheduler.advance_to(DAY_BEFORE))

    def asked(message: Message) -> bool:
        return message.content.startswith("Serez-vous là à la séance 1")

    question = await loopback.wait_message(world.channel, asked, TIMEOUT)
    assert question.custom_ids() == RSVP_IDS
    assert question.content.endswith("Réponses — oui : 0 · peut-être : 0 · non : 0")
    assert "Répondez avec les boutons ci-dessous" in question.content

    clicked = await loopback.click(ali, question, "cercle:rsvp:yes")
    answered = await clicked.wait_callback(TIMEOUT)
    assert answered.ephemeral
    assert (answered.content or "").startswith("C'est noté : vous venez à la séance 1")
    await loopback.wait_for(
        lambda: question.content.endswith("Réponses — oui : 1 (ali) · peut-être : 0 · non : 0"),
        TIMEOUT,
        what="the question edited with ali's answer",
    )
    assert question.custom_ids() == RSVP_IDS  # the buttons stay

    # someone who is not in the circle: refused privately, nothing changes, nobody joins
    edits = len(question.edits)
    clicked = await loopback.click(chloe, question, "cercle:rsvp:yes")
    refused = await clicked.wait_callback(TIMEOUT)
    assert refused.ephemeral
    assert (refused.content or "").startswith("Seuls les membres du cercle peuvent répondre")

    clicked = await loopback.click(bea, question, "cercle:rsvp:no")
    await clicked.wait_callback(TIMEOUT)
    await loopback.wait_for(
        lambda: question.content.endswith("Réponses — oui : 1 (ali) · peut-être : 0 · non : 1"),
        TIMEOUT,
        what="the question edited with bea's answer",
    )
    assert len(question.edits) == edits + 1  # chloe's click edited nothing
    said = await slash(loopback, anim, world, "presence")
    assert "- non : 1 (bea)" in said
    assert "chloe" not in said
    posted = [m for m in world.channel.posted if asked(m)]
    assert posted == [question]  # posted once, then edited
