"""A Lean Coffee topic's thumbs vote on Matrix, against a real Synapse: 👍 reactions to the
time-up message by a majority of those present extend the topic; a reaction by someone outside
the circle counts for nothing, and one after the vote is decided gets no reply in the room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nio

from bot.domain.refs import ChannelRef
from tests.adapters.matrix.conftest import (
    MakeClient,
    Room,
    StartBot,
    create_room,
    invite_bot,
    is_edit,
)


async def test_thumbs_up_reactions_by_a_majority_extend_the_topic(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    alice = await make_client("alice", encryption=False)
    bob = await make_client("bob", encryption=False)
    zoe = await make_client("zoe", encryption=False)
    room_id = await create_room(anim, alice, bob, zoe, name="Cercle")
    await invite_bot(anim, room_id, bot.user_id)
    a = Room(anim, room_id, bot.user_id)
    await a.say("!cercle creer Cercle")
    await a.expect_text("créé")
    await a.say("!cercle protocole leancoffee")
    await a.expect_text("leancoffee")
    await Room(alice, room_id, bot.user_id).say("!cas proposer Déléguer la compta")
    await a.expect_text("Déléguer la compta")
    await a.say("!seance")
    await a.expect_text("ouverte")
    for person in (alice, bob):  # anim, alice and bob are present; zoe is not in the circle
        await Room(person, room_id, bot.user_id).say("!present")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Météo")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Sujet n° 1")

    # the topic's 8 minutes run out (the time keeper is driven by hand: no waiting)
    core = bot.core
    async with core.uow_factory() as uow:
        circle = await uow.circles.by_channel(ChannelRef("matrix", room_id))
        assert circle is not None
        seance = await uow.seances.open_for(circle.id)
        await uow.commit()
    assert seance is not None
    up = datetime.now(UTC) + timedelta(minutes=8, seconds=1)
    await bot.adapter.deliver(await core.timekeeper.run_seance(seance.id, up))
    vote = await a.expect(lambda body: body.startswith("Le temps de « Sujet n° 1"), "time up")
    assert "Votez par une réaction à ce message : 👍 on continue" in vote.body
    assert "Pour l'instant : 👍 0 · 👎 0, sur 3 présent·es." in vote.body

    def react(key: str) -> dict[str, object]:
        return {"m.relates_to": {"rel_type": "m.annotation", "event_id": vote.event_id, "key": key}}

    for person, key in ((zoe, "👍"), (alice, "👍🏽")):  # zoe's counts for nothing
        reacted = await person.room_send(room_id, "m.reaction", react(key))
        assert isinstance(reacted, nio.RoomSendResponse), reacted
    counted = await a.expect(lambda body: "👍 1 · 👎 0, sur 3" in body, "alice's thumb counted")
    assert is_edit(counted)
    assert counted.source["content"]["m.relates_to"]["event_id"] == vote.event_id
    reacted = await bob.room_send(room_id, "m.reaction", react("👍"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    await a.expect_text("On prolonge « Sujet n° 1 — Déléguer la compta » de 4 min 00 s")
    closed = await a.expect(lambda body: body.endswith("Le vote est terminé."), "vote closed")
    assert "👍 2 · 👎 0, sur 3" in closed.body

    # a thumb after the decision is only a reaction: nothing is said about it in the room
    reacted = await anim.room_send(room_id, "m.reaction", react("👎"))
    assert isinstance(reacted, nio.RoomSendResponse), reacted
    await a.say("!sujet")
    said = await a.answers_until(lambda body: "Sujet en cours" in body, "anim's /sujet")
    assert not any("Aucun vote" in e.body for e in said)
    assert "Sujet en cours : Sujet n° 1 — Déléguer la compta (encore " in said[-1].body
