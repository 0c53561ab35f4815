"""Who may do what: the roster, platform roles, help by role, what counts as speaking."""

from __future__ import annotations

from bot.domain.refs import ChannelRef, UserRef
from bot.events import CommandEvent
from tests.conversation import Chat, start_circle
from tests.fakes import MemoryDatabase


async def test_closed_roster_still_lets_anyone_read_help_and_queue(
    memory_db: MemoryDatabase,
) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("anim", "/cercle inscriptions fermees")
    await chat.say("visitor", "/aide")
    assert chat.refused is None
    await chat.say("visitor", "/file")
    assert chat.refused is None
    circle = next(iter(memory_db.store.circles.values()))
    assert UserRef("console", "visitor") not in circle.members
    seance = next(iter(memory_db.store.seances.values()))
    assert UserRef("console", "visitor") not in seance.attendance


async def test_help_lists_what_one_may_use(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("alice", "/aide")
    (text,) = chat.private_to("alice")
    assert "/cercle membres" in text
    assert "/seance liste" in text
    assert "/cercle langue" not in text
    assert "/suivant" not in text
    await chat.say("anim", "/aide")
    (text,) = chat.private_to("anim")
    assert "/cercle langue [fr|en]" in text
    assert "/suivant" in text


async def test_on_platforms_with_roles_only_channel_managers_create_circles(chat: Chat) -> None:
    def event(name: str, manager: bool) -> CommandEvent:
        return CommandEvent(
            channel=ChannelRef("console", "salon"),
            author=UserRef("console", name),
            author_name=name,
            text="/cercle creer Essai",
            platform_facilitator=manager,
            platform_knows_roles=True,
        )

    refused = await chat.core.handle(event("someone", manager=False))
    assert refused.refused == "permission.channel_managers_only"
    accepted = await chat.core.handle(event("manager", manager=True))
    assert accepted.refused is None


async def test_speaking_then_passing_counts_the_time_and_says_passed(chat: Chat) -> None:
    """Not "40 s (no turn)", which reads as a contradiction: the time held, and a pass."""
    await start_circle(chat, "alice")
    await chat.say("anim", "/seance phase suivante")  # round: anim, then alice
    await chat.wait(seconds=40)
    await chat.say("anim", "/passe")
    await chat.say("alice", "/fini")
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[0]
    assert "- anim (animation) : 40 s (a passé son tour)" in recap
    assert "- alice : 0 s (1 tour)" in recap


async def test_action_owner_must_be_a_member(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("alice", "/action @inconnu Relire le budget")
    assert chat.refused == "circle.not_a_member"


async def test_note_outside_a_seance_says_where_it_goes(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/note Une idée")
    assert chat.public() == [
        "Note n° 1 enregistrée (hors séance : elle figure dans l'export du cercle, "
        "pas dans un récapitulatif)."
    ]


async def test_overrun_is_shown_plainly(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="codev")
    for _ in range(3):
        await chat.say("anim", "/seance phase suivante")  # clarification: queue, 2-min turns
    await chat.say("alice", "/tour")
    await chat.wait(minutes=3)
    await chat.say("alice", "/file")
    assert "Parole : alice (3 min 00 s) · dépassé de 1 min 00 s" in chat.private_to("alice")[0]


async def test_export_gives_the_facilitator_a_calendar_file(chat: Chat) -> None:
    from bot.effects import FilePost

    await chat.say("anim", "/cercle creer Essai ESS")
    await chat.say("anim", "/seance planifier 2026-12-10 14:00 | Déléguer")
    await chat.say("anim", "/export ics")
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    assert file.filename == "essai-ess.ics"
    assert file.private
    assert b"DTSTART;TZID=Europe/Paris:20261210T140000" in file.content
    await chat.say("alice", "/export")
    assert chat.refused == "export.facilitators_only"


async def test_moving_on_before_a_round_is_over_says_who_did_not_speak(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance phase suivante")  # round: anim, alice, bob
    await chat.say("anim", "/fini")  # alice has the floor, bob waits
    await chat.say("anim", "/seance phase suivante")
    assert chat.public()[0] == (
        "« Météo » s'arrête avant la fin du tour. Sans prise de parole : bob."
    )
    await chat.say("anim", "/seance phase tour")
    await chat.say("anim", "/fini")
    await chat.say("alice", "/fini")
    await chat.say("bob", "/fini")  # the round is over: nothing to say when it moves on
    await chat.say("anim", "/seance phase suivante")
    assert not any("avant la fin du tour" in text for text in chat.public())


async def test_the_speaker_typing_next_is_shown_how_to_hand_the_floor_back(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob", protocol="libre")
    await chat.say("alice", "/tour")
    await chat.say("alice", "/suivant")
    assert chat.refused == "permission.next_while_speaking"
    assert chat.text == (
        "Seule l'animation passe la parole avec /suivant. Vous avez la parole : pour la rendre, "
        "tapez /fini."
    )
    await chat.say("bob", "/suivant")  # not speaking: the plain refusal
    assert chat.refused == "permission.facilitator_only"
