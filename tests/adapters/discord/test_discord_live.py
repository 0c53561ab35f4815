"""The RSVP question on Discord: answered with its buttons, edited in place, members only."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.discord.adapter import DiscordAdapter
from adapters.homes import DISCORD_HOME
from bot.domain.items import ActionProgress
from bot.domain.refs import ChannelRef, UserRef
from bot.events import CommandEvent
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord, Member, Message
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


async def typed(adapter: DiscordAdapter, world: World, who: Member, text: str) -> None:
    """A command as if typed in the circle's channel (setting the scene, not under test)."""
    event = CommandEvent(
        channel=ChannelRef("discord", str(world.channel.id)),
        author=UserRef("discord", str(who.id)),
        author_name=who.user.username,
        text=text,
        platform_facilitator=who is world.anim,
        platform_knows_roles=True,
        home=DISCORD_HOME,
        shard_key=world.guild.id,
    )
    outcome = await adapter.core.handle(event)
    assert outcome.refused is None, outcome
    await adapter.deliver(outcome.effects)


async def test_an_owner_answers_the_reminder_of_an_action_with_a_button(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    anim, ali = world.anim, world.people["ali"]
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await typed(adapter, world, anim, "/seance")
    await typed(adapter, world, ali, "/action Relancer le conseil échéance 10/12")
    await typed(adapter, world, anim, "/seance fin")
    clock, scheduler = adapter.core.clock, adapter.core.scheduler
    assert isinstance(clock, ManualClock)
    assert isinstance(scheduler, ManualScheduler)
    reminded = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # two days before, 09:00 in Paris
    clock.set(reminded)
    await adapter.deliver(await scheduler.advance_to(reminded))

    # the reminder goes to ali alone, by direct message, with a button per answer
    direct = loopback.dm_channel(ali.user)
    reminder = await loopback.wait_message(
        direct, lambda m: m.content.startswith("Rappel : votre action n° 1"), TIMEOUT
    )
    here = world.channel.id
    assert reminder.custom_ids() == [
        f"cercle:do:{here}:action.fait:1",
        f"cercle:do:{here}:action.encours:1",
        f"cercle:do:{here}:action.bloque:1",
        f"cercle:do:{here}:action.aide:1",
    ]
    clicked = await loopback.click(ali, reminder, f"cercle:do:{here}:action.bloque:1")
    answered = await clicked.wait_callback(TIMEOUT)
    assert answered.ephemeral
    said = "Action n° 1 bloquée : Relancer le conseil (ali)."
    assert answered.content == said  # what the circle is told, shown to her where she clicked
    announced = await loopback.wait_message(world.channel, lambda m: m.content == said, TIMEOUT)
    assert announced.interaction is None  # posted in the circle's channel, not in the DM
    in_direct = [m for m in direct.posted if m.content == said]
    assert [m.interaction for m in in_direct] == [clicked]  # only as her answer there
    async with adapter.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(ChannelRef("discord", str(here)))
        assert circle is not None
        item = await uow.items.get(circle.id, 1)
        await uow.commit()
    assert item is not None
    assert item.progress is ActionProgress.BLOCKED

    clicked = await loopback.click(ali, reminder, f"cercle:do:{here}:action.fait:1")
    answered = await clicked.wait_callback(TIMEOUT)
    assert (answered.content or "").startswith("Action n° 1 faite")
