"""The page's forms as the chat commands they are: one set of rules and refusals.

A form field only fills a command's arguments: the command itself is fixed by the action, and
line breaks are folded into spaces, so a field cannot smuggle in anything the facilitator
could not type in the channel anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

MAX_FIELD = 500

# action -> (command, fields in order); `plan` joins its fields with " | " as /seance planifier
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "plan": ("/seance planifier", ("when", "subject", "question")),
    "move": ("/seance deplacer", ("number", "when")),
    "cancel": ("/seance annuler", ("number",)),
    "subject": ("/seance sujet", ("number", "text")),
    "question": ("/seance question", ("number", "text")),
    "protocol": ("/seance protocole", ("number", "name")),
    "rsvp": ("/presence", ("answer", "number")),
}
MEMBER_ACTIONS = frozenset({"rsvp"})  # open to every member; the others are facilitators'
RSVP_ANSWERS = {"yes": "oui", "no": "non", "maybe": "peut-etre"}  # the form's value -> typed


def _field(fields: Mapping[str, str], name: str) -> str:
    return " ".join(fields.get(name, "").split())[:MAX_FIELD]


def command_text(action: str, fields: Mapping[str, str]) -> str | None:
    """The command a form sends; None for an action that does not exist."""
    if action not in ACTIONS:
        return None
    command, names = ACTIONS[action]
    if action == "plan":
        when, subject, question = (_field(fields, n).replace("|", "/") for n in names)
        parts = [when, subject, question]
        while parts and not parts[-1]:
            parts.pop()
        return f"{command} {' | '.join(parts)}".rstrip()
    if action == "rsvp":
        answer = RSVP_ANSWERS.get(_field(fields, "answer"))
        if answer is None:
            return None  # without an answer, /presence would only read: not a form's job
        return f"{command} {answer} {_field(fields, 'number')}".rstrip()
    args = " ".join(_field(fields, n) for n in names)
    return f"{command} {args}".rstrip()
