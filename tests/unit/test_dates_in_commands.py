"""Dates mean what the person meant: every refusal, as people read it, in French and English.

The conversation starts on Thursday 3 December 2026, 14:00 in Paris."""

from __future__ import annotations

import copy

import pytest

from tests.conversation import Chat
from tests.fakes import MemoryDatabase

REFUSALS = [
    (
        "fr",
        "/seance planifier 01/12 14h",
        "Le mardi 1 décembre 2026 à 14:00 est déjà passé. Pour 2027, écrivez 01/12/2027.",
    ),
    (
        "en",
        "/session plan December 1 2pm",
        "Tuesday 1 December 2026 at 14:00 has already passed. For 2027, write 2027-12-01.",
    ),
    (
        "fr",
        "/seance planifier vendredi 10/12 14h",
        "« vendredi 10/12 14h » : le jour de la semaine ne correspond pas à la date. "
        "Vouliez-vous dire jeudi 10 décembre 2026 à 14:00 ou vendredi 11 décembre 2026 à "
        "14:00 ? Écrivez l'un ou l'autre.",
    ),
    (
        "en",
        "/session plan friday December 10 2pm",
        '"friday December 10 2pm": the day of the week does not match the date. Did you mean '
        "Thursday 10 December 2026 at 14:00 or Friday 11 December 2026 at 14:00? "
        "Write one or the other.",
    ),
    ("fr", "/seance planifier 31/02 14h", "La date « 31/02 14h » n'existe pas dans le calendrier."),
    ("en", "/session plan 31/02 2pm", 'The date "31/02 2pm" does not exist in the calendar.'),
    (
        "fr",
        "/seance planifier 9999-12-30 14h",
        "L'année 9999 est hors de portée : écrivez une date d'ici 2036.",
    ),
    (
        "en",
        "/session plan 9999-12-30 2pm",
        "The year 9999 is out of range: write a date before 2036.",
    ),
    (
        "fr",
        "/action budget échéance 01/12",
        "Le mardi 1 décembre 2026 est déjà passé. Pour 2027, écrivez 01/12/2027.",
    ),
    (
        "en",
        "/action budget due friday 10/12/2026",
        '"friday 10/12/2026": the day of the week does not match the date. Did you mean '
        "Thursday 10 December 2026 or Friday 11 December 2026? Write one or the other.",
    ),
    (
        "fr",
        "/action budget échéance 31/02",
        "La date « 31/02 » n'existe pas dans le calendrier.",
    ),
    (
        "fr",
        "/action budget échéance un jour",
        "Je ne comprends pas l'échéance « un jour ». "
        "Exemples : demain, vendredi, 15/12, le 15 décembre, fin du mois, 2026-12-15.",
    ),
    (
        "fr",
        "/cercle fuseau " + "A" * 300,
        "Je ne connais pas le lieu ou le fuseau « " + "A" * 60 + " ». Donnez une grande ville "
        "proche ou un fuseau, par exemple : /cercle fuseau Paris, /cercle fuseau Montréal, "
        "/cercle fuseau Africa/Dakar.",
    ),
]


@pytest.mark.parametrize(("lang", "text", "answer"), REFUSALS)
async def test_dates_that_cannot_be_used_are_refused_with_a_reading(
    memory_db: MemoryDatabase, lang: str, text: str, answer: str
) -> None:
    chat = Chat(memory_db)
    await chat.say("anim", "/cercle creer Atelier")
    if lang == "en":
        await chat.say("anim", "/cercle langue en")
    before = copy.deepcopy(memory_db.store)
    await chat.say("anim", text)
    assert chat.refused is not None
    assert chat.text == answer
    assert memory_db.store.seances == before.seances
    assert memory_db.store.items == before.items


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (
            "/action budget échéance demain.",
            "Action n° 1 pour anim : budget (échéance : vendredi 4 décembre 2026)",
        ),
        (
            "/action budget, pour le 15 décembre",
            "Action n° 1 pour anim : budget (échéance : mardi 15 décembre 2026)",
        ),
        (
            "/action appeler Eva avant vendredi",
            "Action n° 1 pour anim : appeler Eva (échéance : vendredi 4 décembre 2026)",
        ),
        (
            "/action préparer le terrain pour le comité;",
            "Action n° 1 pour anim : préparer le terrain pour le comité",
        ),
    ],
)
async def test_due_dates_in_words_leave_the_text(chat: Chat, text: str, answer: str) -> None:
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("anim", text)
    assert chat.public() == [answer]
