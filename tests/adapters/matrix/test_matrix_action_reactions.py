"""An action owner's reminder on a real Synapse: sent in the bot's direct room with them, with
a reaction per answer; the owner's reaction is their `/action ...` in the circle, handled once."""

from __future__ import annotations

from datetime import timedelta

import nio

from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef
from bot.timing.clock import SystemClock
from tests.adapters.matrix.conftest import TIMEOUT, MakeClient, StartBot, sync_until
from tests.adapters.matrix.test_matrix_resilience import drain, open_circle


async def test_the_owner_answers_the_reminder_with_a_reaction(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot)
    alice, watch = circle.alice, circle.watch
    due = (SystemClock().now() + timedelta(days=4)).strftime("%d/%m/%Y")
    await circle.room(alice).say(f"!action Relancer le conseil échéance {due}")
    await watch.expect_text("Relancer le conseil")
    await watch.say("!seance fin")
    await watch.expect_text("Séance 1 terminée")
    await drain(watch)

    core = bot.core
    async with core.uow_factory() as uow:
        found = await uow.circles.by_channel(ChannelRef("matrix", circle.room_id))
        assert found is not None
        (seance,) = await uow.seances.for_circle(found.id)
        prompts = await uow.prompts.for_seance(seance.id)
        await uow.commit()
    [at] = [p.due_at for p in prompts if p.kind is PromptKind.ACTION_DUE]
    await bot.adapter.deliver(await core.prompts.fire_due(at + timedelta(minutes=1)))

    def invited(response: nio.SyncResponse) -> str | None:
        return next(iter(response.rooms.invite), None)

    direct_id = await sync_until(alice, invited, TIMEOUT, "an invitation to a direct room")
    joined = await alice.join(direct_id)
    assert isinstance(joined, nio.JoinResponse), joined

    def reminder(response: nio.SyncResponse) -> nio.RoomMessageText | None:
        room = response.rooms.join.get(direct_id)
        for event in room.timeline.events if room else []:
            if (
                isinstance(event, nio.RoomMessageText)
                and event.sender == bot.user_id
                and event.body.startswith("Rappel : votre action n° 1")
            ):
                return event
        return None

    message = await sync_until(alice, reminder, TIMEOUT, "the reminder in the direct room")
    assert "réagissez à ce message : ✅ fait, ⏳ en cours, ⛔ bloquée" in message.body

    def react(key: str) -> dict[str, object]:
        relates = {"rel_type": "m.annotation", "event_id": message.event_id, "key": key}
        return {"m.relates_to": relates}

    reacted = await alice.room_send(direct_id, "m.reaction", react("⛔"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    await watch.expect_text("Action n° 1 bloquée : Relancer le conseil")
    reacted = await alice.room_send(direct_id, "m.reaction", react("✅️"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    await watch.expect_text("Action n° 1 faite : Relancer le conseil")
    async with core.uow_factory() as uow:
        (item,) = await uow.items.for_seance(seance.id)
        await uow.commit()
    assert item.done_at is not None
