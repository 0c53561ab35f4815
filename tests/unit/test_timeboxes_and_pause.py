"""Time boxes driven by a manual clock, and pausing."""

from __future__ import annotations

from tests.conversation import Chat, start_circle


async def test_pause_stops_the_clocks(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("anim", "/seance phase suivante")
    await chat.wait(minutes=1)
    await chat.say("anim", "/seance pause")
    assert await chat.wait(minutes=10) == [] or chat.public() == []
    await chat.say("anim", "/seance reprendre")
    assert "Parole : anim (1 min 00 s) · reste 1 min 00 s" in (chat.status() or "")
    await chat.wait(seconds=59)
    assert "Temps écoulé" not in chat.text
    await chat.wait(seconds=1)
    assert "Temps écoulé pour anim (2 min 00 s)." in chat.public()


async def test_phase_end_is_announced_once(chat: Chat) -> None:
    await start_circle(chat, protocol="meteo")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("anim", "/fini")
    await chat.wait(minutes=15)
    assert chat.public() == [
        "Le temps prévu pour « Météo » est écoulé. Suite avec /seance phase suivante."
    ]
    await chat.wait(minutes=15)
    assert chat.public() == []


async def test_one_big_clock_jump_equals_living_through_it(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance phase suivante")
    await chat.wait(minutes=7)  # three 2-minute round turns run out in order
    spoke = [t for t in chat.public() if t.startswith("Temps écoulé")]
    assert spoke == [
        "Temps écoulé pour anim (2 min 00 s).",
        "Temps écoulé pour alice (2 min 00 s).",
        "Temps écoulé pour bob (2 min 00 s).",
    ]


async def test_queue_turn_over_is_only_a_notice(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="codev")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("anim", "/seance phase suivante")  # clarification: queue, 2 min turns
    await chat.say("alice", "/tour")
    await chat.wait(minutes=3)
    assert "alice, votre temps de parole est écoulé." in chat.public()
    assert "Parole : alice" in (chat.status() or "")
