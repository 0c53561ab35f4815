"""What to type instead: a refusal about a command's words ends with a worked example.

A newcomer who typed a command almost right learns more from one example that works than from
a usage line, so the parser's refusals (a missing, extra or unreadable argument) carry the
command's first example from the help and where to read more.
"""

from __future__ import annotations

from bot.commands.parser import CommandParser
from bot.errors import Refusal
from bot.ports import Translator


def refusal_hint(tr: Translator, lang: str, parser: CommandParser, refusal: Refusal) -> str | None:
    """`Par exemple : /seance cycle 4 2sem jeudi 14h …` for a refusal naming a command's usage."""
    if not refusal.key.startswith("args.") or "usage" not in refusal.args_:
        return None
    found = parser.by_key(str(refusal.args_["usage"]))
    if found is None:
        return None
    spec, parent = found
    key = f"help.example.{spec.key}"
    if not tr.has(lang, key):
        return None
    example = tr.text(lang, key).splitlines()[0]
    topic = " ".join(s.name(lang) for s in (parent, spec) if s is not None)
    return tr.text(lang, "refusal.example", example=example, topic=topic)
