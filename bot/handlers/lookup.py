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
    """After a séance is planned, moved, opened unplanned or cancelled: numbers by date. A
    séance that existed before the command and changes number is said once the command is done
    (people know it by its number: "séance 2" must not become "séance 1" unannounced)."""
    circle = ctx.require_circle()
    changes, total = await ctx.uow.seances.renumbering(circle.id)
    if changes and not ctx.renumbered:  # the first renumbering of this command
        ctx.finally_do.append(lambda: _say_renumbered(ctx))
    for seance_id, number in changes.items():  # only the séances whose number changes
        seance = await ctx.uow.seances.get(seance_id)
        if seance is not None:
            before = ctx.renumbered.get(seance_id, (seance.number, number))[0]
            ctx.renumbered[seance_id] = (before, number)
            seance.number = number
    circle.seance_counter = total


async def _say_renumbered(ctx: Context) -> None:
    lines = []
    for seance_id, (before, now) in sorted(ctx.renumbered.items(), key=lambda p: p[1][1]):
        seance = await ctx.uow.seances.get(seance_id)
        if seance_id in ctx.new_seances or before == now or seance is None:
            continue
        if seance.status not in (SeanceStatus.PLANNED, SeanceStatus.OPEN):
            continue  # a cancelled séance's number is nobody's reference any more
        start = seance.planned_at or seance.opened_at
        when = ctx.tr.datetime_text(ctx.lang, ctx.tz, start) if start else "—"
        lines.append(ctx.t("planning.renumbered_one", when=when, before=before, now=now))
    if lines:
        ctx.say("planning.renumbered", changes=ctx.t("planning.renumbered_separator").join(lines))


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
