"""Finding the séance a person means, by its number (`/excuse 3`) or its date (`/excuse 10/12`).

People remember the date of a séance more easily than its number; a date that matches no
séance, or several, is refused rather than guessed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.seance import Seance, SeanceStatus, SeanceSummary
from bot.errors import Refusal
from bot.timing.dates import calendar_day_of


def local_day(ctx: Context, seance: Seance | SeanceSummary) -> tuple[int, int, int] | None:
    at = seance.planned_at or seance.opened_at
    if at is None:
        return None
    day = at.astimezone(ZoneInfo(ctx.tz)).date()
    return (day.day, day.month, day.year)


async def renumber_seances(ctx: Context) -> None:
    """After a séance is planned, moved, opened unplanned or cancelled: numbers by date."""
    circle = ctx.require_circle()
    changes, total = await ctx.uow.seances.renumbering(circle.id)
    for seance_id, number in changes.items():  # only the séances whose number changes
        seance = await ctx.uow.seances.get(seance_id)
        if seance is not None:
            seance.number = number
    circle.seance_counter = total


async def find_seance(ctx: Context, ref: int | str) -> Seance:
    """The séance numbered `ref`, or the one (not cancelled) held or planned on the day `ref`."""
    circle = ctx.require_circle()
    if isinstance(ref, int):
        found = await ctx.uow.seances.by_number(circle.id, ref)
        if found is None:
            raise Refusal("seance.unknown_number", number=ref)
        return found
    typed = calendar_day_of(ref)
    if typed is None:
        raise Refusal("args.bad_seance_date", value=ref[:40])
    day, month, year = typed
    matches = []
    for seance in await ctx.uow.seances.summaries(circle.id):
        held = local_day(ctx, seance)
        if seance.status is SeanceStatus.CANCELLED or held is None:
            continue
        if held[:2] == (day, month) and (year is None or held[2] == year):
            matches.append(seance)
    if not matches:
        raise Refusal("seance.none_on_day", value=ref[:40])
    if len(matches) > 1:
        numbers = ", ".join(str(s.number) for s in matches)
        raise Refusal("seance.several_on_day", value=ref[:40], numbers=numbers)
    found = await ctx.uow.seances.get(matches[0].id)
    if found is None:
        raise Refusal("seance.none_on_day", value=ref[:40])
    return found
