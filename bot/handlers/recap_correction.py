"""`/recap duree @alice 4`: a facilitator corrects a turn's length before the recap is published.

A forgotten `/fini` leaves a turn running until someone else takes the floor or the séance
ends, and the recap would show minutes nobody spoke. The correction is kept beside the turn
(who made it and when) and every figure (the recap, `/bilan`, the export) uses it. Once the
recap is published the figures are facts others have read, so they no longer change.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.commands.context import Context
from bot.domain.refs import UserRef
from bot.domain.seance import Seance, SeanceStatus, Turn, TurnCorrection, TurnOutcome
from bot.errors import Refusal
from bot.recaps.posting import post_recap, recap_of

_MINUTES = re.compile(r"^(\d{1,4})(?:[.,](\d{1,2}))?\s*(?:min|mn|m)?$")
_MIN_SEC = re.compile(r"^(\d{1,4}):([0-5]\d)$")
_MINUS = ("-", "\u2212")


def parse_length(text: str) -> timedelta | None:
    """`4`, `4,5`, `4.5`, `4min`, `4:30` → a length (`-4` → a negative one, refused later as
    absurd); anything else (`abc`, `4h`) → None."""
    text = text.strip().lower()
    sign = -1 if text.startswith(_MINUS) else 1
    text = text.lstrip("".join(_MINUS))
    if found := _MIN_SEC.match(text):
        return sign * timedelta(minutes=int(found[1]), seconds=int(found[2]))
    if found := _MINUTES.match(text):
        fraction = float(f"0.{found[2]}") if found[2] else 0.0
        return sign * timedelta(minutes=int(found[1]) + fraction)
    return None


async def _draft(ctx: Context) -> Seance:
    """The latest closed séance whose recap awaits publication; otherwise the refusal that says
    why nothing can be corrected now."""
    circle = ctx.require_circle()
    closed = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.CLOSED,), None)
    pending = [s for s in closed if s.recap_pending]
    if pending:
        latest = max(pending, key=lambda s: (s.closed_at or ctx.now, s.number))
        seance = await ctx.uow.seances.get(latest.id)
        if seance is not None:
            return seance
    running = await ctx.uow.seances.open_for(circle.id)
    if running is not None:
        raise Refusal("recap.correct_not_closed", number=running.number)
    if closed:
        last = max(closed, key=lambda s: (s.closed_at or ctx.now, s.number))
        raise Refusal("recap.already_published", number=last.number)
    raise Refusal("recap.none_yet")


def _spoken_turns(seance: Seance, user: UserRef) -> list[Turn]:
    return [t for t in seance.turns if t.user == user and t.outcome is not TurnOutcome.PASSED]


def _choose(ctx: Context, turns: list[Turn], which: int | None, name: str) -> Turn:
    if which is None and len(turns) == 1:
        return turns[0]
    if which is not None and 1 <= which <= len(turns):
        return turns[which - 1]
    listing = ", ".join(
        f"{i} ({ctx.tr.duration_text(ctx.lang, _length(t))})" for i, t in enumerate(turns, start=1)
    )
    if which is None:
        raise Refusal("recap.correct_which", name=name, count=len(turns), turns=listing)
    raise Refusal("recap.correct_no_such_turn", name=name, n=which, turns=listing)


def _length(turn: Turn) -> timedelta:
    return turn.elapsed(turn.ended_at or turn.started_at, None)


async def correct_duration(ctx: Context, args: dict[str, Any]) -> None:
    seance = await _draft(ctx)
    user: UserRef = args["member"]
    name = ctx.name(user)
    length = parse_length(str(args["minutes"]))
    if length is None:
        raise Refusal("recap.correct_bad_length", value=args["minutes"])
    turns = _spoken_turns(seance, user)
    if not turns:
        raise Refusal("recap.correct_no_turn", name=name, number=seance.number)
    turn = _choose(ctx, turns, args.get("which"), name)
    held = (seance.closed_at or ctx.now) - (seance.opened_at or turn.started_at)
    if length <= timedelta(0) or length > held:
        raise Refusal(
            "recap.correct_absurd",
            value=args["minutes"],
            longest=ctx.tr.duration_text(ctx.lang, held),
        )
    before = _length(turn)
    turn.corrected = TurnCorrection(length, ctx.author, ctx.now)
    ctx.tell(
        "recap.corrected",
        name=name,
        number=seance.number,
        before=ctx.tr.duration_text(ctx.lang, before),
        after=ctx.tr.duration_text(ctx.lang, length),
    )
    post_recap(ctx, seance, await recap_of(ctx, seance), to=[ctx.author])
