"""Hands raised in one phase do not carry into the next; their owners are told, once."""

from __future__ import annotations

from bot.effects import Reply
from tests.conversation import Chat, start_circle, user


async def test_hands_raised_on_the_open_floor_lapse_when_the_phase_changes(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", "chloe", protocol="codev")
    await chat.say("anim", "/seance cas @chloe")
    for _ in range(3):  # retour (round), exposé (chloe), clarification (open floor)
        await chat.say("anim", "/seance phase suivante")
    await chat.script("alice: /tour", "bob: /tour sur le budget")
    assert "bob" in (chat.status() or "")
    await chat.say("anim", "/seance phase suivante")  # contrat: chloe alone
    lowered = [e for e in chat.last if isinstance(e, Reply) and "baissées" in e.text]
    assert [e.text for e in lowered] == [
        "Nouvelle phase : les mains levées à la phase précédente sont baissées (bob). "
        "Levez la main à nouveau avec /tour si vous voulez toujours parler."
    ]
    assert lowered[0].mentions == (user("bob"),)
    assert not lowered[0].private
    await chat.say("anim", "/seance phase suivante")  # consultation: nobody carried over
    assert chat.public()[0].startswith("Phase : Consultation")
    assert "baissées" not in chat.text
    await chat.say("alice", "/tour")
    assert chat.public() == ["alice, vous avez la parole (3 min 00 s)."]


async def test_a_hand_raised_during_a_round_waits_for_the_open_floor(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", protocol="meteo")
    await chat.script("anim: /seance phase suivante", "anim: /passe", "alice: /passe")
    await chat.say("anim", "/tour")  # raised during the round: promised the open floor
    await chat.say("anim", "/seance phase suivante")
    assert "baissées" not in chat.text
    assert chat.public()[-1] == "anim, vous avez la parole."


async def test_the_case_holder_is_not_carried_into_the_consultation(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", protocol="codev")
    await chat.script("anim: /seance cas @bob", "anim: /seance phase suivante")  # retour
    await chat.script("anim: /passe", "alice: /passe", "bob: /passe")
    for _ in range(3):  # exposé, clarification, contrat
        await chat.script("anim: /seance phase suivante")
    await chat.script("anim: /seance phase unique @alice")  # an ad hoc word for alice
    await chat.script("anim: /tour", "bob: /tour")  # both promised the next open floor
    assert chat.private_to("bob") == [
        "C'est noté : vous aurez la parole à la prochaine phase de parole libre."
    ]
    await chat.say("anim", "/seance phase suivante")  # consultation: bob listens
    assert chat.private_to("bob") == [
        "Pendant la consultation, la personne qui porte le cas écoute : le groupe travaille "
        "sur votre cas sans vous interrompre. Notez ce qui vous touche ; vous reprendrez la "
        "parole au plan d'action."
    ]
    assert chat.public()[-1] == "anim, vous avez la parole (3 min 00 s)."
    assert "baissées" not in chat.text  # a hand promised to this floor is not lowered
    await chat.say("anim", "/fini")
    assert "bob" not in chat.text
