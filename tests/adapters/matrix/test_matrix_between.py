"""Between séances on a real Synapse: the preparation question in the bot's direct room, an
answer written there recorded once; native polls whose responses count as votes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
    joined = await alice.join(direct_id)
    assert isinstance(joined, nio.JoinResponse), joined

    def question(response: nio.SyncResponse) -> bool:
        room = response.rooms.join.get(direct_id)
        return any(
            isinstance(e, nio.RoomMessageText)
            and e.sender == bot.user_id
            and "question de préparation : Que ne déléguez-vous pas ?" in e.body
            for e in (room.timeline.events if room else [])
        )

    # the question was sent before alice joined: it comes with the room's history
    await sync_until(alice, question, TIMEOUT, "the question in the direct room")
    direct = Room(alice, direct_id, bot.user_id)
    await direct.say("Je garde toute la compta")
    confirmed = await direct.expect_text("Réponse enregistrée pour la séance 1")
    assert "visible par l'animation seulement" in confirmed.body
    await circle.room(alice).say("!prepa")
    await circle.room(alice).expect_text("Je garde toute la compta")
    assert bot.core.dispatcher.handled["prepa"] == 2


def poll_event(bot_id: str, room_id: str, kind: str) -> Callable[[nio.SyncResponse], Any]:
    """A sync condition: the bot's event of type `kind` in the room (its source), if any."""

    def found(response: nio.SyncResponse) -> dict[str, Any] | None:
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            ours = isinstance(event, nio.UnknownEvent) and event.sender == bot_id
            if ours and event.type == kind:
                return dict(event.source)
        return None

    return found


async def respond(client: nio.AsyncClient, room_id: str, kind: str, content: Any) -> None:
    sent = await client.room_send(room_id, kind, content, ignore_unverified_devices=True)
    assert isinstance(sent, nio.RoomSendResponse), sent


async def test_a_poll_whose_responses_count_as_votes_and_end_with_the_vote(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot, seance=False)
    room_id, alice, bob = circle.room_id, circle.alice, circle.bob
    await circle.room(alice).say("!cas proposer Déléguer la compta")
    await circle.room(bob).say("!cas proposer Un salarié qui décroche")
    await circle.watch.expect_text("Cas n° 2 proposé par")
    await circle.watch.say("!cas ouvrir 48h")
    await circle.watch.expect_text("Le vote pour le prochain cas est ouvert")
    start = await sync_until(
        bob, poll_event(bot.user_id, room_id, "m.poll.start"), TIMEOUT, "the poll"
    )
    poll_id = start["event_id"]
    poll = start["content"]["org.matrix.msc3381.poll.start"]
    assert [a["id"] for a in poll["answers"]] == ["case-1", "case-2"]
    assert [a["org.matrix.msc1767.text"] for a in poll["answers"]] == [
        "n° 1 Déléguer la compta",
        "n° 2 Un salarié qui décroche",
    ]
    assert poll["max_selections"] == 2  # three votes each, two cases
    assert start["content"]["m.poll"]["kind"] == "m.disclosed"

    reference = {"rel_type": "m.reference", "event_id": poll_id}
    # alice's client sends the unstable names (as Element does), bob's the stable ones
    await respond(
        alice,
        room_id,
        "org.matrix.msc3381.poll.response",
        {
            "m.relates_to": reference,
            "org.matrix.msc3381.poll.response": {"answers": ["case-2"]},
        },
    )
    await respond(
        bob, room_id, "m.poll.response", {"m.relates_to": reference, "m.selections": ["case-1"]}
    )
    # bob changes his mind: his response is his whole choice, case 1 loses his vote
    await respond(
        bob, room_id, "m.poll.response", {"m.relates_to": reference, "m.selections": ["case-2"]}
    )
    await circle.watch.say("!cas clore")
    closed = await circle.watch.expect_text("Le vote pour le prochain cas est clos")
    lines = closed.body.split("\n")
    assert lines[0] == "Le vote pour le prochain cas est clos (2 votant·es). Résultat :"
    assert lines[1].startswith("- n° 2 Un salarié qui décroche — ")
    assert lines[1].endswith(" — 2 voix")
    assert len(lines) == 3  # case 1 has no vote left: bob moved his
    end = await sync_until(
        bob, poll_event(bot.user_id, room_id, "m.poll.end"), TIMEOUT, "the poll's end"
    )
    assert end["content"]["m.relates_to"] == reference
    # a response after the end changes nothing and says so to its author alone
    await respond(
        alice, room_id, "m.poll.response", {"m.relates_to": reference, "m.selections": ["case-1"]}
    )
    await circle.room(alice).say("!cas")  # a marker: handled after the late response
    listing = await circle.room(alice).expect_text("Cas proposés (2)")
    assert "n° 1 Déléguer la compta — " in listing.body
    assert listing.body.split("\n")[2].endswith("— 0 voix")
    assert bot.core.native_votes.counted == 4  # alice +1, bob +1, then bob -1 +1
