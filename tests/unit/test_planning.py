"""Planning séances and the prompts the bot posts by itself, on a manual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import CercleCore
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.conversation import Chat
from tests.fakes import MemoryDatabase

# The Chat clock starts on Thursday 3 December 2026, 13:00 UTC (14:00 in Paris).


async def make_circle(chat: Chat, *participants: str) -> None:
    await chat.say("anim", "/cercle creer Cercle ESS")
    for name in participants:
        await chat.say(name, "/aide")


async def wait_until(chat: Chat, instant: datetime) -> list[str]:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())
    return chat.public()


async def planned_instants(chat: Chat) -> list[datetime]:
    """When the circle's séances are planned, as stored, in order (UTC)."""
    async with chat.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        seances = await uow.seances.summaries(circle.id)
    return sorted(s.planned_at for s in seances if s.planned_at is not None)


async def test_plan_answers_with_the_date_written_out(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/seance planifier 10/12 14h | Déléguer | Que ne déléguez-vous pas ?")
    assert chat.public() == [
        "Séance 1 planifiée le jeudi 10 décembre 2026 à 14:00 (heure de Paris).",
        "Sujet : Déléguer",
        "Question de préparation, envoyée 3 jours avant : Que ne déléguez-vous pas ?",
    ]


async def test_every_prompt_at_its_instant(chat: Chat) -> None:
    await make_circle(chat, "alice")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00 | Déléguer | Que déléguer ?")
    start = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    assert await wait_until(chat, start - timedelta(days=3, seconds=1)) == []
    assert await wait_until(chat, start - timedelta(days=3)) == [
        "Pour préparer la séance 1 (jeudi 10 décembre 2026 à 14:00), une question : Que déléguer ?"
    ]
    assert await wait_until(chat, start - timedelta(days=1)) == [
        "Rappel : séance 1 demain, jeudi 10 décembre 2026 à 14:00 — sujet : Déléguer. "
        "Empêché·e ? Tapez /excuse 1.",
    ]
    assert [v.text.partition("\n")[0] for v in chat.live("rsvp")] == [
        "Serez-vous là à la séance 1 (jeudi 10 décembre 2026 à 14:00) ?"
    ]
    assert await wait_until(chat, start - timedelta(minutes=15)) == [
        "La séance 1 commence dans 15 minutes, à 14:00 — sujet : Déléguer. "
        "Empêché·e ? Tapez /excuse 1."
    ]
    assert await wait_until(chat, start) == [
        "C'est l'heure de la séance 1 — sujet : Déléguer ! Animation : ouvrez-la avec /seance. "
        "Participant·es : la séance commence, signalez-vous avec /present."
    ]
    await chat.say("anim", "/seance")
    await chat.say("alice", "/action Appeler la fédération")
    await chat.say("anim", "/seance fin")
    assert await wait_until(chat, start + timedelta(days=7)) == []
    assert [v.text for v in chat.live("follow_up")] == [  # edited as the action moves on
        "Une semaine après la séance 1 : où en sont les actions ? (1 ouverte)\n"
        "- #1 Appeler la fédération — alice"
    ]
    assert await wait_until(chat, start + timedelta(days=30)) == []


async def test_prompts_in_english_with_local_times(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/cercle langue en")
    await chat.say("anim", "/cercle fuseau America/Montreal")
    await chat.say("anim", "/session plan 2026-12-10 9:00am | Budget")
    assert chat.public() == [
        "Session 1 planned for Thursday 10 December 2026 at 09:00 (Montreal time).",
        "Topic: Budget",
    ]
    start = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)
    assert await wait_until(chat, start - timedelta(days=1)) == [
        "Reminder: session 1 is tomorrow, Thursday 10 December 2026 at 09:00 — topic: Budget. "
        "Can't make it? Type /excuse 1.",
    ]
    assert [v.text for v in chat.live("rsvp")] == [
        "Will you be there for session 1 (Thursday 10 December 2026 at 09:00)?\n"
        "Answer /rsvp yes, no or maybe.\n"
        "Answers — yes: 0 · maybe: 0 · no: 0"
    ]
    assert await wait_until(chat, start - timedelta(minutes=15)) == [
        "Session 1 starts in 15 minutes, at 09:00 — topic: Budget. Can't make it? Type /excuse 1."
    ]


async def test_bad_dates_plan_nothing(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await make_circle(chat)
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    cases = {
        "/seance planifier 2026-12-01 14:00": "Le mardi 1 décembre 2026 à 14:00 est déjà passé : "
        "rien n'est planifié.",
        "/seance planifier quand ça nous chante": "Je ne comprends pas la date « quand ça nous "
        "chante ». Exemples : 2026-12-03 14:00, 3/12 14h, mardi 14h, demain 9h30.",
        "/seance planifier 2026-12-10 15:00": "La séance 1 est déjà prévue le jeudi 10 décembre "
        "2026 à 14:00 (heure de Paris). Pour la déplacer : /seance deplacer 1 <quand> ; pour lui "
        "donner un sujet et une question : /seance planifier 1 | sujet | question",
        "/seance planifier 2027-03-28 02:30": "02:30 n'existe pas ce jour-là (passage à l'heure "
        "d'été). Proposition : dimanche 28 mars 2027 à 03:30.",
        "/seance planifier 2026-12-24": "Il manque l'heure dans « 2026-12-24 » "
        "(par exemple : 2026-12-24 14h).",
    }
    for command, message in cases.items():
        before = len(memory_db.store.seances)
        await chat.say("anim", command)
        assert chat.text == message, command
        assert len(memory_db.store.seances) == before


async def test_ambiguous_numeric_date_in_english(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/session plan 5/6/2027 2pm")
    assert chat.refused == "planning.ambiguous"
    assert "Saturday 5 June 2027 at 14:00" in chat.text
    assert "Thursday 6 May 2027 at 14:00" in chat.text


async def test_weekly_cycle_keeps_local_time_across_clock_changes(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/seance cycle 3 7j 2027-03-18 18:00")
    assert chat.public() == [
        "3 séances planifiées (heure de Paris) :\n"
        "n° 1 — jeudi 18 mars 2027 à 18:00\n"
        "n° 2 — jeudi 25 mars 2027 à 18:00\n"
        "n° 3 — jeudi 1 avril 2027 à 18:00"
    ]
    instants = await planned_instants(chat)
    assert [i.hour for i in instants] == [17, 17, 16]  # UTC: CET, CET, then CEST


async def test_cycle_across_the_october_change(chat: Chat) -> None:
    chat.clock.set(datetime(2027, 10, 1, 8, 0, tzinfo=UTC))
    await make_circle(chat)
    await chat.say("anim", "/seance cycle 2 1sem 2027-10-24 18:00")
    assert chat.refused is None
    instants = await planned_instants(chat)
    assert [i.hour for i in instants] == [16, 17]  # UTC: CEST, then CET


async def test_move_and_cancel_move_and_remove_the_prompts(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    await chat.say("anim", "/seance deplacer 1 2026-12-17 14:00")
    assert chat.public() == [
        "La séance 1 est déplacée au jeudi 17 décembre 2026 à 14:00 (heure de Paris)."
    ]
    assert await wait_until(chat, datetime(2026, 12, 10, 13, 0, tzinfo=UTC)) == []
    await chat.say("anim", "/seance annuler 1")
    assert chat.public() == ["La séance 1 est annulée."]
    assert await wait_until(chat, datetime(2026, 12, 31, 13, 0, tzinfo=UTC)) == []


async def test_list_shows_what_is_coming(chat: Chat) -> None:
    await make_circle(chat, "alice")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00 | Déléguer")
    await chat.say("anim", "/seance planifier 2026-12-17 14:00")
    await chat.say("alice", "/seance liste")
    assert chat.private_to("alice") == [
        "Séances à venir du cercle « Cercle ESS » (0 déjà tenue) :\n"
        "n° 1 — jeudi 10 décembre 2026 à 14:00 — sujet : Déléguer\n"
        "n° 2 — jeudi 17 décembre 2026 à 14:00"
    ]


async def test_excuse_in_advance_shows_in_the_recap(chat: Chat) -> None:
    await make_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    await chat.say("bob", "/excuse 1")
    assert chat.private_to("bob") == ["C'est noté : vous êtes excusé·e pour la séance 1."]
    await wait_until(chat, datetime(2026, 12, 10, 13, 0, tzinfo=UTC))
    await chat.say("anim", "/seance")
    await chat.say("alice", "/present")
    await chat.say("anim", "/seance fin")
    assert "- Excusé·es (1) : bob" in chat.recaps()[0]


async def test_auto_open_and_auto_close(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/cercle rappels ouverture auto")
    await chat.say("anim", "/cercle rappels fermeture 30m")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    start = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    said = await wait_until(chat, start)
    assert said[-1].startswith("Séance 1 du cercle « Cercle ESS » ouverte.")
    await chat.say("alice", "/present")
    # meteo lasts 15 + 60 minutes; 30 minutes of grace after that
    assert await wait_until(chat, start + timedelta(minutes=104)) == []
    said = await wait_until(chat, start + timedelta(minutes=105))
    assert said == [
        "La séance 1 est restée ouverte 30 minutes après l'heure de fin prévue : je la termine. "
        "Voici le récapitulatif."
    ]
    assert len(chat.recaps()) == 1


async def test_after_downtime_stale_prompts_are_dropped_useful_ones_fire_once(
    memory_db: MemoryDatabase,
) -> None:
    chat = Chat(memory_db)
    await make_circle(chat)
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    # The bot is down from now until 10 minutes after the planned start.
    later = ManualClock(datetime(2026, 12, 10, 13, 10, tzinfo=UTC))
    restarted = CercleCore(memory_db, later)
    await restarted.start()
    scheduler = restarted.scheduler
    assert isinstance(scheduler, ManualScheduler)
    said = await scheduler.advance_to(later.now())
    texts = [e.text for e in said if hasattr(e, "text")]
    assert texts == [
        "C'est l'heure de la séance 1 ! Animation : ouvrez-la avec /seance. "
        "Participant·es : la séance commence, signalez-vous avec /present.",
    ]
    prompts = {p.kind.value: p for p in memory_db.store.prompts.values()}
    assert prompts["day_before"].dropped_at == later.now()
    assert prompts["soon"].dropped_at == later.now()
    assert prompts["start"].sent_at == later.now()
    again = CercleCore(memory_db, later)
    await again.start()
    assert isinstance(again.scheduler, ManualScheduler)
    assert [e for e in await again.scheduler.advance_to(later.now()) if hasattr(e, "text")] == []


async def test_reminder_settings(chat: Chat) -> None:
    await make_circle(chat, "alice")
    await chat.say("anim", "/cercle rappels veille non")
    await chat.say("anim", "/cercle rappels avant 30m")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    start = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    assert await wait_until(chat, start - timedelta(minutes=31)) == []
    assert (await wait_until(chat, start - timedelta(minutes=30)))[0].startswith(
        "La séance 1 commence dans 30 minutes"
    )
    await chat.say("anim", "/cercle rappels avant bientôt")
    assert chat.refused == "reminders.bad_minutes"
    await chat.say("alice", "/cercle rappels veille oui")
    assert chat.refused == "permission.facilitator_only"


async def test_a_planned_seance_that_never_took_place_is_not_opened_later(chat: Chat) -> None:
    await make_circle(chat)
    await chat.say("anim", "/seance planifier 2026-12-10 14:00")
    await wait_until(chat, datetime(2026, 12, 12, 13, 0, tzinfo=UTC))
    await chat.say("anim", "/seance")
    assert chat.public()[0].startswith("Séance 2 du cercle")
