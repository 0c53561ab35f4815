"""Who is there: /present and /excuse."""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.seance import AttendanceStatus, SeanceStatus
from bot.errors import Refusal
from bot.handlers.lookup import find_seance
from bot.handlers.turns import announce


async def present(ctx: Context, args: dict[str, Any]) -> None:
    # The dispatcher already records anyone who sends a command during an open séance.
    seance = ctx.require_open_seance()
    present = ctx.tr.plural(ctx.lang, "attendance.present_count", len(seance.present()))
    ctx.say("attendance.present", name=ctx.name(ctx.author), count=present)


async def excuse(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    number: int | str | None = args.get("number")
    if number is None:
        seance = ctx.seance if ctx.seance and ctx.seance.is_open else None
        if seance is None:
            planned = [
                s
                for s in await ctx.uow.seances.for_circle(circle.id)
                if s.status is SeanceStatus.PLANNED
                and (s.planned_at is None or s.planned_at > ctx.now)
            ]
            seance = min(planned, key=lambda s: s.number) if planned else None
        if seance is None:
            raise Refusal("attendance.nothing_to_excuse")
    else:
        seance = await find_seance(ctx, number)
    if seance.attendance.get(ctx.author) is AttendanceStatus.EXCUSED:
        ctx.tell("attendance.already_excused", number=seance.number)
        return
    was_open = seance.is_open
    seance.excuse(ctx.author)
    if was_open:
        ctx.say("attendance.excused_now", name=ctx.name(ctx.author))
        announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))
    else:
        ctx.tell("attendance.excused", number=seance.number)
