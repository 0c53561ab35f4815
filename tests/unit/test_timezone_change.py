"""Changing a circle's time zone never shifts planned séances silently: with séances ahead
whose clock time would change, the facilitator is asked whether they keep their moment or their
clock time, and each answer does what it says (reminders included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.effects import Reply
from tests.conversation import Chat

ASK = (
    "Des séances sont prévues à l'heure de Paris (la séance 1 : mardi 15 décembre 2026 à 14:00). "
    "En passant à l'heure de Montréal, que doivent-elles garder ? Le même moment (la séance 1 à "
    "08:00, heure de Montréal) : /cercle fuseau Montréal moment — ou la même heure (la séance 1 "
    "à 14:00, heure de Montréal, soit 20:00 à l'heure de Paris) : /cercle fuseau Montréal heure. "
    "Rien n'est changé pour l'instant."
)


async def planned(chat: Chat) -> list[str]:
    await chat.say("anim", "/seance liste")
    return [line for line in chat.text.splitlines() if line.startswith("n° ")]


async def start(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Essai",
        "anim: /seance cycle 2 2sem mardi 15 décembre 14h",
    )


async def test_without_planned_seances_the_zone_simply_changes(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle fuseau Montréal")
    assert chat.refused is None
    assert chat.text.startswith("Fuseau horaire du cercle : America/Montreal")


async def test_planned_seances_make_the_change_a_question(chat: Chat) -> None:
    await start(chat)
    await chat.say("anim", "/cercle fuseau Montréal")
    assert chat.refused == "circle.timezone_ask"
    assert chat.text == ASK
    await chat.say("anim", "/cercle fuseau")
    assert "Europe/Paris" in chat.text  # unchanged
    assert await planned(chat) == [
        "n° 1 — mardi 15 décembre 2026 à 14:00",
        "n° 2 — mardi 29 décembre 2026 à 14:00",
    ]


async def test_keeping_the_moment_shows_the_new_clock_times(chat: Chat) -> None:
    await start(chat)
    await chat.say("anim", "/cercle fuseau Montréal moment")
    assert chat.refused is None, chat.text
    assert chat.text.splitlines()[-1] == (
        "Les séances prévues gardent leur moment : la séance 1 a lieu le mardi 15 décembre 2026 "
        "à 08:00 (heure de Montréal)."
    )
    [reply] = [e for e in chat.last if isinstance(e, Reply)]
    assert [m.at for m in reply.moments] == [datetime(2026, 12, 15, 13, 0, tzinfo=UTC)]
    assert await planned(chat) == [
        "n° 1 — mardi 15 décembre 2026 à 08:00",
        "n° 2 — mardi 29 décembre 2026 à 08:00",
    ]


async def test_keeping_the_clock_time_moves_the_seances_and_their_reminders(chat: Chat) -> None:
    await start(chat)
    await chat.say("anim", "/cercle fuseau Montréal heure")
    assert chat.refused is None, chat.text
    assert chat.text.splitlines()[-1] == (
        "Les séances prévues gardent leur heure : la séance 1 a lieu le mardi 15 décembre 2026 "
        "à 14:00 (heure de Montréal)."
    )
    assert await planned(chat) == [
        "n° 1 — mardi 15 décembre 2026 à 14:00",
        "n° 2 — mardi 29 décembre 2026 à 14:00",
    ]
    # 14:00 in Montréal is 19:00 UTC: the 15-minute reminder comes then, not at Paris's 14:00
    session = datetime(2026, 12, 15, 19, 0, tzinfo=UTC)
    await chat.wait(seconds=(session - timedelta(minutes=20) - chat.clock.now()).total_seconds())
    assert not any("commence dans 15 minutes" in t for t in chat.texts)
    await chat.wait(minutes=6)
    assert any(t.startswith("La séance 1 commence dans 15 minutes, à 14:00") for t in chat.texts), (
        chat.texts
    )


async def test_a_clock_time_already_past_in_the_new_zone_changes_nothing(chat: Chat) -> None:
    """It is 14:00 in Paris (22:00 in Tokyo): a séance today at 14:30, kept at 14:30 in Tokyo,
    would be over there already."""
    await chat.script("anim: /cercle creer Essai")
    await chat.say("anim", "/seance planifier 03/12/2026 14h30")
    assert chat.refused is None, chat.text
    await chat.say("anim", "/cercle fuseau Tokyo heure")
    assert chat.refused == "circle.timezone_clock_past"
    await chat.say("anim", "/cercle fuseau")
    assert "Europe/Paris" in chat.text


async def test_in_english_the_words_are_moment_and_time(chat: Chat) -> None:
    await chat.script(
        "anim: /circle create Trial",
        "anim: /session cycle 2 2w 2026-12-15 2pm",
    )
    await chat.say("anim", "/circle timezone Montreal")
    assert chat.refused == "circle.timezone_ask"
    assert "/circle timezone Montreal moment" in chat.text
    assert "/circle timezone Montreal time" in chat.text
    await chat.say("anim", "/circle timezone Montreal time")
    assert chat.refused is None, chat.text
    assert chat.text.splitlines()[-1] == (
        "Planned sessions keep their clock time: session 1 takes place on Tuesday 15 December "
        "2026 at 14:00 (Montreal time)."
    )
