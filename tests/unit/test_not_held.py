"""Only séances that happened count: nobody came, or the facilitation says it did not happen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.seance import Seance, SeanceStatus
from tests.conversation import Chat
from tests.fakes import MemoryDatabase


def seance_of(db: MemoryDatabase, number: int) -> Seance:
    return next(s for s in db.store.seances.values() if s.number == number)


async def test_an_auto_opened_seance_nobody_joined_is_not_held(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "ali: /aide",
        "anim: /cercle rappels ouverture auto",
        "anim: /cercle rappels fermeture 30m",
        "anim: /seance planifier 10/12 14h",
    )
    await chat.wait(days=7)
    assert seance_of(memory_db, 1).status is SeanceStatus.OPEN
    said = await chat.wait(hours=2)
    assert chat.public() == [
        "Séance 1 fermée sans personne : elle est comptée comme non tenue "
        "(pas de récapitulatif, pas d'absences)."
    ]
    assert said
    assert chat.recaps() == []
    seance = seance_of(memory_db, 1)
    assert seance.status is SeanceStatus.NOT_HELD
    assert seance.attendance == {}
    await chat.say("anim", "/bilan")
    assert "ali" not in chat.text or "absent" not in chat.text


async def test_auto_closed_seance_ends_at_its_planned_end(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /cercle protocole libre",
        "anim: /cercle rappels fermeture 30m",
        "anim: /seance",
        "ali: /tour",
    )
    opened = chat.clock.now()
    await chat.wait(hours=5)  # nobody said /fini, nobody closed it
    seance = seance_of(memory_db, 1)
    assert seance.status is SeanceStatus.CLOSED
    # libre has no time box: the expected length is two hours
    assert seance.closed_at == opened + timedelta(hours=2)
    assert seance.turns[-1].ended_at == opened + timedelta(hours=2)


async def test_a_facilitator_marks_a_closed_seance_not_held(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier", "anim: /seance", "ali: /present", "anim: /seance fin"
    )
    await chat.say("anim", "/seance nontenue 1")
    assert chat.public() == [
        "Séance 1 marquée comme non tenue : elle ne compte plus dans le bilan."
    ]
    assert seance_of(memory_db, 1).status is SeanceStatus.NOT_HELD
    await chat.say("anim", "/seance nontenue 1")
    assert chat.refused == "seance.not_closed_yet"


async def test_a_planned_seance_is_edited_without_cancelling(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "ali: /aide",
        "anim: /seance planifier 10/12 14h | Déléguer",
    )
    await chat.say("anim", "/seance modifier 10/12 sujet Coopérer avec ses clients")
    assert chat.public() == ["Séance 1 : sujet → Coopérer avec ses clients"]
    await chat.say("anim", "/seance modifier 1 cas @ali")
    assert chat.public() == ["Séance 1 : cas (personne qui l'apporte) → ali"]
    seance = seance_of(memory_db, 1)
    assert seance.subject == "Coopérer avec ses clients"
    assert seance.status is SeanceStatus.PLANNED
    assert seance.planned_at == datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
