"""Figures match what happened: long turns nudged, turn lengths corrected, fair-queue moves
explained, /fini after the time ran out, round order, open actions with their numbers."""

from __future__ import annotations

from tests.conversation import Chat, start_circle


async def test_a_long_turn_on_the_open_floor_gets_a_private_nudge(chat: Chat) -> None:
    await start_circle(chat, "ali", protocol="libre")
    await chat.say("ali", "/tour")
    await chat.wait(minutes=4, seconds=59)
    assert chat.private_to("ali") == []
    await chat.wait(seconds=1)
    assert chat.private_to("ali") == [
        "Vous avez la parole depuis 5 minutes. "
        "Pensez à la laisser bientôt : /fini quand vous avez terminé."
    ]
    assert chat.public() == []
    await chat.wait(minutes=10)
    assert chat.private_to("ali") == []  # once


async def test_the_nudge_is_a_circle_setting(chat: Chat) -> None:
    await start_circle(chat, "ali", protocol="libre")
    await chat.say("anim", "/cercle relance 2")
    assert chat.public() == [
        "Une personne qui garde la parole libre plus de 2 minutes recevra un rappel discret."
    ]
    await chat.say("anim", "/cercle relance non")
    await chat.say("ali", "/tour")
    await chat.wait(minutes=30)
    assert chat.private_to("ali") == []
    await chat.say("anim", "/cercle relance 1000")
    assert chat.refused == "circle.bad_nudge"
