"""The plan form's fields become the chat command they stand for, and nothing more."""

from __future__ import annotations

from bot.pages.actions import command_text


def test_each_action_is_its_chat_command() -> None:
    assert (
        command_text("move", {"number": "2", "when": "mardi\n14h"})
        == "/seance deplacer 2 mardi 14h"
    )
    assert command_text("cancel", {"number": "3"}) == "/seance annuler 3"
    assert (
        command_text("subject", {"number": "3", "text": " Déléguer "}) == "/seance sujet 3 Déléguer"
    )
    assert command_text("protocol", {"number": "3", "name": "codev"}) == "/seance protocole 3 codev"
    assert command_text("plan", {"when": "10/12 14h"}) == "/seance planifier 10/12 14h"
    assert (
        command_text("plan", {"when": "10/12 14h", "question": "Quoi ?"})
        == "/seance planifier 10/12 14h |  | Quoi ?"
    )


def test_fields_cannot_add_commands_or_arguments() -> None:
    # a bar would start the next /seance planifier field; a line break another command
    assert (
        command_text("plan", {"when": "10/12 14h | x", "subject": "a|b\n/cercle creer Y"})
        == "/seance planifier 10/12 14h / x | a/b /cercle creer Y"
    )
    assert command_text("delete_everything", {}) is None
    assert command_text("move", {}) == "/seance deplacer"  # the parser refuses the missing n
