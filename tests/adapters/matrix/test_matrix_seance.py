"""A whole séance in a Matrix room, as real users on a real Synapse, with Cercle as the bot."""

from __future__ import annotations

import nio
import pytest

from tests.adapters.matrix.conftest import (
    MakeClient,
    Room,
    StartBot,
    create_room,
    invite_bot,
    trust_devices,
)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_whole_seance_in_a_room(
    make_client: MakeClient, start_bot: StartBot, encrypted: bool
) -> None:
    bot = await start_bot()
    anim = await make_client("anim")
    alice = await make_client("alice")
    bob = await make_client("bob")
    room_id = await create_room(anim, alice, bob, encrypted=encrypted, name="Cercle ESS")
    await invite_bot(anim, room_id, bot.user_id)
    if encrypted:
        for client in (anim, alice, bob):
            await client.keys_query()
            for device in client.device_store.active_user_devices(bot.user_id):
                client.verify_device(device)
        await trust_devices(anim, alice, bob)
    rooms = {c.user_id: Room(c, room_id, bot.user_id) for c in (anim, alice, bob)}
    a, al, b = rooms[anim.user_id], rooms[alice.user_id], rooms[bob.user_id]

    await a.say("!cercle creer Cercle ESS")
    await a.expect_text("Cercle « Cercle ESS » créé")
    # arrival order: on a real clock the fair order would depend on milliseconds of speech
    await a.say("!cercle ordre arrivee")
    await a.expect_text("File par ordre d'arrivée.")
    await a.say("!seance")
    await a.expect_text("Séance 1 du cercle « Cercle ESS » ouverte")
    await al.say("/present")
    await al.expect_text("est là (2 personnes présentes)")
    await b.say("!present")
    await b.expect_text("est là (3 personnes présentes)")
    await a.say("!seance phase suivante")
    await a.expect_text("vous avez la parole (2 min 00 s)")
    await a.say("!fini")
    await al.expect_text("vous avez la parole (2 min 00 s)")
    await al.say("!passe")
    await b.expect_text("vous avez la parole (2 min 00 s)")
    await b.say("!fini")
    await a.expect_text("Le tour de table est terminé")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Parole libre")
    await al.say("!tour")
    await al.expect_text("vous avez la parole.")
    await b.say("!tour")
    await b.expect_text("vous êtes n° 1 dans la file")
    # ✋ on the live status message means /tour
    status = await a.expect(lambda body: body.startswith("Séance 1 — Cercle ESS"), "status")
    reacted = await anim.room_send(
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": status.event_id, "key": "✋"}},
        ignore_unverified_devices=True,
    )
    assert isinstance(reacted, nio.RoomSendResponse)
    await a.expect_text("vous êtes n° 2 dans la file")
    await a.say("!suivant")
    await b.expect_text("vous avez la parole.")
    await a.say("!seance fin")
    for room in (a, al, b):
        recap = await room.expect_text("## Récapitulatif — Cercle ESS, séance 1/1")
        assert recap.formatted_body is not None
        assert "<h2>Récapitulatif — Cercle ESS, séance 1/1</h2>" in recap.formatted_body
        assert "Présent·es (3)" in recap.body
