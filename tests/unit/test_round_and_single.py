"""The check-in round (tour de table) and single-speaker phases."""

from __future__ import annotations

from tests.conversation import Chat, start_circle


async def test_round_goes_through_present_people_in_roster_order(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", "carla")
    await chat.say("anim", "/seance phase suivante")  # meteo: a round
    assert chat.public()[-1] == "anim, vous avez la parole (2 min 00 s)."
    assert "Tour : 1. alice, 2. bob, 3. carla" in (chat.status() or "")
    await chat.say("anim", "/fini")
    assert chat.public()[-1] == "alice, vous avez la parole (2 min 00 s)."


async def test_each_may_pass_in_a_round(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", "carla")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("bob", "/passe")  # before their turn
    assert chat.public() == ["bob passe son tour."]
    await chat.say("anim", "/fini")
    await chat.say("alice", "/passe")  # during their turn
    assert chat.public() == ["alice passe.", "carla, vous avez la parole (2 min 00 s)."]


async def test_late_arrival_joins_the_end_of_the_round(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("zoe", "/present")
    assert "Tour : 1. alice, 2. bob, 3. zoe" in (chat.status() or "")


async def test_round_turn_that_runs_out_moves_on(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("anim", "/seance phase suivante")
    said = [e for e in await chat.wait(minutes=2)]
    assert chat.private_to("anim") == ["Il vous reste 24 s de temps de parole."]
    assert "Temps écoulé pour anim (2 min 00 s)." in chat.public()
    assert chat.public()[-1] == "alice, vous avez la parole (2 min 00 s)."
    assert said


async def test_round_complete_is_announced(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("anim", "/fini")
    await chat.say("alice", "/fini")
    assert chat.public()[-1] == "Le tour de table est terminé. Suite avec /seance phase suivante."


async def test_tour_in_a_round_tells_your_place(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("bob", "/tour")
    assert chat.private_to("bob") == ["Vous êtes dans le tour, en position 2."]


async def test_single_phase_gives_floor_to_the_case_owner_others_wait(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", protocol="codev")
    await chat.say("anim", "/seance cas @alice")
    await chat.say("anim", "/seance phase suivante")  # retour (round)
    await chat.say("anim", "/seance phase suivante")  # exposé (single)
    assert chat.public()[-1] == "alice, vous avez la parole."
    await chat.say("bob", "/tour")
    assert chat.private_to("bob") == [
        "C'est noté : vous aurez la parole à la prochaine phase de parole libre."
    ]
    await chat.say("anim", "/seance phase suivante")  # clarification (queue)
    assert chat.public()[-1] == "bob, vous avez la parole (2 min 00 s)."


async def test_adhoc_round_and_open_floor(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("anim", "/seance phase tour")
    assert chat.public()[0].startswith("Phase : Tour de table.")
    await chat.say("anim", "/seance phase libre")
    assert (
        chat.public()[0]
        == "« Tour de table » s'arrête avant la fin du tour. Sans prise de parole : alice."
    )
    assert chat.public()[1].startswith("Phase : Parole libre.")
    await chat.say("anim", "/seance phase unique")
    assert chat.refused == "phase.single_needs_speaker"


async def test_no_more_protocol_phases(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("anim", "/seance phase suivante")
    assert chat.refused == "phase.no_more"
