"""Commands handed over already parsed (Discord options, buttons): values are only values."""

from __future__ import annotations

from bot.domain.refs import UserRef
from bot.effects import Reply
from tests.conversation import Chat, start_circle, user


async def test_a_text_option_that_looks_like_a_subcommand_is_only_text(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.use("alice", "action", text="préparer le budget")
    await chat.use("alice", "action", text="fait 1")
    assert chat.refused is None
    assert "fait 1" in chat.text
    await chat.say("alice", "/action fait 1")  # typed as text, it is the subcommand
    assert chat.refused is None
    assert chat.public()
    assert "préparer le budget" in chat.public()[0]
    assert chat.private_to("alice") == []  # not "already done"


async def test_a_text_option_that_starts_with_a_mention_or_a_command(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.use("alice", "action", text="@bob relire la charte")
    assert chat.refused is None
    assert "@bob relire la charte" in chat.text
    await chat.use("alice", "note", text="/seance fin")
    assert chat.refused is None
    assert chat.text.startswith("Note n° 2")
    await chat.say("alice", "/file")
    assert chat.refused is None  # the séance is still open


async def test_typed_arguments_are_checked_like_typed_text(chat: Chat) -> None:
    await start_circle(chat, "alice")
    await chat.use("alice", "note", text="   ")
    assert chat.refused == "args.missing"
    await chat.use("anim", "seance phase", which="demain")
    assert chat.refused == "args.bad_choice"
    await chat.use("alice", "action fait", number=0)
    assert chat.refused == "args.bad_number"
    await chat.use("anim", "cercle fuseau", zone="Europe/Paris et plus")
    assert chat.refused == "circle.bad_timezone"  # read whole, as a place
    await chat.use("alice", "action", owner="<@42>", text="x")
    assert chat.refused == "args.bad_user"


async def test_a_person_named_by_the_platform_is_named_not_numbered(chat: Chat) -> None:
    await start_circle(chat)
    newcomer = UserRef("console", "81234")
    await chat.use("anim", "cercle animateur", names={newcomer: "Zoé"}, member=newcomer)
    assert chat.refused is None
    assert "Zoé" in chat.text
    assert "81234" not in chat.text


async def test_a_button_is_the_command_without_arguments(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    await chat.say("anim", "/seance phase libre")
    await chat.use("alice", "tour")
    assert chat.refused is None
    await chat.use("bob", "tour", motive="@everyone")
    assert chat.refused is None
    assert "bob" in (chat.status() or "")
    await chat.use("bob", "tour")
    assert user("bob") in {e.to for e in chat.last if isinstance(e, Reply)}  # your position
