"""Answers to a personal message as reactions on Matrix: an action owner's reminder before its
due date, in the bot's direct room with them (`Reply.answers`, bot/handlers/followup.py).

Discord puts a button per answer under the reminder; here the bot seeds one reaction per answer
(✅ done, ⏳ in progress, ⛔ blocked, 🆘 needs help), and the owner's reaction is their command in
the circle (`/action fait|encours|bloque|aide <n>`), members only, handled once by its event id.
Which circle and which command a reaction means is written into the reminder itself (a custom
content field, as Discord writes it into a button's id), so it works after a restart with
nothing stored: the adapter reads the reacted-to event back, and trusts it only if the bot sent
it.
"""

from __future__ import annotations

from typing import Any

from bot.effects import Answer

FIELD = "org.cercle.answers"  # in the reminder's content: {"room": ..., "answers": [...]}
REACTIONS = {
    "action.fait": "✅",
    "action.encours": "⏳",
    "action.bloque": "⛔",
    "action.aide": "🆘",
}


def offered(answers: tuple[Answer, ...]) -> list[tuple[str, Answer]]:
    """The answers a reaction can give, each with its emoji."""
    return [(REACTIONS[a.command], a) for a in answers if a.command in REACTIONS]


def with_answers(content: dict[str, Any], room_id: str, answers: tuple[Answer, ...]) -> None:
    """Write into `content` what each reaction means: a command in the circle's `room_id`."""
    content[FIELD] = {
        "room": room_id,
        "answers": [
            {"key": key, "command": a.command, "number": a.number} for key, a in offered(answers)
        ],
    }


def answer_of(content: dict[str, Any], key: str) -> tuple[str, str, int] | None:
    """The (circle's room, command key, number) a reaction `key` gives on a message with this
    content, if any (`✅️` is ✅)."""
    field = content.get(FIELD)
    if not isinstance(field, dict) or not isinstance(field.get("room"), str):
        return None
    for answer in field.get("answers") or []:
        if not isinstance(answer, dict):
            continue
        emoji, command, number = answer.get("key"), answer.get("command"), answer.get("number")
        if not isinstance(emoji, str) or not isinstance(command, str):
            continue
        if command in REACTIONS and isinstance(number, int) and emoji and key.startswith(emoji):
            return field["room"], command, number
    return None
