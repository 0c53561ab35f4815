"""The scripted cycle of issue 12, in every store: what members say between two séances is
collected, shown to the right people at the right moment, carried into the next séance, and
exported."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.effects import FilePost, Reply
from bot.ports import UnitOfWorkFactory
from tests.conversation import Chat, user
from tests.storage.test_between_storage import db, migrated_template

__all__ = ["db", "migrated_template"]  # fixtures shared with the storage tests


def seen_by(chat: Chat, name: str) -> list[str]:
    """What one person alone was told by the last command or wait."""
    return [e.text for e in chat.last if isinstance(e, Reply) and e.private and e.to == user(name)]


async def until(chat: Chat, instant: datetime) -> None:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())


async def test_a_cycle_between_two_seances(db: UnitOfWorkFactory) -> None:
    chat = Chat(db)
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "anim: /cercle rappels reponses oui",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "chloe: /present",
        "dan: /present",
        "eve: /present",
        "alice: /action Relancer le conseil échéance 2026-12-14",
        "bob: /action Écrire au réseau rural",
        "anim: /decision On se retrouve le 17",
        "anim: /seance fin",
        "anim: /seance planifier 2026-12-17 14:00 | | Qu'avez-vous essayé depuis ?",
    )

    # four cases proposed and voted; bob's is chosen and attached to séance 2
    await chat.script(
        "alice: /cas proposer Déléguer la compta",
        "bob: /cas proposer Un salarié qui décroche",
        "chloe: /cas proposer Parler argent avec un client",
        "dan: /cas proposer Un conseil qui ne décide rien",
        "alice: /cas voter 2",
        "chloe: /cas voter 2",
        "chloe: /cas voter 2",
        "dan: /cas voter 1",
        "eve: /cas voter 4",
    )
    await chat.say("eve", "/cas voter 5")
    assert chat.refused == "cases.unknown"
    await chat.script("anim: /cas choisir")
    assert chat.public() == [
        "Séance 2 (jeudi 17 décembre 2026 à 14:00) : le cas de bob — Un salarié qui décroche "
        "(3 voix). bob tiendra l'exposé, le contrat et le plan d'action.",
        "Les voix repartent à zéro pour choisir le cas suivant : les cas qui en avaient "
        "(n° 1, n° 4) restent proposés, votez à nouveau avec /cas voter <n>.",
    ]

    # two days before its due date, alice is reminded of her action; it is blocked, then done
    await until(chat, datetime(2026, 12, 12, 8, 0, tzinfo=UTC))
    (reminder,) = seen_by(chat, "alice")
    assert reminder.startswith("Rappel : votre action n° 1 « Relancer le conseil »")
    assert reminder not in "\n".join(chat.public())
    await chat.script("alice: /action bloque 1 le budget n'est pas voté")
    assert chat.public()[0] == "Action n° 1 bloquée : Relancer le conseil (alice)."

    # the preparation question; alice shares her answer, bob keeps his private
    await until(chat, datetime(2026, 12, 14, 13, 0, tzinfo=UTC))
    assert chat.public() == [
        "Pour préparer la séance 2 (jeudi 17 décembre 2026 à 14:00), une question : "
        "Qu'avez-vous essayé depuis ?"
    ]
    await chat.script(
        "alice: /prepa J'ai confié les factures à Léa",
        "alice: /prepa partager",
        "bob: /prepa Rien, et je m'en veux",
        "alice: /action fait 1",
        "dan: /presence non",
        "eve: /presence non",
        "chloe: /presence peut-etre",
    )

    # the day before: chloe alone is reminded; the facilitator sees who comes
    await until(chat, datetime(2026, 12, 16, 13, 0, tzinfo=UTC))
    assert chat.public() == [
        "Rappel : séance 2 demain, jeudi 17 décembre 2026 à 14:00 — sujet : Un salarié qui "
        "décroche. Empêché·e ? Tapez /excuse 2.",
    ]
    assert [v.text for v in chat.live("rsvp")] == [  # names who comes, never who does not
        "Serez-vous là à la séance 2 (jeudi 17 décembre 2026 à 14:00) ?\n"
        "Répondez /presence oui, non ou peut-etre.\n"
        "Réponses — oui : 0 · peut-être : 1 (chloe) · non : 2"
    ]
    assert seen_by(chat, "anim") == [
        "Présences annoncées pour la séance 2 :\n"
        "- oui : 0 (—)\n"
        "- peut-être : 1 (chloe)\n"
        "- non : 2 (dan, eve)\n"
        "- sans réponse : 3 (anim, alice, bob)"
    ]
    assert seen_by(chat, "chloe") == [
        "La séance 2 a lieu demain et vous n'avez pas encore répondu à la question de "
        "préparation : Qu'avez-vous essayé depuis ?. Répondez avec /prepa <texte> (visible par "
        "l'animation seulement, sauf si vous la partagez)."
    ]
    for name in ("alice", "bob", "dan", "eve"):
        assert seen_by(chat, name) == [], name

    # séance 2 opens: answers to the right people, then the look back, then bob's exposé
    await until(chat, datetime(2026, 12, 17, 13, 0, tzinfo=UTC))
    await chat.script("anim: /seance")
    assert chat.public()[1] == (
        "Réponses partagées avec le cercle pour préparer la séance 2 (1) :\n"
        "- alice : J'ai confié les factures à Léa"
    )
    assert "je m'en veux" not in "\n".join(chat.public())
    assert seen_by(chat, "anim") == [
        "Réponses à la préparation de la séance 2 (2) :\n"
        "- alice (partagée) : J'ai confié les factures à Léa\n"
        "- bob : Rien, et je m'en veux"
    ]
    assert seen_by(chat, "bob") == []
    await chat.script("anim: /seance phase suivante")
    assert chat.public()[0] == (  # before the phase and its first speaker
        "Retour sur la séance 1\n"
        "Décisions :\n"
        "- #3 On se retrouve le 17\n"
        "Actions ouvertes (1) :\n"
        "- #2 Écrire au réseau rural — bob"
    )
    await chat.script("anim: /seance phase suivante")
    assert chat.texts[-1] == "bob, vous avez la parole."

    # the export holds it all
    await chat.script("anim: /export json")
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    data: dict[str, Any] = json.loads(file.content)
    second = data["seances"][1]
    assert [(a["name"], a["shared"]) for a in second["preparation"]] == [
        ("alice", True),
        ("bob", False),
    ]
    assert sorted((r["name"], r["answer"]) for r in second["rsvps"]) == [
        ("chloe", "maybe"),
        ("dan", "no"),
        ("eve", "no"),
    ]
    assert second["attendance"]["console:dan"] == "excused"
    action = next(i for i in data["items"] if i["number"] == 1)
    assert (action["progress"], action["progress_note"]) == ("blocked", "le budget n'est pas voté")
    assert action["done_at"] is not None
    assert [(c["number"], c["status"], c["seance"]) for c in data["cases"]] == [
        (1, "open", None),
        (2, "chosen", 2),
        (3, "open", None),
        (4, "open", None),
    ]
    assert data["cases"][1]["votes"] == {"console:alice": 1, "console:chloe": 2}
