"""Answering the preparation question by direct message: the question comes privately to
those who have not said no, an answer sent back goes to the right circle (or the bot asks
which), once, and is confirmed privately."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.direct import DirectMessage
from bot.domain.refs import ChannelRef
from bot.effects import Reply
from tests.conversation import Chat, user

# The Chat clock starts on Thursday 3 December 2026, 13:00 UTC; the question goes out three
# days before the séance of Thursday 10 December.
QUESTION_OUT = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)


def dm(name: str, text: str, event: str | None = None) -> DirectMessage:
    return DirectMessage(
        ChannelRef("console", f"dm:{name}"), user(name), name, text, event_id=event
    )


def confidential(effects: Sequence[object], name: str) -> list[str]:
    return [
        e.text for e in effects if isinstance(e, Reply) and e.confidential and e.to == user(name)
    ]


async def plan(chat: Chat, name: str, *members: str) -> None:
    await chat.say("anim", f"/cercle creer {name}")
    for member in members:
        await chat.say(member, "/aide")
    await chat.say(
        "anim", "/seance planifier 2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?"
    )
    assert chat.refused is None


async def test_the_question_comes_by_direct_message_and_an_answer_there_counts_once(
    chat: Chat,
) -> None:
    await plan(chat, "Cercle ESS", "alice", "bob")
    await chat.say("bob", "/prepa dm non")
    assert chat.private_to("bob") == [
        "Vous ne recevrez plus la question de préparation en message privé ; elle reste dans "
        "le salon du cercle (/prepa dm oui pour la recevoir à nouveau)."
    ]
    early = await chat.core.handle_direct(dm("alice", "Trop tôt"))
    assert [r.refused for r in [early]] == [None]
    assert confidential(early.effects, "alice")[0].startswith("Aucune question de préparation")
    await chat.wait(seconds=(QUESTION_OUT - chat.clock.now()).total_seconds())
    invitations = confidential(chat.last, "alice")
    assert len(invitations) == 1
    assert invitations[0].startswith(
        "Cercle ESS — séance 1 (jeudi 10 décembre 2026 à 14:00), question de préparation : "
        "Que ne déléguez-vous pas ?\nVous pouvez répondre ici"
    )
    assert confidential(chat.last, "bob") == []  # said no
    assert confidential(chat.last, "anim") == []  # facilitators get the answers instead

    answered = await chat.core.handle_direct(dm("alice", "Je garde la compta", "console:m1"))
    assert confidential(answered.effects, "alice") == [
        "Réponse enregistrée pour la séance 1 (visible par l'animation seulement). "
        "Vous pouvez la réécrire jusqu'à l'ouverture ; /prepa partager la montre au cercle."
    ]
    assert [e for e in answered.effects if isinstance(e, Reply) and not e.confidential] == []
    again = await chat.core.handle_direct(dm("alice", "Je garde la compta", "console:m1"))
    assert again.duplicate
    await chat.say("anim", "/prepa voir")
    assert confidential(chat.last, "anim") == [
        "Réponses à la préparation de la séance 1 (1) :\n"
        "- alice : Je garde la compta\n"
        "Pas encore de réponse : bob"
    ]
    await chat.say("alice", "/prepa")  # a direct answer is not an attendance, nor public
    assert chat.private_to("alice") == [
        "Votre réponse pour la séance 1 (visible par l'animation seulement) : Je garde la compta"
    ]


async def test_with_two_circles_open_the_bot_asks_which_and_never_guesses(chat: Chat) -> None:
    await plan(chat, "Cercle ESS", "alice")
    other = Chat(chat.core.uow_factory, "autre-salon", clock=chat.clock, core=chat.core)
    await plan(other, "Cercle Asso", "alice")
    await chat.wait(seconds=(QUESTION_OUT - chat.clock.now()).total_seconds())
    asked = await chat.core.handle_direct(dm("alice", "Ma réponse"))
    assert confidential(asked.effects, "alice") == [
        "Vous êtes dans plusieurs cercles dont la question de préparation est ouverte. "
        "Pour lequel est votre réponse ?\n"
        "1. Cercle ESS — séance 1 : Que ne déléguez-vous pas ?\n"
        "2. Cercle Asso — séance 1 : Que ne déléguez-vous pas ?\n"
        "Renvoyez votre réponse précédée du numéro du cercle, par exemple « 2 Ma réponse »."
    ]
    assert asked.command is None  # nothing recorded anywhere
    await chat.core.handle_direct(dm("alice", "7 Hors liste"))
    answered = await chat.core.handle_direct(dm("alice", "2 Pour l'asso"))
    assert confidential(answered.effects, "alice")[0].startswith("Réponse enregistrée")
    await other.say("alice", "/prepa")
    assert other.private_to("alice") == [
        "Votre réponse pour la séance 1 (visible par l'animation seulement) : Pour l'asso"
    ]
    await chat.say("alice", "/prepa")
    assert "Pour l'asso" not in chat.private_to("alice")[0]


async def test_a_stranger_writing_to_the_bot_records_nothing(chat: Chat) -> None:
    await plan(chat, "Cercle ESS", "alice")
    await chat.wait(seconds=(QUESTION_OUT - chat.clock.now()).total_seconds())
    outcome = await chat.core.handle_direct(dm("zoe", "Bonjour"))
    assert confidential(outcome.effects, "zoe")[0].startswith("Aucune question")
    await chat.say("anim", "/prepa voir")
    assert "(0)" in confidential(chat.last, "anim")[0]
