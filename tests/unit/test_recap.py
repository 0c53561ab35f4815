"""The recap: numbers from the séance that produced them, in both languages."""

from __future__ import annotations

from tests.conversation import Chat, start_circle


async def run_seance(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/cercle protocole libre")
    for name in ("alice", "bob", "carla", "dan"):
        await chat.say(name, "/aide")  # joins the roster
    await chat.say("anim", "/seance")
    await chat.say("dan", "/excuse")
    await chat.say("alice", "/present")
    await chat.say("bob", "/present")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("alice", "/tour")
    await chat.say("bob", "/tour")
    await chat.wait(seconds=125)
    await chat.say("alice", "/fini")
    await chat.wait(seconds=61)
    await chat.say("anim", "/suivant")
    await chat.say("alice", "/tour")
    await chat.wait(seconds=30)
    await chat.say("alice", "/fini")
    await chat.say("alice", "/note Garder une heure par semaine pour le stratégique")
    await chat.say("anim", "/decision On se revoit dans deux semaines")
    await chat.say("bob", "/action @alice Appeler la fédération échéance 2027-01-15")
    await chat.say("bob", "/action Relire les statuts")
    await chat.say("anim", "/seance fin")


async def test_recap_numbers_match_the_seance(chat: Chat) -> None:
    await run_seance(chat)
    (recap,) = chat.recaps()
    assert recap.splitlines()[0] == "## Récapitulatif — Cercle ESS, séance 1/1"
    assert "jeudi 3 décembre 2026 à 14:00 – 14:03 (3 min 36 s)" in recap
    assert "- Présent·es (3) : anim, alice, bob" in recap
    assert "- Excusé·es (1) : dan" in recap
    assert "- Absent·es (1) : carla" in recap
    assert "- Parole libre : — / 3 min 36 s" in recap
    assert "- alice : 2 min 35 s (2 tours)" in recap
    assert "- bob : 1 min 01 s (1 tour)" in recap
    assert "- anim : 0 s (0 tour)" in recap
    assert "- #2 On se revoit dans deux semaines" in recap
    assert (
        "- #3 Appeler la fédération — responsable : alice, échéance : vendredi 15 janvier 2027"
        in recap
    )
    assert "- #4 Relire les statuts — responsable : bob" in recap
    assert "- #1 Garder une heure par semaine pour le stratégique" in recap
    assert recap.rstrip().endswith("Aucune séance suivante n'est prévue pour l'instant.")


async def test_recap_in_english(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Circle")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session")
    await chat.say("alice", "/here")
    await chat.say("anim", "/session end")
    (recap,) = chat.recaps()
    assert recap.splitlines()[0] == "## Recap — Circle, session 1/1"
    assert "- Present (2): anim, alice" in recap
    assert "- Nobody took the floor." in recap


async def test_recap_holds_nothing_said_in_the_channel(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("alice", "/tour mon souci avec le conseil d'administration")
    await chat.say("anim", "/seance fin")
    (recap,) = chat.recaps()
    assert "conseil" not in recap
