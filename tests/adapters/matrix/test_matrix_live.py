"""The RSVP question on Matrix, against a real Synapse: answered with a reaction, edited in
place, the answer withdrawn when the reaction is removed; only members' reactions count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nio

from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef
from bot.partition import EVERYTHING
from tests.adapters.matrix.conftest import (
    MakeClient,
    Room,
    StartBot,
    create_room,
    invite_bot,
    is_edit,
)


async def test_a_reaction_answers_the_rsvp_question_and_removing_it_withdraws(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    alice = await make_client("alice", encryption=False)
    zoe = await make_client("zoe", encryption=False)
    room_id = await create_room(anim, alice, zoe, name="Cercle")
    await invite_bot(anim, room_id, bot.user_id)
    a, al = Room(anim, room_id, bot.user_id), Room(alice, room_id, bot.user_id)
    name = alice.user_id[1:].split(":")[0]  # her display name
    await a.say("!cercle creer Cercle")
    await a.expect_text("créé")
    await al.say("!aide")  # alice joins the circle; zoe never types anything
    await al.expect_text("/tour")
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")
    await a.say(f"!seance planifier {day} 14:00")
    await a.expect_text("planifiée")

    # the day-before reminder falls due (the bot's scheduler is driven by hand here)
    core = bot.core
    async with core.uow_factory() as uow:
        pending = await uow.prompts.pending(EVERYTHING)
        await uow.commit()
    [due] = [p.due_at for p in pending if p.kind is PromptKind.DAY_BEFORE]
    await bot.adapter.deliver(await core.prompts.fire_due(due + timedelta(minutes=1)))
    question = await a.expect(
        lambda body: body.startswith("Serez-vous là à la séance 1"), "the RSVP question"
    )
    assert "👍 oui, 👎 non, 🤔 peut-être" in question.body
    assert question.body.endswith("Réponses — oui : 0 · peut-être : 0 · non : 0")

    def react(key: str) -> dict[str, object]:
        return {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": question.event_id, "key": key}
        }

    # zoe is not in the circle: her reaction is only a reaction
    reacted = await zoe.room_send(room_id, "m.reaction", react("👍"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    reacted = await alice.room_send(room_id, "m.reaction", react("👍🏽"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    thumbs_up = reacted.event_id
    edited = await a.expect(
        lambda body: body.endswith(f"Réponses — oui : 1 ({name}) · peut-être : 0 · non : 0"),
        "the question edited with alice's answer",
    )
    assert is_edit(edited)
    assert edited.source["content"]["m.relates_to"]["event_id"] == question.event_id

    redacted = await alice.room_redact(room_id, thumbs_up)
    assert isinstance(redacted, nio.RoomRedactResponse), redacted
    await a.expect(
        lambda body: body.endswith("Réponses — oui : 0 · peut-être : 0 · non : 0"),
        "the question edited once her reaction is gone",
    )
    reacted = await alice.room_send(room_id, "m.reaction", react("👎"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    await a.expect(
        lambda body: body.endswith("Réponses — oui : 0 · peut-être : 0 · non : 1"),
        "the question edited with alice's no",
    )
    # the reactions were the confirmations: nothing "noted" was written in the room
    await al.say("!presence")
    said = await al.answers_until(lambda body: "Votre réponse" in body, "alice's /presence")
    assert said[-1].body.endswith("Votre réponse pour la séance 1 : non.")
    assert not any("C'est noté" in e.body for e in said)
    async with core.uow_factory() as uow:  # what the facilitators' tally is made of
        circle = await uow.circles.by_channel(ChannelRef("matrix", room_id))
        assert circle is not None
        answers = await uow.rsvps.for_circle(circle.id)
        await uow.commit()
    assert [(r.user.id, r.answer.value) for r in answers] == [(alice.user_id, "no")]
    assert answers[0].event_id == f"matrix:{reacted.event_id}"  # zoe's reaction counted for nothing
