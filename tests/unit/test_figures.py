"""Figures match what happened: long turns nudged, turn lengths corrected, fair-queue moves
explained, /fini after the time ran out, round order, open actions with their numbers."""

from __future__ import annotations

from tests.conversation import Chat, start_circle
from tests.fakes import MemoryDatabase


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


async def test_fini_after_the_time_ran_out_says_so(chat: Chat) -> None:
    await start_circle(chat, "ali", "eva")
    await chat.say("anim", "/seance phase suivante")  # météo round, 2 minutes each
    await chat.say("anim", "/fini")
    await chat.wait(minutes=2)  # ali's time runs out, the floor moves on to eva
    await chat.say("ali", "/fini")
    assert chat.refused == "turn.time_was_up"
    assert chat.text == (
        "Votre temps de parole était déjà écoulé : la parole est passée à la suite."
    )


async def test_someone_moved_back_in_the_fair_queue_is_told_why(chat: Chat) -> None:
    await start_circle(chat, "ali", "eva", "noa", protocol="libre")
    await chat.say("ali", "/tour")
    await chat.wait(minutes=2)
    await chat.say("ali", "/fini")
    await chat.say("noa", "/tour")  # noa speaks now
    await chat.say("ali", "/tour")  # ali waits, first in the queue
    await chat.say("eva", "/tour")  # eva has not spoken: she goes before ali
    assert chat.private_to("eva") == ["C'est noté : vous êtes n° 1 dans la file."]
    assert chat.private_to("ali") == [
        "eva passe avant vous : la file donne la priorité à qui a moins parlé pendant cette "
        "séance. Vous êtes maintenant n° 2."
    ]


async def test_rounds_can_put_the_facilitation_last(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "ali", "eva")
    await chat.say("anim", "/cercle ronde animation-derniere")
    assert chat.public() == ["Tours de table : les participant·es d'abord, l'animation en dernier."]
    await chat.say("anim", "/seance phase suivante")
    seance = next(iter(memory_db.store.seances.values()))
    assert [u.id for u in seance.round_order] == ["ali", "eva", "anim"]


async def test_shuffled_rounds_keep_everyone(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "ali", "eva", "noa")
    await chat.say("anim", "/cercle ronde hasard")
    await chat.say("anim", "/seance phase suivante")
    seance = next(iter(memory_db.store.seances.values()))
    assert sorted(u.id for u in seance.round_order) == ["ali", "anim", "eva", "noa"]


async def test_actions_lists_open_actions_with_their_numbers(chat: Chat) -> None:
    await start_circle(chat, "ali", "eva")
    await chat.script(
        "ali: /action relancer le conseil échéance 15/12",
        "eva: /action appeler le réseau",
        "anim: /action @eva préparer le budget",
        "eva: /action fait 2",
    )
    await chat.say("eva", "/actions")
    assert chat.private_to("eva") == [
        "Vos actions ouvertes :\n"
        "n° 3 — préparer le budget (eva)\n"
        "Une action est faite ? Tapez /action fait <n°>."
    ]
    await chat.say("anim", "/actions")
    assert chat.private_to("anim") == [
        "Actions ouvertes du cercle :\n"
        "n° 1 — relancer le conseil (ali, échéance : mardi 15 décembre 2026)\n"
        "n° 3 — préparer le budget (eva)\n"
        "Une action est faite ? Tapez /action fait <n°>."
    ]
    await chat.say("noa", "/actions")
    assert chat.private_to("noa") == ["Vous n'avez aucune action ouverte."]


async def test_the_bilan_never_cuts_names(chat: Chat) -> None:
    long_name = "Marie-Christine de la Fontaine-Dupont"
    await start_circle(chat, long_name, protocol="libre")
    await chat.say(long_name, "/tour")
    await chat.wait(minutes=1)
    await chat.say(long_name, "/fini")
    await chat.say("anim", "/seance fin")
    await chat.say("anim", "/bilan")
    assert chat.text.count(long_name) >= 2  # in the attendance and the equity grids
    assert "…" not in chat.text
