"""The open floor: /tour, /passe, /fini, /suivant, fair and arrival order."""

from __future__ import annotations

from tests.conversation import Chat, start_circle


async def open_floor(chat: Chat, *names: str) -> None:
    await start_circle(chat, *names, protocol="libre")
    await chat.say("anim", "/seance phase suivante")


async def test_first_hand_gets_the_floor_at_once(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    assert chat.public() == ["alice, vous avez la parole."]


async def test_asking_twice_tells_the_position_and_adds_nothing(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob", "carla")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    assert chat.private_to("bob") == ["C'est noté : vous êtes n° 1 dans la file."]
    await chat.say("carla", "/tour")
    await chat.say("bob", "/tour")
    assert chat.private_to("bob") == ["Vous êtes déjà dans la file, en position 1."]
    assert "File : 1. bob, 2. carla" in (chat.status() or "")
    await chat.say("alice", "/tour")
    assert chat.private_to("alice") == [
        "Vous avez déjà la parole. Tapez /fini quand vous avez terminé."
    ]


async def test_fair_order_puts_who_spoke_less_first(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob", "carla")
    await chat.say("alice", "/tour")
    await chat.wait(minutes=3)
    await chat.say("alice", "/fini")
    await chat.say("bob", "/tour")
    await chat.wait(minutes=1)
    await chat.say("alice", "/tour")  # alice: 3 min spoken, arrived first
    await chat.say("carla", "/tour")  # carla: 0 min spoken, arrived after
    assert "File : 1. carla, 2. alice" in (chat.status() or "")
    await chat.say("bob", "/fini")
    assert chat.public()[-1] == "carla, vous avez la parole."


async def test_arrival_order_when_the_circle_asks_for_it(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob", "carla")
    await chat.say("anim", "/cercle ordre arrivee")
    await chat.say("alice", "/tour")
    await chat.wait(minutes=3)
    await chat.say("alice", "/fini")
    await chat.say("bob", "/tour")
    await chat.say("alice", "/tour")
    await chat.say("carla", "/tour")
    assert "File : 1. alice, 2. carla" in (chat.status() or "")


async def test_fini_hands_over_and_reports_the_time(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    await chat.wait(seconds=95)
    await chat.say("alice", "/fini")
    assert chat.public() == ["alice a terminé (1 min 35 s).", "bob, vous avez la parole."]


async def test_passe_leaves_the_queue(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    await chat.say("bob", "/passe")
    assert chat.private_to("bob") == ["Vous avez quitté la file."]
    await chat.say("alice", "/fini")
    assert chat.public()[-1] == "La parole est libre : /tour pour la demander."


async def test_suivant_is_for_facilitators(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    await chat.say("bob", "/suivant")
    assert chat.refused == "permission.facilitator_only"
    assert chat.private_to("bob") == [
        "Seuls les animateurs et animatrices du cercle peuvent utiliser /suivant."
    ]
    await chat.say("anim", "/suivant")
    assert chat.public()[-1] == "bob, vous avez la parole."


async def test_fini_from_someone_not_speaking_is_refused(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/fini")
    assert chat.refused == "turn.not_speaking"
    assert "Parole : alice" in (chat.status() or "")


async def test_motive_is_kept_but_not_shown_publicly(chat: Chat) -> None:
    await open_floor(chat, "alice", "bob")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour une question sur le budget")
    assert chat.private_to("bob") == [
        "C'est noté : vous êtes n° 1 dans la file, pour « une question sur le budget » "
        "(l'animation le voit dans /file)."
    ]
    assert all("budget" not in t for t in chat.public())
    assert "budget" not in (chat.status() or "")
