"""Bad input gets one clear message in the circle's language and changes nothing."""

from __future__ import annotations

import copy

import pytest

from tests.conversation import Chat, start_circle
from tests.fakes import MemoryDatabase


async def test_command_in_a_channel_with_no_circle(chat: Chat) -> None:
    await chat.say("alice", "/tour")
    assert chat.refused == "circle.none_here"
    assert chat.text.startswith("Il n'y a pas de cercle dans ce salon.")


async def test_unknown_command(chat: Chat) -> None:
    await start_circle(chat)
    await chat.say("alice", "/chanter")
    assert chat.text == (
        "Je ne connais pas la commande « chanter ». Tapez /aide pour la liste des commandes.\n"
        "Vous faites maintenant partie du cercle."
    )


async def test_unknown_command_in_english(chat: Chat) -> None:
    await start_circle(chat)
    await chat.say("anim", "/cercle langue en")
    assert chat.public() == ["The circle now speaks English."]
    await chat.say("alice", "/sing")
    assert chat.text == (
        'I don\'t know the command "sing". Type /help for the list of commands.\n'
        "You are now a member of the circle."
    )


@pytest.mark.parametrize(
    ("text", "refusal", "message"),
    [
        (
            "/seance phase demain",
            "args.bad_choice",
            "« demain » n'est pas un choix possible. "
            "Usage : /seance phase <suivante|tour|libre|unique> [@membre]",
        ),
        (
            "/recap deux",
            "args.bad_seance",
            "« deux » n'est ni un numéro ni une date de séance (exemples : 2, 10/12). "
            "Usage : /recap [n|date]",
        ),
        (
            "/seance cas",
            "args.missing",
            "Il manque membre. Usage : /seance cas <@membre>",
        ),
        ("/cercle fuseau Mars/Olympus", "circle.bad_timezone", None),
        ("/seance nimporte", "command.unknown_sub", None),
        ("/recap 1 maintenant", "args.too_many", None),
        ("/action faire le budget échéance 2020-01-01", "item.due_in_past", None),
        ("/action faire le budget échéance 31/02/2027", "planning.no_such_date", None),
        ("/tour " + "x" * 5000, "command.too_long", None),
    ],
)
async def test_wrong_arguments_are_refused_and_change_nothing(
    memory_db: MemoryDatabase, text: str, refusal: str, message: str | None
) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "alice")
    before = copy.deepcopy(memory_db.store)
    await chat.say("anim", text)
    assert chat.refused == refusal
    if message is not None:
        assert chat.text.splitlines()[0] == message  # then an example of what to type
    assert memory_db.store.circles == before.circles
    assert memory_db.store.seances == before.seances
    assert memory_db.store.items == before.items


async def test_participant_cannot_steer(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "alice")
    before = copy.deepcopy(memory_db.store)
    for command in (
        "/seance fin",
        "/seance phase suivante",
        "/cercle langue en",
        "/decision on arrête",
        "/cercle animateur @alice",
    ):
        await chat.say("alice", command)
        assert chat.refused == "permission.facilitator_only", command
    assert memory_db.store.seances == before.seances
    assert memory_db.store.circles == before.circles


async def test_platform_facilitator_may_steer(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.say("moderator", "/seance phase suivante", platform_facilitator=True)
    assert chat.refused is None


async def test_closed_roster_refuses_newcomers(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "alice")
    await chat.say("anim", "/cercle inscriptions fermees")
    await chat.say("intrus", "/tour")
    assert chat.refused == "circle.roster_closed"
    circle = next(iter(memory_db.store.circles.values()))
    assert "intrus" not in {u.id for u in circle.members}
    await chat.say("alice", "/present")
    assert chat.refused is None


async def test_first_command_makes_a_member(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat)
    await chat.say("nouvelle", "/aide")
    circle = next(iter(memory_db.store.circles.values()))
    assert [m.display_name for m in circle.roster()] == ["anim", "nouvelle"]


async def test_circle_cannot_be_created_twice(chat: Chat) -> None:
    await start_circle(chat)
    await chat.say("other", "/cercle creer Autre")
    assert chat.refused == "circle.already_exists"
    assert chat.text == (
        "Ce salon a déjà un cercle : « Test ».\nVous faites maintenant partie du cercle."
    )


async def test_refused_commands_do_not_commit(memory_db: MemoryDatabase) -> None:
    chat = Chat(memory_db)
    await start_circle(chat, "alice")
    commits = memory_db.store.commits
    await chat.say("alice", "/fini")
    await chat.say("alice", "/seance fin")
    assert memory_db.store.commits == commits


async def test_accents_and_bang_prefix_work(chat: Chat) -> None:
    await start_circle(chat, "alice", protocol="libre")
    await chat.say("anim", "/Séance phase libre")
    assert chat.refused is None
    await chat.say("alice", "!tour")
    assert chat.public() == ["alice, vous avez la parole."]


async def test_retention_zero_is_refused_with_both_meanings(chat: Chat) -> None:
    await start_circle(chat)
    await chat.say("anim", "/cercle conservation 0")
    assert chat.refused == "circle.retention_zero"
    assert "/cercle conservation jamais" in chat.text


async def test_the_words_discord_lists_a_command_under_work_when_typed(chat: Chat) -> None:
    await chat.script("anim: /cercle creer Essai")
    await chat.say("anim", "/seance ouvrir")
    assert chat.refused is None, chat.text
    await chat.say("bea", "/present")
    await chat.say("anim", "/action ajouter @bea Appeler la présidente")
    assert chat.public() == ["Action n° 1 pour bea : Appeler la présidente"]
    # before free text without a mention, the word is the action's own first word
    await chat.say("anim", "/action ajouter des chaises pour l'AG")
    assert chat.public() == ["Action n° 2 pour anim : ajouter des chaises pour l'AG"]
    await chat.say("anim", "/recap voir")  # the recap's own refusal, not "not a subcommand"
    assert chat.refused == "recap.none_yet"
