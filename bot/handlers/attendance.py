"""Who is there: /present and /excuse (with a reason, for the facilitators' eyes only)."""

from __future__ import annotations

import re
from typing import Any

from bot.commands.context import Context
from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers import live
from bot.handlers.lookup import find_seance
from bot.handlers.turns import announce


async def present(ctx: Context, args: dict[str, Any]) -> None:
    # The dispatcher already records anyone who sends a command during an open séance.
    seance = ctx.require_open_seance()
    present = ctx.tr.plural(ctx.lang, "attendance.present_count", len(seance.present()))
    ctx.say("attendance.present", name=ctx.name(ctx.author), count=present)


MAX_REASON = 300
# "/excuse pour la séance 2 …": the number said in words before the reason
_NUMBER_IN_WORDS = re.compile(
    r"^(?:pour |from |for )?(?:la |the )?(?:s[ée]ance|session|n°|no\.?|#)\s*(\d{1,6})\b[\s:,.;-]*",
    re.IGNORECASE,
)


def _number_and_reason(args: dict[str, Any]) -> tuple[int | str | None, str | None]:
    number: int | str | None = args.get("number")
    reason = " ".join(str(args.get("reason") or "").split()) or None
    if number is None and reason is not None:
        found = _NUMBER_IN_WORDS.match(reason)
        if found is not None:
            number = int(found[1])
            reason = reason[found.end() :].strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise Refusal("item.too_long", limit=MAX_REASON)
    return number, reason


def _tell_facilitators(ctx: Context, seance: Seance, reason: str) -> None:
    circle = ctx.require_circle()
    text = ctx.t(
        "attendance.reason_for_facilitators",
        name=ctx.name(ctx.author),
        number=seance.number,
        reason=reason,
    )
    for member in circle.roster():
        if member.role is Role.FACILITATOR and member.user != ctx.author:
            ctx.tell_to(member.user, text)


async def excuse(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    number, reason = _number_and_reason(args)
    if number is None:
        seance = ctx.seance if ctx.seance and ctx.seance.is_open else None
        if seance is None:
            planned = [
                s
                for s in await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED,))
                if s.planned_at is None or s.planned_at > ctx.now
            ]
            first = min(planned, key=lambda s: s.number) if planned else None
            seance = await ctx.uow.seances.get(first.id) if first else None
        if seance is None:
            raise Refusal("attendance.nothing_to_excuse")
    else:
        seance = await find_seance(ctx, number)
    if seance.attendance.get(ctx.author) is AttendanceStatus.EXCUSED and (
        reason is None or seance.excuse_reasons.get(ctx.author) == reason
    ):
        ctx.tell("attendance.already_excused", number=seance.number)
        return
    was_open = seance.is_open
    seance.excuse(ctx.author, reason)
    if was_open:
        ctx.say("attendance.excused_now", name=ctx.name(ctx.author))
        announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))
    else:
        ctx.tell("attendance.excused", number=seance.number)
        await live.refresh_rsvp(ctx, seance)  # an excuse is a "no" on the RSVP message
    if reason is not None:
        ctx.tell("attendance.reason_noted", reason=reason)
        _tell_facilitators(ctx, seance, reason)
