"""The check-in round's words: `/meteo <mot>`, or `/tour <motif>` during the check-in round.

Sharing a word is a choice: nothing goes in the recap unless its author typed it for that, and
`/meteo retirer` takes it back. Words are deleted with the circle's retention (and by /oubli).
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.commands.parser import fold
from bot.domain.seance import CheckIn, Seance
from bot.errors import Refusal

MAX_WORD = 60
WITHDRAW = {"retirer", "effacer", "supprimer", "remove", "delete", "clear"}


def record(ctx: Context, seance: Seance, word: str) -> None:
    seance.checkins[ctx.author] = CheckIn(word, ctx.now)
    ctx.tell("checkin.recorded", word=word)


def from_turn_motive(ctx: Context, seance: Seance, motive: str | None) -> None:
    """`/tour calme` in the check-in round shares "calme" as your word (if it is short)."""
    word = " ".join((motive or "").split())
    if word and seance.in_checkin_round() and len(word) <= MAX_WORD:
        record(ctx, seance, word)


async def meteo(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    word = " ".join(str(args.get("word") or "").split())
    current = seance.checkins.get(ctx.author)
    if not word:
        if current is None:
            ctx.tell("checkin.none")
        else:
            ctx.tell("checkin.current", word=current.word)
        return
    if fold(word) in WITHDRAW:
        if current is None:
            raise Refusal("checkin.nothing_to_remove")
        del seance.checkins[ctx.author]
        ctx.tell("checkin.removed")
        return
    if len(word) > MAX_WORD:
        raise Refusal("checkin.too_long", limit=MAX_WORD)
    record(ctx, seance, word)
