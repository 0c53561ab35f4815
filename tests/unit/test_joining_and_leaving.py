"""Nobody is lost on the way in, and someone who leaves the cycle is no longer waited for."""

from __future__ import annotations

from bot.domain.seance import AttendanceStatus
from tests.conversation import Chat, start_circle, user
from tests.fakes import MemoryDatabase


async def test_a_refused_first_command_still_makes_a_member(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("ali", "/present")  # no séance open: refused
    assert chat.refused == "seance.none_open"
    assert chat.text.endswith("Vous faites maintenant partie du cercle.")
    await chat.say("anim", "/cercle inscriptions fermees")
    assert chat.public() == [
        "Inscriptions fermées : seuls les membres actuels peuvent participer. "
        "Membres (2) : anim, ali."
    ]
    await chat.say("anim", "/seance")
    await chat.say("ali", "/present")
    assert chat.refused is None
    circle = next(iter(memory_db.store.circles.values()))
    assert user("ali") in circle.members


async def test_a_mistyped_command_joins_and_suggests(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("ali", "/seanse")
    assert chat.text == (
        "Je ne connais pas « seanse ». Vouliez-vous dire /seance ?\n"
        "Vous faites maintenant partie du cercle."
    )


async def test_a_second_refusal_does_not_say_joined_again(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("ali", "/fini")
    await chat.say("ali", "/fini")
    assert "partie du cercle" not in chat.text


async def test_closed_roster_refuses_newcomers_without_joining(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("anim", "/cercle inscriptions fermees")
    await chat.say("zoe", "/present")
    assert chat.refused == "circle.roster_closed"
    assert "partie du cercle" not in chat.text
    circle = next(iter(memory_db.store.circles.values()))
    assert user("zoe") not in circle.members


async def test_someone_who_left_is_not_absent_nor_to_call(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "ali", "eva")
    await chat.say("anim", "/cercle animateur @dominique")
    await chat.say("anim", "/seance fin")
    await chat.say("anim", "/cercle depart @eva")
    assert chat.public() == [
        "eva a quitté le cycle : son historique est gardé, mais eva n'est plus compté·e "
        "absent·e ni à appeler."
    ]
    await chat.say("anim", "/cercle depart @eva")
    assert chat.refused == "circle.already_left"
    await chat.say("anim", "/seance")
    await chat.say("ali", "/present")
    await chat.say("anim", "/seance fin")
    seances = sorted(memory_db.store.seances.values(), key=lambda s: s.number)
    assert seances[0].attendance[user("eva")] is AttendanceStatus.PRESENT  # history kept
    assert user("eva") not in seances[1].attendance
    assert user("dominique") not in seances[1].attendance  # a co-facilitator is not "absent"
    recap = chat.recaps()[-1]
    assert "eva" not in recap
    assert "dominique" not in recap
    await chat.say("anim", "/cercle membres")
    assert "eva — a quitté le cycle" in chat.text


async def test_the_last_facilitator_cannot_leave(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Atelier")
    await chat.say("anim", "/cercle depart @anim")
    assert chat.refused == "circle.last_facilitator_cannot_leave"


async def test_a_circle_created_in_english_speaks_english(chat: Chat) -> None:
    await chat.say("anim", "/circle create Workshop")
    assert chat.public()[0].startswith("Circle")
    await chat.say("anim", "/seance")
    assert chat.refused is None
    assert "Session 1" in chat.text or "session 1" in chat.text


async def test_an_english_locale_starts_the_circle_in_english(chat: Chat) -> None:
    from bot.domain.refs import ChannelRef
    from bot.events import CommandEvent

    def event(text: str, locale: str | None) -> CommandEvent:
        return CommandEvent(
            channel=ChannelRef("console", "other"),
            author=user("kim"),
            author_name="kim",
            text=text,
            locale=locale,
        )

    refused = await chat.core.handle(event("/tour", "en-US"))
    assert refused.effects[0].text.startswith("There is no circle")  # type: ignore[union-attr]
    created = await chat.core.handle(event("/cercle creer Atelier", "en-GB"))
    assert created.effects[0].text.startswith("Circle")  # type: ignore[union-attr]


async def test_french_elides_before_a_vowel(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Atelier", "eva: /actions")
    await chat.say("anim", "/oubli @eva")
    assert chat.private_to("anim")[0].startswith(
        "Voici ce que le cercle garde au sujet d'eva, et ce que /oubli en fera :"
    )
