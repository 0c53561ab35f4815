"""`/presence oui|non|peut-etre [n]`: saying ahead whether one will come to a séance.

"non" is an excuse, the same mark `/excuse` gives; changing one's mind back to "oui" or
"peut-être" removes it. "Interested" on the séance's Discord event is a "oui" too, shown as
such (bot/interest.py); an answer given here replaces it. Facilitators see the counts and the
names in `/presence`, in `/seance liste` and, privately, with the reminder the day before.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.roles import Role
from bot.domain.rsvp import RSVP_ORDER, Rsvp, RsvpAnswer, answers_of
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers import live
from bot.handlers.prepa import next_planned

RECORDED_KEYS = {
    RsvpAnswer.YES: "rsvp.recorded_yes",
    RsvpAnswer.NO: "rsvp.recorded_no",
    RsvpAnswer.MAYBE: "rsvp.recorded_maybe",
}
ANSWER_KEYS = {
    RsvpAnswer.YES: "rsvp.label.yes",
    RsvpAnswer.NO: "rsvp.label.no",
    RsvpAnswer.MAYBE: "rsvp.label.maybe",
    RsvpAnswer.INTERESTED: "rsvp.label.interested",
}


async def _seance(ctx: Context, number: int | None) -> Seance:
    circle = ctx.require_circle()
    if number is None:
        seance = await next_planned(ctx)
        if seance is None:
            raise Refusal("rsvp.nothing_planned")
        return seance
    seance = await ctx.uow.seances.by_number(circle.id, number)
    if seance is None:
        raise Refusal("seance.unknown_number", number=number)
    if seance.status is not SeanceStatus.PLANNED:
        raise Refusal("rsvp.not_planned", number=number)
    return seance


async def tally(ctx: Context, seance: Seance) -> str:
    """Counts and names per answer, and who has not answered, for the facilitators."""
    circle = ctx.require_circle()
    excused = [u for u, s in seance.attendance.items() if s is AttendanceStatus.EXCUSED]
    answers = answers_of(await ctx.uow.rsvps.for_seance(seance.id), excused)
    parts = []
    for kind in RSVP_ORDER:
        names = [
            circle.name_of(u)
            if a is kind
            else ctx.t("rsvp.interested_name", name=circle.name_of(u))
            for u, a in answers.items()
            if a.counted_as is kind
        ]
        parts.append(
            ctx.t(
                "rsvp.tally_part",
                label=ctx.t(ANSWER_KEYS[kind]),
                count=len(names),
                names=", ".join(sorted(names)) or "—",
            )
        )
    silent = [m.display_name for m in circle.roster() if m.user not in answers]
    parts.append(
        ctx.t(
            "rsvp.tally_silent",
            count=len(silent),
            names=", ".join(silent) or "—",
        )
    )
    return ctx.t("rsvp.tally", number=seance.number) + "\n" + "\n".join(parts)


async def presence(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = await _seance(ctx, args.get("number"))
    value: str | None = args.get("answer")
    if value is None:
        given = await ctx.uow.rsvps.for_seance(seance.id)
        mine = next((r for r in given if r.user == ctx.author), None)
        if ctx.role >= Role.FACILITATOR:
            ctx.tell_text(await tally(ctx, seance), confidential=True)
        elif mine is None:
            ctx.tell("rsvp.none_yet", number=seance.number)
        else:
            ctx.tell("rsvp.yours", number=seance.number, answer=ctx.t(ANSWER_KEYS[mine.answer]))
        return
    answer = RsvpAnswer(value)
    if answer is RsvpAnswer.NO:
        seance.excuse(ctx.author)
    elif seance.attendance.get(ctx.author) is AttendanceStatus.EXCUSED:
        del seance.attendance[ctx.author]
        seance.excuse_reasons.pop(ctx.author, None)  # no stale reason if they say no again
    await ctx.uow.rsvps.put(
        Rsvp(circle.id, seance.id, ctx.author, answer, ctx.now, event_id=ctx.event_id)
    )
    when = ctx.tr.datetime_text(ctx.lang, ctx.tz, seance.planned_at) if seance.planned_at else "—"
    ctx.tell(RECORDED_KEYS[answer], number=seance.number, date=when)
    await live.refresh_rsvp(ctx, seance)


async def day_before(ctx: Context, seance: Seance) -> None:
    """With the reminder the day before: the RSVP question as a live message (the answers so
    far, edited as more come in), and (once someone has answered) the full tally, privately, for
    the facilitators."""
    circle = ctx.require_circle()
    await live.post_rsvp(ctx, seance)
    if not await ctx.uow.rsvps.for_seance(seance.id):
        return
    text = await tally(ctx, seance)
    for facilitator in circle.facilitators():
        ctx.tell_to(facilitator.user, text)
