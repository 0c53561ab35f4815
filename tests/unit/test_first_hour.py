"""A newcomer's first hour, with nothing but /aide and the bot's replies.

Seven tasks typed the way someone who never used Cercle types them first — natural French,
then what the bot suggests when it refuses: set up a circle, plan a cycle of four séances with
subjects and questions, run a séance with a check-in round and an open floor, record a decision
and an action, let a participant excuse themselves, read the bilan, switch to English. Each
task must complete, with at most three refusals over the whole hour.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from tests.conversation import Chat, user
from tests.fakes import MemoryDatabase

MAX_STUMBLES = 3


class Newcomer:
    """Says each line, keeps every refusal, and can follow the last suggestion given."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.refusals: list[tuple[str, str]] = []

    async def say(self, name: str, text: str) -> str:
        await self.chat.say(name, text)
        if self.chat.refused is not None:
            self.refusals.append((text, self.chat.text))
        return self.chat.text

    def suggestion(self, marker: str) -> str:
        """The command the last refusal offered after `marker`, as a person would copy it."""
        _, answer = self.refusals[-1]
        return answer.split(marker, 1)[1].splitlines()[0].strip()


async def test_a_newcomer_gets_through_the_first_hour(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    me = Newcomer(chat)

    # 1. Set up a circle: help first, as one does in an empty channel.
    intro = await me.say("anim", "/aide")
    assert "/cercle creer <nom>" in intro
    await me.say("anim", "/cercle créer Dirigeant·es ESS")
    help_text = await me.say("anim", "/aide")
    assert "Pour bien démarrer" in help_text
    await me.say("anim", "/cercle fuseau Paris")
    await me.say("anim", "/cercle animatrice @camille")
    (circle,) = memory_db.store.circles.values()
    assert circle.name == "Dirigeant·es ESS"
    assert circle.settings.timezone == "Europe/Paris"
    camille = circle.member(user("camille"))
    assert camille is not None
    assert camille.role is Role.FACILITATOR

    # 2. Plan the cycle, first as one would say it, then with the bot's suggestion.
    cycle_help = await me.say("anim", "/aide cycle")
    assert "Exemples :" in cycle_help
    await me.say("anim", "/seance cycle 4 séances à partir du jeudi 10 décembre à 14h")
    assert me.refusals[-1][1].startswith("Tous les combien ?")
    suggested = me.suggestion("toutes les deux semaines : ")
    assert suggested == "/seance cycle 4 2sem jeudi 10 décembre à 14h"  # their words, kept
    planned = await me.say(
        "anim",
        suggested + " | Déléguer ; Recruter ; Financer ; Bilan"
        " | Quelle situation voulez-vous apporter ?",
    )
    assert chat.refused is None, planned
    assert planned.startswith("4 séances planifiées (heure de Paris) :")
    seances = sorted(memory_db.store.seances.values(), key=lambda s: s.number)
    assert [s.subject for s in seances] == ["Déléguer", "Recruter", "Financer", "Bilan"]
    assert {s.prep_question for s in seances} == {"Quelle situation voulez-vous apporter ?"}
    assert seances[0].planned_at == datetime(2026, 12, 10, 13, 0, tzinfo=UTC)
    assert seances[3].planned_at == datetime(2027, 1, 21, 13, 0, tzinfo=UTC)

    # Participants join by typing in the channel; the day comes.
    for name in ("alice", "bob", "chloe"):
        await me.say(name, "/aide")
    await chat.wait(days=7)

    # 3. Run séance 1: a check-in round, then the open floor.
    await me.say("anim", "/seance")
    for name in ("alice", "bob", "chloe"):
        await me.say(name, "/present")
    await me.say("anim", "/seance phase")  # a newcomer forgets which phase: the bot shows one
    await me.say("anim", me.suggestion("Par exemple : ").split(" — ")[0])

    def first() -> Seance:  # the store is replaced at each commit: read it afresh
        return memory_db.store.seances[seances[0].id]

    def phase() -> str | None:
        current = first().phase
        return current.key if current else None

    assert phase() == "meteo"
    for _ in ("anim", "alice", "bob", "chloe"):
        speaker = first().speaker
        assert speaker is not None
        await me.say(speaker.id, "/fini merci")
    await me.say("anim", "/seance phase suivante")
    assert phase() == "libre"
    await me.say("alice", "/tour je voudrais réagir sur le recrutement")
    await me.say("bob", "/tour")
    await me.say("alice", "/fini")
    await me.say("bob", "/fini")

    # 4. A decision and an action, then the end of the séance.
    await me.say("anim", "/decision On se retrouve en présentiel en janvier")
    await me.say("alice", "/action Appeler la fédération échéance 15/12")
    await me.say("anim", "/seance fin")
    assert first().status is SeanceStatus.CLOSED
    (recap,) = chat.recaps()
    assert "On se retrouve en présentiel en janvier" in recap
    assert "Appeler la fédération" in recap

    # 5. A participant excuses themselves from the next séance, saying why.
    await me.say("bob", "/excuse 2 je serai en déplacement")
    second = memory_db.store.seances[seances[1].id]
    assert second.attendance[user("bob")] is AttendanceStatus.EXCUSED
    assert "bob s'excuse pour la séance 2 : « je serai en déplacement »" in chat.private_to("anim")

    # 6. The bilan.
    report = await me.say("anim", "/bilan")
    assert "Bilan du cycle — Dirigeant·es ESS" in report

    # 7. English, in the words one uses.
    await me.say("anim", "/cercle langue anglais")
    assert chat.public() == ["The circle now speaks English."]
    assert "Getting started" in await me.say("anim", "/help")

    assert len(me.refusals) == 2 <= MAX_STUMBLES, me.refusals
