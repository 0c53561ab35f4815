"""The right séance opens: the one planned for now, or the one asked for by number or date.

The conversation starts on Thursday 3 December 2026, 14:00 in Paris."""

from __future__ import annotations

from bot.domain.seance import SeanceStatus
from tests.conversation import Chat
from tests.fakes import MemoryDatabase


def planned_one(db: MemoryDatabase, number: int = 1) -> SeanceStatus:
    return next(s.status for s in db.store.seances.values() if s.number == number)


async def test_a_seance_planned_days_away_is_not_opened_instead(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script("anim: /cercle creer Atelier", "anim: /seance planifier 10/12 14h")
    await chat.say("anim", "/seance")
    assert chat.refused == "seance.planned_not_now"
    assert chat.text == (
        "La séance 1 est planifiée le jeudi 10 décembre 2026 à 14:00, pas maintenant. "
        "Pour l'ouvrir quand même : /seance 1. "
        "Pour une séance supplémentaire non planifiée : /seance extra."
    )
    assert planned_one(memory_db) is SeanceStatus.PLANNED
    await chat.say("anim", "/seance extra")
    assert chat.refused is None
    # today's extra séance comes first in the calendar; the planned one is now the second
    assert chat.public()[0].startswith("Séance 1 du cercle")
    assert planned_one(memory_db, 2) is SeanceStatus.PLANNED


async def test_a_planned_seance_opens_by_number_or_date(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /seance planifier 10/12 14h",
        "anim: /seance planifier 17/12 14h",
    )
    await chat.say("anim", "/seance 17/12")
    assert chat.refused is None
    assert chat.public()[0].startswith("Séance 2 du cercle")


async def test_the_seance_planned_for_now_opens(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Atelier", "anim: /seance planifier 10/12 14h")
    await chat.wait(days=7, hours=-1)  # 13:00, an hour early
    await chat.say("anim", "/seance")
    assert chat.refused is None
    assert chat.public()[0].startswith("Séance 1 du cercle")


async def test_excuse_and_recap_take_a_date(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /seance planifier 10/12 14h",
        "ali: /excuse 10/12",
    )
    assert chat.private_to("ali") != []
    await chat.say("ali", "/excuse 11/12")
    assert chat.refused == "seance.none_on_day"


async def test_libre_starts_at_once(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Atelier", "anim: /cercle protocole libre")
    await chat.say("anim", "/seance")
    await chat.say("ali", "/tour")
    assert chat.public() == ["ali, vous avez la parole."]


async def test_a_hand_raised_before_the_first_phase_waits_for_it(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Atelier", "anim: /seance", "ali: /tour")
    assert chat.private_to("ali") == [
        "C'est noté : vous aurez la parole à la prochaine phase de parole libre."
    ]


async def test_numbers_follow_the_calendar_without_gaps(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /seance planifier 10/12 14h",
        "anim: /seance planifier 17/12 14h",
    )
    await chat.say("anim", "/seance planifier 8/12 14h")
    assert chat.public() == [
        "Séance 1 planifiée le mardi 8 décembre 2026 à 14:00 (heure de Paris).",
        # the others' numbers change: said, since people know them by their numbers
        "Les numéros suivent le calendrier : la séance du jeudi 10 décembre 2026 à 14:00 devient "
        "la n° 2 (avant : n° 1) ; la séance du jeudi 17 décembre 2026 à 14:00 devient la n° 3 "
        "(avant : n° 2).",
    ]
    await chat.say("anim", "/seance annuler 10/12")
    assert chat.public() == [
        "La séance 2 est annulée.",
        "Les numéros suivent le calendrier : la séance du jeudi 17 décembre 2026 à 14:00 devient "
        "la n° 2 (avant : n° 3).",
    ]
    await chat.say("anim", "/seance liste")
    listing = chat.text
    assert "n° 1 — mardi 8 décembre 2026 à 14:00\nn° 2 — jeudi 17 décembre" in listing
    numbers = {
        s.planned_at.day: s.number
        for s in memory_db.store.seances.values()
        if s.planned_at is not None
    }
    assert numbers == {8: 1, 17: 2, 10: 3}  # the cancelled one last, no gap
