"""Between séances on a real Synapse: the preparation question in the bot's direct room, an
answer written there recorded once; native polls whose responses count as votes."""

from __future__ import annotations

from datetime import timedelta

import nio

from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef
from bot.timing.clock import SystemClock
from tests.adapters.matrix.conftest import (
    TIMEOUT,
    Bot,
    MakeClient,
    Room,
    StartBot,
    join_invited,
    sync_until,
)
from tests.adapters.matrix.test_matrix_resilience import Circle, drain, open_circle


async def send_question_now(bot: Bot, circle: Circle) -> None:
    """The preparation question falls due now: the prompt machinery posts it for real."""
    now = SystemClock().now()
    key = ""
    async with bot.database() as uow:
        found = await uow.circles.by_channel(ChannelRef("matrix", circle.room_id))
        assert found is not None
        (seance,) = await uow.seances.for_circle(found.id)
        for prompt in await uow.prompts.for_seance(seance.id):
            if prompt.kind is PromptKind.PREPARATION:
                await uow.prompts.reschedule(prompt.id, now - timedelta(minutes=1))
                key = prompt.key
        await uow.commit()
    assert key
    await bot.adapter.deliver(await bot.core.wake(key, SystemClock().now()))


async def plan_with_question(circle: Circle) -> None:
    for person in (circle.alice, circle.bob):
        await circle.room(person).say("!aide")
    when = (SystemClock().now() + timedelta(days=4)).strftime("%Y-%m-%d 14:00")
    await circle.watch.say(f"!seance planifier {when} | Déléguer | Que ne déléguez-vous pas ?")
    await circle.watch.expect_text("planifiée")
    await drain(circle.watch)


async def test_the_question_in_the_direct_room_and_an_answer_there_is_recorded(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot, seance=False)
    await plan_with_question(circle)
    await circle.room(circle.bob).say("!prepa dm non")
    await circle.room(circle.bob).expect_text("Vous ne recevrez plus la question")
    await send_question_now(bot, circle)
    alice = circle.alice

    def invited(response: nio.SyncResponse) -> str | None:
        return next(iter(response.rooms.invite), None)

    direct_id = await sync_until(alice, invited, TIMEOUT, "an invitation to a direct room")
    await join_invited(alice, direct_id)
    direct = Room(alice, direct_id, bot.user_id)
    await direct.expect_text("question de préparation : Que ne déléguez-vous pas ?")
    await direct.say("Je garde toute la compta")
    confirmed = await direct.expect_text("Réponse enregistrée pour la séance 1")
    assert "visible par l'animation seulement" in confirmed.body
    await circle.room(alice).say("!prepa")
    await circle.room(alice).expect_text("Je garde toute la compta")
    assert bot.core.dispatcher.handled["prepa"] == 2
