"""Issue 12's scripted cycle, as the five members of a circle live it between two séances and
into the next one: at each step, what each person sees — in the channel, and alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.effects import FilePost, Reply
from tests.conversation import Chat, user

MEMBERS = ("anim", "alice", "bob", "chloe", "dan", "eve")


def alone(chat: Chat) -> dict[str, list[str]]:
    """What each person was told alone by the last command or wait (nobody: left out)."""
    seen = {
        name: [
            e.text for e in chat.last if isinstance(e, Reply) and e.private and e.to == user(name)
        ]
        for name in MEMBERS
    }
    return {name: texts for name, texts in seen.items() if texts}


async def until(chat: Chat, instant: datetime) -> None:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())


async def test_a_cycle_between_two_seances_as_each_member_sees_it(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "anim: /cercle rappels reponses oui",
        "anim: /seance",
        *(f"{name}: /present" for name in MEMBERS[1:]),
        "alice: /action Relancer le conseil échéance 2026-12-14",
        "bob: /action Écrire au réseau rural",
        "anim: /decision On se retrouve le 17",
        "anim: /seance fin",
        "anim: /seance planifier 2026-12-17 14:00 | | Qu'avez-vous essayé depuis ?",
    )

    # Four cases proposed and voted, in the channel; votes are answered privately.
    await chat.script(
        "alice: /cas proposer Déléguer la compta",
        "bob: /cas proposer Un salarié qui décroche",
        "chloe: /cas proposer Parler argent avec un client",
        "dan: /cas proposer Un conseil qui ne décide rien",
    )
    assert chat.public() == [
        "Cas n° 4 proposé par dan : Un conseil qui ne décide rien. Votez avec /cas voter 4."
    ]
    await chat.say("chloe", "/cas voter 2")
    assert chat.public() == []
    assert alone(chat) == {
        "chloe": [
            "Voix comptée pour le cas n° 2 (Un salarié qui décroche) : 1 voix en tout. "
            "Il vous en reste 2."
        ]
    }
    await chat.script("alice: /cas voter 2", "chloe: /cas voter 2", "dan: /cas voter 1")
    await chat.say("eve", "/cas voter 5")
    assert chat.refused == "cases.unknown"
    assert alone(chat) == {"eve": ["Il n'y a pas de cas ouvert n° 5 : /cas les liste."]}
    await chat.say("anim", "/cas choisir")
    assert chat.public() == [
        "Séance 2 (jeudi 17 décembre 2026 à 14:00) : le cas de bob — Un salarié qui décroche "
        "(3 voix). bob tiendra l'exposé, le contrat et le plan d'action.",
        "Les voix repartent à zéro pour choisir le cas suivant : les cas qui en avaient (n° 1) "
        "restent proposés, votez à nouveau avec /cas voter <n>.",
    ]
    chosen, _reset = [e for e in chat.last if isinstance(e, Reply) and not e.private]
    assert chosen.mentions == (user("bob"),)
    assert alone(chat) == {}

    # Two days before its due date, alice alone is reminded; blocked, then done.
    await until(chat, datetime(2026, 12, 12, 8, 0, tzinfo=UTC))
    assert alone(chat) == {
        "alice": [
            "Rappel : votre action n° 1 « Relancer le conseil » est prévue pour le lundi "
            "14 décembre 2026. Où en êtes-vous ? /action fait 1, /action encours 1, "
            "/action bloque 1 [mot] ou /action aide 1 [mot]."
        ]
    }
    await chat.say("alice", "/action bloque 1 le budget n'est pas voté")
    assert chat.public() == [
        "Action n° 1 bloquée : Relancer le conseil (alice).",
        "« le budget n'est pas voté »",
    ]

    # The preparation question; alice shares her answer, bob keeps his, chloe says nothing.
    await until(chat, datetime(2026, 12, 14, 13, 0, tzinfo=UTC))
    assert chat.public() == [
        "Pour préparer la séance 2 (jeudi 17 décembre 2026 à 14:00), une question : "
        "Qu'avez-vous essayé depuis ?"
    ]
    recorded = (
        "Réponse enregistrée pour la séance 2 (visible par l'animation seulement). Vous "
        "pouvez la réécrire jusqu'à l'ouverture ; /prepa partager la montre au cercle."
    )
    await chat.say("alice", "/prepa J'ai confié les factures à Léa")
    assert (chat.public(), alone(chat)) == ([], {"alice": [recorded]})
    await chat.say("alice", "/prepa partager")
    assert alone(chat) == {
        "alice": ["Votre réponse pour la séance 2 est maintenant visible par tout le cercle."]
    }
    await chat.say("bob", "/prepa Rien, et je m'en veux")
    assert (chat.public(), alone(chat)) == ([], {"bob": [recorded]})
    await chat.say("alice", "/action fait 1")
    assert chat.public() == ["Action n° 1 faite : Relancer le conseil (alice)."]

    # Two say no (an excuse), one maybe; each hears it alone.
    for name in ("dan", "eve"):
        await chat.say(name, "/presence non")
        assert chat.public() == []
        assert alone(chat) == {
            name: [
                "C'est noté : vous êtes excusé·e pour la séance 2 (jeudi 17 décembre 2026 à 14:00)."
            ]
        }
    await chat.say("chloe", "/presence peut-etre")
    assert alone(chat) == {
        "chloe": [
            "C'est noté : peut-être pour la séance 2 (jeudi 17 décembre 2026 à 14:00). "
            "Vous pourrez confirmer avec /presence oui ou non."
        ]
    }

    # The day before: the channel is reminded, the facilitation sees who comes, and chloe alone
    # (no answer, not excused) is reminded of the question.
    await until(chat, datetime(2026, 12, 16, 13, 0, tzinfo=UTC))
    assert chat.public() == [
        "Rappel : séance 2 demain, jeudi 17 décembre 2026 à 14:00 — sujet : Un salarié qui "
        "décroche. Empêché·e ? Tapez /excuse 2.",
    ]
    assert [v.text for v in chat.live("rsvp")] == [  # kept up to date as answers come in
        "Serez-vous là à la séance 2 (jeudi 17 décembre 2026 à 14:00) ?\n"
        "Répondez /presence oui, non ou peut-etre.\n"
        "Réponses — oui : 0 · peut-être : 1 (chloe) · non : 2"
    ]
    assert alone(chat) == {
        "anim": [
            "Présences annoncées pour la séance 2 :\n"
            "- oui : 0 (—)\n"
            "- peut-être : 1 (chloe)\n"
            "- non : 2 (dan, eve)\n"
            "- sans réponse : 3 (anim, alice, bob)"
        ],
        "chloe": [
            "La séance 2 a lieu demain et vous n'avez pas encore répondu à la question de "
            "préparation : Qu'avez-vous essayé depuis ?. Répondez avec /prepa <texte> (visible "
            "par l'animation seulement, sauf si vous la partagez)."
        ],
    }

    # Séance 2 opens with bob's case: the circle sees alice's shared answer, the facilitation
    # both; the first phase looks back; the exposé goes to bob without /seance cas.
    await until(chat, datetime(2026, 12, 17, 13, 0, tzinfo=UTC))
    await chat.say("anim", "/seance")
    assert chat.public()[1] == (
        "Réponses partagées avec le cercle pour préparer la séance 2 (1) :\n"
        "- alice : J'ai confié les factures à Léa"
    )
    assert "je m'en veux" not in "\n".join(chat.public())
    assert alone(chat) == {
        "anim": [
            "Réponses à la préparation de la séance 2 (2) :\n"
            "- alice (partagée) : J'ai confié les factures à Léa\n"
            "- bob : Rien, et je m'en veux"
        ]
    }
    await chat.script("alice: /present", "bob: /present", "chloe: /present")
    await chat.say("anim", "/seance phase suivante")
    assert chat.public()[0] == (  # before the phase and its first speaker
        "Retour sur la séance 1\n"
        "Décisions :\n"
        "- #3 On se retrouve le 17\n"
        "Actions ouvertes (1) :\n"
        "- #2 Écrire au réseau rural — bob"
    )
    await chat.script("anim: /passe", "alice: /passe", "bob: /passe", "chloe: /passe")
    await chat.say("anim", "/seance phase suivante")
    assert chat.public()[-1] == "bob, vous avez la parole."
    await chat.wait(minutes=6)
    await chat.script("bob: /fini", "anim: /seance phase suivante", "alice: /tour", "chloe: /tour")
    await chat.wait(minutes=2)

    # A hand raised in the clarification does not carry into the contract.
    await chat.say("anim", "/seance phase suivante")
    assert chat.public()[1:] == [
        "Nouvelle phase : les mains levées à la phase précédente sont baissées (chloe). "
        "Levez la main à nouveau avec /tour si vous voulez toujours parler.",
        "bob, vous avez la parole.",
    ]
    # In the consultation, bob listens: told kindly, alone.
    await chat.script("bob: /fini", "anim: /seance phase suivante")
    await chat.say("bob", "/tour")
    assert chat.refused == "cases.holder_listens"
    assert chat.public() == []
    assert list(alone(chat)) == ["bob"]
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    assert "- Excusé·es (2) : dan, eve" in recap
    assert "### Phases à une voix (hors part équitable)\n- bob : 6 min 00 s" in recap
    assert "### Préparation partagée\n- alice : J'ai confié les factures à Léa" in recap
    assert "je m'en veux" not in recap

    # The export holds the answers, the RSVPs, the action's progress and the cases.
    await chat.say("anim", "/export json")
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    assert file.confidential
    assert file.to == user("anim")
    data: dict[str, Any] = json.loads(file.content)
    second = data["seances"][1]
    assert [(a["name"], a["text"], a["shared"]) for a in second["preparation"]] == [
        ("alice", "J'ai confié les factures à Léa", True),
        ("bob", "Rien, et je m'en veux", False),
    ]
    assert sorted((r["name"], r["answer"]) for r in second["rsvps"]) == [
        ("chloe", "maybe"),
        ("dan", "no"),
        ("eve", "no"),
    ]
    action = next(i for i in data["items"] if i["number"] == 1)
    assert (action["progress"], action["progress_note"]) == ("blocked", "le budget n'est pas voté")
    assert action["done_at"] is not None
    assert [(c["number"], c["name"], c["status"], c["seance"]) for c in data["cases"]] == [
        (1, "alice", "open", None),
        (2, "bob", "chosen", 2),
        (3, "chloe", "open", None),
        (4, "dan", "open", None),
    ]
    assert data["cases"][1]["votes"] == {"console:alice": 1, "console:chloe": 2}
