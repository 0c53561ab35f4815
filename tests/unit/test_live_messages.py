"""Messages kept up to date in place: the RSVP question and the follow-up list, edited as
answers and action states come in; native answers (a button, a reaction) only from members."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from adapters.console.adapter import ConsoleAdapter
from bot.commands.parser import ParsedCommand
from bot.dispatcher import Outcome
from bot.effects import LiveView
from bot.events import CommandEvent
from tests.conversation import Chat, user

SEANCE_1 = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)  # the Chat clock starts a week before
QUESTION = "Serez-vous là à la séance 1 (jeudi 10 décembre 2026 à 14:00) ?\n"
HOW = "Répondez /presence oui, non ou peut-etre.\n"


async def plan_circle(chat: Chat, *names: str) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        *(f"{name}: /aide" for name in names),
        "anim: /seance planifier 2026-12-10 14:00 | Déléguer",
    )


async def until(chat: Chat, instant: datetime) -> None:
    await chat.wait(seconds=(instant - chat.clock.now()).total_seconds())


async def answer(chat: Chat, name: str, value: str, event_id: str) -> Outcome:
    """An answer given on the RSVP message (a button, a reaction), as adapters hand it over."""
    found = chat.core.dispatcher.parser.by_key("presence")
    assert found is not None
    event = CommandEvent(
        channel=chat.channel,
        author=user(name),
        author_name=name,
        text="/presence",
        home="console:local",
        command=ParsedCommand(found[0], {"answer": value, "number": 1}),
        event_id=event_id,
        members_only=True,
    )
    chat.outcome = await chat.core.handle(event)
    chat.last = list(chat.outcome.effects)
    chat.effects.extend(chat.last)
    return chat.outcome


async def test_the_rsvp_message_is_edited_as_answers_come_in(chat: Chat) -> None:
    await plan_circle(chat, "alice", "bob", "chloe")
    await chat.say("bob", "/presence non")  # before the message exists: nothing to edit
    assert chat.live("rsvp") == []
    await until(chat, SEANCE_1.replace(day=9))
    [posted] = chat.live("rsvp")
    assert posted.text == QUESTION + HOW + "Réponses — oui : 0 · peut-être : 0 · non : 1"
    assert posted.answers == ("yes", "maybe", "no")
    assert posted.message_id is None
    # the adapter posted it and says where: later versions edit that message
    await chat.core.live.record("rsvp", posted.seance_id, "msg-1")
    target = await chat.core.live.target(chat.channel, "msg-1")
    assert target is not None
    assert (target.kind, target.number) == ("rsvp", 1)
    assert await chat.core.live.target(chat.channel, "msg-2") is None

    await chat.say("alice", "/presence oui")
    [edited] = chat.live("rsvp")
    assert edited.key == posted.key
    assert edited.message_id == "msg-1"
    assert edited.text.endswith("Réponses — oui : 1 (alice) · peut-être : 0 · non : 1")
    await answer(chat, "chloe", "maybe", "matrix:$reaction-chloe")
    assert chat.refused is None
    assert chat.private_to("chloe")[0].startswith("C'est noté : peut-être pour la séance 1")
    assert chat.live("rsvp")[0].text.endswith(
        "Réponses — oui : 1 (alice) · peut-être : 1 (chloe) · non : 1"
    )
    # an excuse is a no, never named in the channel
    await chat.say("alice", "/excuse 1 malade")
    assert chat.live("rsvp")[0].text.endswith(
        "Réponses — oui : 0 · peut-être : 1 (chloe) · non : 2"
    )
    # the same event again (a sync replayed): handled once
    again = await answer(chat, "chloe", "maybe", "matrix:$reaction-chloe")
    assert again.duplicate
    assert again.effects == []

    # chloe takes her reaction back: her answer goes; someone else's event changes nothing
    assert (
        await chat.core.live.withdraw(
            chat.channel, user("bob"), "matrix:$reaction-chloe", "matrix:$redaction-1"
        )
        == []
    )
    effects = await chat.core.live.withdraw(
        chat.channel, user("chloe"), "matrix:$reaction-chloe", "matrix:$redaction-2"
    )
    [view] = [e for e in effects if isinstance(e, LiveView)]
    assert view.text.endswith("Réponses — oui : 0 · peut-être : 0 · non : 2")
    assert view.outbox_id is not None  # posted through the outbox like everything else
    assert (
        await chat.core.live.withdraw(
            chat.channel, user("chloe"), "matrix:$reaction-chloe", "matrix:$redaction-2"
        )
        == []
    )
    await chat.say("anim", "/presence")
    assert "- sans réponse : 2 (anim, chloe)" in chat.text


async def test_a_withdrawn_reaction_no_longer_the_answer_changes_nothing(chat: Chat) -> None:
    await plan_circle(chat, "alice")
    await until(chat, SEANCE_1.replace(day=9))
    await answer(chat, "alice", "no", "matrix:$thumbs-down")
    await chat.say("alice", "/presence oui")  # then typed: the reaction is no longer her answer
    effects = await chat.core.live.withdraw(
        chat.channel, user("alice"), "matrix:$thumbs-down", "matrix:$redaction"
    )
    assert effects == []
    await answer(chat, "alice", "no", "matrix:$thumbs-down-again")
    effects = await chat.core.live.withdraw(
        chat.channel, user("alice"), "matrix:$thumbs-down-again", "matrix:$redaction-2"
    )
    [view] = [e for e in effects if isinstance(e, LiveView)]
    assert view.text.endswith("Réponses — oui : 0 · peut-être : 0 · non : 0")
    await chat.say("anim", "/presence")
    assert "- non : 0 (—)" in chat.private_to("anim")[0]  # her excuse went with her "no"


async def test_only_members_answer_on_the_message_and_nobody_joins_by_it(chat: Chat) -> None:
    await plan_circle(chat, "alice")
    await until(chat, SEANCE_1.replace(day=9))
    await answer(chat, "zoe", "yes", "discord:1")
    assert chat.refused == "live.members_only"
    assert chat.private_to("zoe") == [
        "Seuls les membres du cercle peuvent répondre ainsi. Pour le rejoindre, tapez une "
        "commande du cercle, par exemple /presence oui."
    ]
    assert chat.live("rsvp") == []
    await chat.say("anim", "/cercle membres")
    assert "zoe" not in chat.text
    await chat.say("zoe", "/presence oui")  # typed: she joins the open circle and answers
    assert chat.refused is None
    assert chat.live("rsvp")[0].text.endswith("Réponses — oui : 1 (zoe) · peut-être : 0 · non : 0")


async def test_a_large_circle_shows_counts_only(chat: Chat) -> None:
    names = [f"p{n}" for n in range(12)]
    await plan_circle(chat, *names)  # 13 members with anim
    await chat.script(*(f"{name}: /presence oui" for name in names[:3]))
    await until(chat, SEANCE_1.replace(day=9))
    assert chat.live("rsvp")[0].text.endswith("Réponses — oui : 3 · peut-être : 0 · non : 0")


async def test_the_follow_up_is_edited_as_owners_say_where_they_stand(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance",
        "alice: /action Relancer le conseil",
        "bob: /action Écrire la charte",
        "anim: /seance fin",
    )
    await chat.wait(days=7)
    [posted] = chat.live("follow_up")
    assert posted.text == (
        "Une semaine après la séance 1 : où en sont les actions ? (2 ouvertes)\n"
        "- #1 Relancer le conseil — alice\n"
        "- #2 Écrire la charte — bob"
    )
    assert posted.mentions == (user("alice"), user("bob"))
    await chat.core.live.record("follow_up", posted.seance_id, "msg-9")
    await chat.say("alice", "/action bloque 1 budget")
    [edited] = chat.live("follow_up")
    assert edited.message_id == "msg-9"
    assert edited.mentions == (user("alice"), user("bob"))  # pinged only when first posted
    assert "- #1 Relancer le conseil — alice — bloquée (budget)" in edited.text
    await chat.say("alice", "/action fait 1")
    assert chat.live("follow_up")[0].text == (
        "Une semaine après la séance 1 : où en sont les actions ? (1 ouverte)\n"
        "- #2 Écrire la charte — bob\n"
        "- #1 Relancer le conseil — alice — ✅ faite"
    )
    await chat.say("bob", "/action fait 2")
    assert chat.live("follow_up")[0].text == (
        "Suivi de la séance 1 : toutes les actions sont faites.\n"
        "- #1 Relancer le conseil — alice — ✅ faite\n"
        "- #2 Écrire la charte — bob — ✅ faite"
    )
    await chat.say("bob", "/action fait 2")
    assert chat.live("follow_up") == []  # nothing changed: nothing to edit


async def test_the_console_prints_each_new_version(chat: Chat) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(chat.core, out, echo=False)
    await plan_circle(chat, "alice")
    await until(chat, SEANCE_1.replace(day=9))
    console.render(chat.last)
    await chat.say("alice", "/presence oui")
    console.render(chat.last)
    console.render(chat.last)  # the same version again: printed once
    printed = out.getvalue()
    pad = "\n" + " " * len("[cercle] ")
    assert "\n[cercle] " + QUESTION.replace("\n", pad) + HOW.replace("\n", pad) in printed
    edit = "[cercle, modifié] Serez-vous là à la séance 1"
    assert printed.count(edit) == 1
    answered = "Réponses — oui : 1 (alice) · peut-être : 0 · non : 0"
    assert printed.index(edit) < printed.index(answered)


async def test_the_rsvp_question_follows_the_seance_moved_then_opened(chat: Chat) -> None:
    await plan_circle(chat, "alice")
    await until(chat, SEANCE_1.replace(day=9))
    await chat.script("alice: /presence oui")
    await chat.say("anim", "/seance deplacer 1 2026-12-10 16:00")
    assert chat.refused is None
    [moved] = chat.live("rsvp")
    assert moved.text.startswith("Serez-vous là à la séance 1 (jeudi 10 décembre 2026 à 16:00) ?")
    assert moved.answers == ("yes", "maybe", "no")
    await until(chat, SEANCE_1.replace(hour=15))
    await chat.say("anim", "/seance")
    [opened] = chat.live("rsvp")
    assert opened.text.endswith(
        "Les réponses sont closes.\nRéponses — oui : 1 (alice) · peut-être : 0 · non : 0"
    )
    assert opened.closed
    assert opened.answers == ()
