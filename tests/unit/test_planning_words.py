"""Planning as a newcomer words it: a cycle described in a sentence, subjects and questions
for each séance, a slot already planned offered for update, and confirmations that restate
the date with its time zone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.timing.cycle_words import read_cycle
from tests.conversation import Chat
from tests.fakes import MemoryDatabase


@pytest.mark.parametrize(
    ("typed", "count", "days", "when"),
    [
        ("4 2sem jeudi 14h", 4, 14, "jeudi 14h"),
        ("4 séances toutes les 2 semaines à partir du 10 décembre 14h", 4, 14, "10 décembre 14h"),
        ("quatre séances tous les quinze jours à partir du 10/12 à 14h", 4, 14, "10/12 à 14h"),
        ("un cycle de 4 séances, une fois par semaine, le mardi à 18h", 4, 7, "le mardi à 18h"),
        ("4 sessions every two weeks starting Thursday 2pm", 4, 14, "Thursday 2pm"),
        ("4 every other week from December 10 2pm", 4, 14, "December 10 2pm"),
        ("4 toutes les 2 semaines à partir d’aujourd’hui 18h", 4, 14, "aujourd'hui 18h"),
        ("4 2w thursday 2pm", 4, 14, "thursday 2pm"),
        ("3 7j 2027-03-18 18:00", 3, 7, "2027-03-18 18:00"),
        ("tous les mardis à 18h30 pendant 6 semaines", 6, 7, "mardi à 18h30"),
        ("chaque jeudi 14h sur 8 semaines", 8, 7, "jeudi 14h"),
        ("toutes les deux semaines le mardi à 18h pendant 12 semaines", 6, 14, "le mardi à 18h"),
        (
            "4 séances pendant 8 semaines à partir du mardi 8 décembre 18h",
            4,
            14,
            "mardi 8 décembre 18h",
        ),
        ("on Tuesdays 6pm for 6 weeks", 6, 7, "Tuesday 6pm"),
        ("5 les lundis 9h", 5, 7, "lundi 9h"),
    ],
)
def test_a_cycle_read_from_a_sentence(typed: str, count: int, days: int, when: str) -> None:
    words = read_cycle(typed)
    assert (words.count, words.every, words.when) == (count, timedelta(days=days), when)


async def test_a_cycle_in_natural_french_with_a_subject_per_seance(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say(
        "anim",
        "/seance cycle 4 séances toutes les 2 semaines à partir du jeudi 10 décembre 14h"
        " | Déléguer ; Recruter ; Financer ; Bilan | Quelle situation voulez-vous apporter ?",
    )
    assert chat.refused is None, chat.text
    assert chat.public() == [
        "4 séances planifiées (heure de Paris) :\n"
        "n° 1 — jeudi 10 décembre 2026 à 14:00 — sujet : Déléguer\n"
        "n° 2 — jeudi 24 décembre 2026 à 14:00 — sujet : Recruter\n"
        "n° 3 — jeudi 7 janvier 2027 à 14:00 — sujet : Financer\n"
        "n° 4 — jeudi 21 janvier 2027 à 14:00 — sujet : Bilan\n"
        "Question de préparation, envoyée 3 jours avant : Quelle situation voulez-vous "
        "apporter ?"
    ]


async def test_a_cycle_in_english_with_one_question_each(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/circle language english")
    await chat.say(
        "anim",
        "/session cycle 2 sessions every week from December 10 2pm | Hiring | What went well? ;"
        " What went wrong?",
    )
    assert chat.refused is None, chat.text
    assert chat.public() == [
        "2 sessions planned (Paris time):\n"
        "#1 — Thursday 10 December 2026 at 14:00 — topic: Hiring\n"
        "#2 — Thursday 17 December 2026 at 14:00 — topic: Hiring\n"
        "Each preparation question will be sent 3 days before its session."
    ]
    questions = sorted((s.number, s.prep_question) for s in memory_db.store.seances.values())
    assert questions == [(1, "What went well?"), (2, "What went wrong?")]


async def test_a_cycle_missing_a_part_asks_for_it_with_the_words_typed(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance cycle 4 séances jeudi 14h")
    assert chat.refused == "planning.cycle_needs_interval"
    assert chat.text == (
        "Tous les combien ? Par exemple, toutes les deux semaines : /seance cycle 4 2sem jeudi 14h"
    )
    await chat.say("anim", "/seance cycle toutes les semaines jeudi 14h")
    assert chat.text == "Combien de séances ? Par exemple : /seance cycle 4 1sem jeudi 14h"
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session cycle 4 every week")
    assert chat.text == "Starting when? For example: /session cycle 4 1w thursday 2pm"


async def test_subjects_must_match_the_seances(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance cycle 3 1sem jeudi 14h | Un ; Deux")
    assert chat.refused == "planning.subjects_count"
    assert chat.text.startswith("3 séances mais 2 sujets")
    await chat.say("anim", "/seance liste")
    assert chat.text.startswith("Aucune séance à venir")


async def test_planning_an_already_planned_slot_offers_to_update_it(
    memory_db: MemoryDatabase,
) -> None:
    chat = Chat(memory_db)
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance planifier jeudi 10 décembre 14h")
    await chat.say("anim", "/seance planifier 10/12 14h | Déléguer | Que déléguer ?")
    assert chat.refused == "planning.slot_taken_update"
    assert chat.text == (
        "La séance 1 est déjà prévue le jeudi 10 décembre 2026 à 14:00 (heure de Paris). "
        "Pour lui donner ce sujet et cette question, tapez : "
        "/seance planifier 1 | Déléguer | Que déléguer ?"
    )
    await chat.say("anim", "/seance planifier 1 | Déléguer | Que déléguer ?")
    assert chat.refused is None
    assert chat.public() == [
        "Séance 1 (jeudi 10 décembre 2026 à 14:00 (heure de Paris)) mise à jour.",
        "Sujet : Déléguer",
        "Question de préparation, envoyée 3 jours avant : Que déléguer ?",
    ]
    (seance,) = memory_db.store.seances.values()
    assert (seance.subject, seance.prep_question) == ("Déléguer", "Que déléguer ?")


async def test_planning_an_already_planned_slot_in_english(chat: Chat) -> None:
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session plan December 10 2pm")
    assert chat.public()[0] == (
        "Session 1 planned for Thursday 10 December 2026 at 14:00 (Paris time)."
    )
    await chat.say("anim", "/session plan December 10 2pm | Hiring")
    assert chat.text.endswith("To give it this topic and question, type: /session plan 1 | Hiring")
    await chat.say("anim", "/session plan 1 | Hiring")
    assert chat.public()[1] == "Topic: Hiring"


async def test_a_held_seance_keeps_its_subject(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance fin")
    await chat.say("anim", "/seance planifier 1 | Autre chose")
    assert chat.refused == "planning.not_planned_update"


async def test_a_weekly_cycle_said_with_its_weekday_and_its_length(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance cycle tous les mardis à 18h30 pendant 3 semaines")
    assert chat.refused is None, chat.text
    assert chat.public() == [
        "3 séances planifiées (heure de Paris) :\n"
        "n° 1 — mardi 8 décembre 2026 à 18:30\n"
        "n° 2 — mardi 15 décembre 2026 à 18:30\n"
        "n° 3 — mardi 22 décembre 2026 à 18:30"
    ]


async def test_a_cycle_lasting_months_asks_how_many_seances(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance cycle tous les mardis à 18h30 pendant 3 mois")
    assert chat.refused == "planning.cycle_needs_count"
    assert "/seance cycle 4 1sem mardi à 18h30" in chat.text


async def test_a_question_whose_day_has_passed_goes_out_at_once_and_says_so(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Essai")
    await chat.say("anim", "/seance planifier samedi 18h30 | Déléguer | Qu'apportez-vous ?")
    assert chat.public()[-1] == (
        "Question de préparation, envoyée maintenant (la séance est proche) : Qu'apportez-vous ?"
    )
    await chat.wait(seconds=1)
    assert chat.public() == [
        "Pour préparer la séance 1 (samedi 5 décembre 2026 à 18:30), une question : "
        "Qu'apportez-vous ?"
    ]
    await chat.say("anim", "/seance cycle 2 1sem dimanche 6 décembre 10h | | Et vous ?")
    assert chat.public()[0].endswith(
        "Question de préparation, envoyée maintenant pour la séance 2 (elle est proche), puis "
        "3 jours avant chacune des suivantes : Et vous ?"
    )


async def test_a_cycle_typed_over_its_first_planned_seance_offers_the_rest(chat: Chat) -> None:
    """Séance 1 planned first, then the whole cycle typed from the same date: nothing is
    guessed; the refusal gives the command that keeps séance 1 and plans the others, and that
    command, typed as given, works."""
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance planifier 10/12/2026 18h")
    await chat.say(
        "anim",
        "/seance cycle tous les jeudis à 18h pendant 4 semaines à partir du 10/12/2026"
        " | Déléguer ; Recruter ; Financer ; Bilan | Quelle situation apportez-vous ?",
    )
    assert chat.refused == "planning.cycle_first_planned"
    suggestion = (
        "/seance cycle 3 1sem 17/12/2026 18:00 | Recruter ; Financer ; Bilan | Quelle situation "
        "apportez-vous ?"
    )
    assert chat.text == (
        "La séance 1 est déjà prévue le jeudi 10 décembre 2026 à 18:00 (heure de Paris), la "
        f"première date de ce cycle : rien n'est planifié. Pour la garder et planifier les 3 "
        f"suivantes, tapez : {suggestion} (et pour lui donner son sujet : /seance planifier 1 | "
        "Déléguer) — ou annulez d'abord la séance 1 (/seance annuler 1) et retapez votre "
        "commande."
    )
    await chat.say("anim", "/seance liste")
    assert "n° 2" not in chat.text  # the refusal planned nothing

    await chat.say("anim", suggestion)
    assert chat.refused is None, chat.text
    await chat.say("anim", "/seance planifier 1 | Déléguer")
    assert chat.refused is None, chat.text
    await chat.say("anim", "/seance liste")
    lines = [line for line in chat.text.splitlines() if line.startswith("n° ")]
    assert lines == [
        "n° 1 — jeudi 10 décembre 2026 à 18:00 — sujet : Déléguer",
        "n° 2 — jeudi 17 décembre 2026 à 18:00 — sujet : Recruter",
        "n° 3 — jeudi 24 décembre 2026 à 18:00 — sujet : Financer",
        "n° 4 — jeudi 31 décembre 2026 à 18:00 — sujet : Bilan",
    ]


async def test_a_two_seance_cycle_over_its_first_offers_one_planning_in_english(
    chat: Chat,
) -> None:
    await chat.say("anim", "/circle create Trial")
    await chat.say("anim", "/session plan 2026-12-10 6pm")
    await chat.say("anim", "/session cycle 2 2w 2026-12-10 6pm")
    assert chat.refused == "planning.cycle_first_planned_one"
    assert "type: /session plan 2026-12-24 18:00 — or cancel session 1 first" in chat.text


async def test_a_cycle_crossing_a_seance_later_on_says_which_and_how_to_move_it(
    chat: Chat,
) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance planifier 17/12/2026 18h")
    await chat.say("anim", "/seance cycle 3 1sem 10/12/2026 18h")
    assert chat.refused == "planning.collision"
    assert chat.text == (
        "Ce créneau chevauche la séance 1 (jeudi 17 décembre 2026 à 18:00) : rien n'est "
        "planifié. Choisissez un autre moment, ou déplacez la séance 1 : /seance deplacer 1 "
        "<quand>."
    )


async def test_moving_a_seance_to_where_it_is_says_nothing_changes(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance planifier 10/12/2026 18h")
    await chat.say("anim", "/seance deplacer 1 jeudi 10 décembre 18h")
    assert chat.refused is None
    assert chat.public() == []
    assert chat.text == (
        "La séance 1 est déjà prévue le jeudi 10 décembre 2026 à 18:00 (heure de Paris) : rien "
        "ne change."
    )
