"""Between séances: preparation answers and RSVPs, as the people of a circle live them."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.effects import Reply
from tests.conversation import Chat, user

# The Chat clock starts on Thursday 3 December 2026, 13:00 UTC; séance 1 is a week later.
SEANCE_1 = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)


async def plan_circle(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "alice: /aide",
        "bob: /aide",
        "chloe: /aide",
        "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?",
    )


async def until(chat: Chat, instant: datetime) -> None:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())


def confidential_to(chat: Chat, name: str) -> list[str]:
    return [
        e.text for e in chat.last if isinstance(e, Reply) and e.confidential and e.to == user(name)
    ]


async def test_an_answer_is_private_editable_and_shared_on_request(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("alice", "/prepa Je garde toute la compta")
    assert chat.public() == []
    assert chat.private_to("alice") == [
        "Réponse enregistrée pour la séance 1 (visible par l'animation seulement). "
        "Vous pouvez la réécrire jusqu'à l'ouverture ; /prepa partager la montre au cercle."
    ]
    await chat.say("alice", "/prepa Je garde la compta et les recrutements")
    assert chat.private_to("alice") == [
        "Réponse modifiée pour la séance 1 (visible par l'animation seulement)."
    ]
    await chat.say("alice", "/prepa partager")
    assert chat.private_to("alice") == [
        "Votre réponse pour la séance 1 est maintenant visible par tout le cercle."
    ]
    await chat.say("alice", "/prepa")
    assert chat.private_to("alice") == [
        "Votre réponse pour la séance 1 (visible par tout le cercle) : "
        "Je garde la compta et les recrutements"
    ]
    await chat.say("bob", "/prepa partager")
    assert chat.refused == "prepa.no_answer"
    await chat.say("bob", "/prepa voir")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("anim", "/prepa voir")
    assert confidential_to(chat, "anim") == [
        "Réponses à la préparation de la séance 1 (1) :\n"
        "- alice (partagée) : Je garde la compta et les recrutements\n"
        "Pas encore de réponse : bob, chloe"
    ]


async def test_answers_close_when_the_seance_opens_and_reach_the_right_people(
    chat: Chat,
) -> None:
    await plan_circle(chat)
    await chat.script(
        "alice: /prepa Je garde la compta",
        "alice: /prepa partager",
        "bob: /prepa Je ne délègue pas les relations avec le conseil",
    )
    await until(chat, SEANCE_1)
    await chat.say("anim", "/seance")
    opened = chat.public()
    assert opened[1] == (
        "Ce que 1 membre(s) ont choisi de partager en préparant la séance 1 :\n"
        "- alice : Je garde la compta"
    )
    assert "conseil" not in "\n".join(opened)
    assert confidential_to(chat, "anim") == [
        "Réponses à la préparation de la séance 1 (2) :\n"
        "- alice (partagée) : Je garde la compta\n"
        "- bob : Je ne délègue pas les relations avec le conseil"
    ]
    await chat.say("bob", "/prepa Trop tard")
    assert chat.refused == "prepa.nothing_planned"
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    assert "Préparation partagée" in recap
    assert "alice : Je garde la compta" in recap
    assert "conseil" not in recap


async def test_the_reminder_goes_to_who_has_not_answered_only_when_asked(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.script("alice: /prepa Ma réponse", "bob: /presence non")
    await until(chat, SEANCE_1.replace(day=9))
    assert confidential_to(chat, "chloe") == []  # off by default
    await chat.say("anim", "/cercle rappels reponses oui")
    assert chat.refused is None
    await chat.say("anim", "/seance planifier 2026-12-17 14:00 | Suite | Et depuis ?")
    await until(chat, datetime(2026, 12, 11, 13, 0, tzinfo=UTC))  # séance 1 is past
    await chat.script("alice: /presence oui 2", "alice: /prepa Encore moi")
    await until(chat, datetime(2026, 12, 16, 13, 0, tzinfo=UTC))
    reminded = [
        e.to.id
        for e in chat.last
        if isinstance(e, Reply) and e.confidential and e.to and "pas encore répondu" in e.text
    ]
    assert reminded == ["bob", "chloe"]  # alice answered; anim facilitates


async def test_rsvp_counts_names_and_excuses(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("bob", "/presence non")
    assert chat.private_to("bob") == [
        "C'est noté : vous êtes excusé·e pour la séance 1 (jeudi 10 décembre 2026 à 14:00)."
    ]
    await chat.say("chloe", "/presence non")
    await chat.say("alice", "/presence peut-être")
    await chat.say("alice", "/presence sans-doute")
    assert chat.refused == "args.bad_choice"
    await chat.say("alice", "/presence oui 7")
    assert chat.refused == "seance.unknown_number"
    await chat.say("chloe", "/presence oui")  # changes her mind: no longer excused
    await chat.say("chloe", "/presence non")
    await chat.say("anim", "/seance liste")
    assert chat.private_to("anim")[0].endswith(
        "Présences annoncées pour la séance 1 :\n"
        "- oui : 0 (—)\n"
        "- peut-être : 1 (alice)\n"
        "- non : 2 (bob, chloe)\n"
        "- sans réponse : 1 (anim)"
    )
    await chat.say("alice", "/seance liste")
    assert "Présences" not in chat.text
    await until(chat, SEANCE_1.replace(day=9))
    assert "Serez-vous là ? Répondez /presence oui, non ou peut-etre (séance 1)." in chat.public()
    assert confidential_to(chat, "anim")[0].startswith("Présences annoncées pour la séance 1 :")
    await until(chat, SEANCE_1)
    await chat.say("anim", "/seance")
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    assert "Excusé·es : 2 (bob, chloe)" in recap or "bob, chloe" in recap


async def test_rsvp_in_english(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("anim", "/cercle langue en")
    await chat.say("alice", "/rsvp maybe")
    assert chat.private_to("alice") == [
        "Noted: maybe for session 1 (Thursday 10 December 2026 at 14:00). "
        "You can confirm with /rsvp yes or no."
    ]
    await chat.say("alice", "/prep It is about trust")
    assert chat.private_to("alice")[0].startswith("Answer recorded for session 1 (visible to")


async def test_forgetting_removes_answers_and_rsvps(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.script("bob: /prepa Ma réponse", "bob: /presence peut-etre")
    await chat.say("bob", "/oubli")
    assert "réponses de préparation et de présence (2) supprimées ;" in chat.text
    await chat.say("bob", "/oubli confirmer")
    await chat.say("anim", "/prepa voir")
    assert "Ma réponse" not in chat.text
    await chat.say("anim", "/presence")
    assert "bob" not in chat.text
