"""`/prepa`: answering the preparation question before a séance, and showing the answers.

An answer goes to the next planned séance and can be rewritten until that séance opens. It is
for the facilitators unless its author shares it; at the opening the facilitators get every
answer privately and the circle the shared ones. The reminder the day before goes, privately,
to the members who have not answered (and have not said they will not come).
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.circle import Member
from bot.domain.preparation import MAX_ANSWER_LENGTH, PrepAnswer
from bot.domain.roles import Role
from bot.domain.rsvp import RsvpAnswer
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.errors import Refusal


async def next_planned(ctx: Context) -> Seance | None:
    """The next séance still to come: planned, and not yet past its planned time."""
    circle = ctx.require_circle()
    planned = [
        s
        for s in await ctx.uow.seances.for_circle(circle.id)
        if s.status is SeanceStatus.PLANNED and (s.planned_at is None or s.planned_at > ctx.now)
    ]
    return min(planned, key=lambda s: (s.planned_at or ctx.now, s.number)) if planned else None


async def _target(ctx: Context) -> Seance:
    seance = await next_planned(ctx)
    if seance is None:
        raise Refusal("prepa.nothing_planned")
    return seance


async def _mine(ctx: Context, seance: Seance) -> PrepAnswer | None:
    answers = await ctx.uow.answers.for_seance(seance.id)
    return next((a for a in answers if a.user == ctx.author), None)


def _visibility(ctx: Context, answer: PrepAnswer) -> str:
    return ctx.t("prepa.visible_circle" if answer.shared else "prepa.visible_facilitators")


async def answer(ctx: Context, args: dict[str, Any]) -> None:
    """`/prepa <texte>`: record or rewrite one's answer; `/prepa` alone shows it."""
    circle = ctx.require_circle()
    seance = await _target(ctx)
    mine = await _mine(ctx, seance)
    text = " ".join(str(args.get("text") or "").split())
    if not text:
        if mine is None:
            question = seance.prep_question or ctx.t("prepa.no_question")
            ctx.tell("prepa.none_yet", number=seance.number, question=question)
        else:
            ctx.tell(
                "prepa.yours",
                number=seance.number,
                text=mine.text,
                visibility=_visibility(ctx, mine),
            )
        return
    if len(text) > MAX_ANSWER_LENGTH:
        raise Refusal("prepa.too_long", limit=MAX_ANSWER_LENGTH)
    shared = mine.shared if mine else False
    given = PrepAnswer(circle.id, seance.id, ctx.author, text, ctx.now, shared)
    await ctx.uow.answers.put(given)
    key = "prepa.updated" if mine else "prepa.recorded"
    ctx.tell(key, number=seance.number, visibility=_visibility(ctx, given))


async def _set_shared(ctx: Context, shared: bool) -> None:
    seance = await _target(ctx)
    mine = await _mine(ctx, seance)
    if mine is None:
        raise Refusal("prepa.no_answer", number=seance.number)
    mine.shared = shared
    await ctx.uow.answers.put(mine)
    ctx.tell("prepa.visibility_set", number=seance.number, visibility=_visibility(ctx, mine))


async def share(ctx: Context, args: dict[str, Any]) -> None:
    """`/prepa partager`: the circle may read one's answer."""
    await _set_shared(ctx, True)


async def private(ctx: Context, args: dict[str, Any]) -> None:
    """`/prepa prive`: back to facilitators only."""
    await _set_shared(ctx, False)


def _answer_lines(ctx: Context, answers: list[PrepAnswer], *, marks: bool) -> list[str]:
    return [
        ctx.t(
            "prepa.answer_line",
            name=ctx.name(a.user),
            mark=" " + ctx.t("prepa.shared_mark") if marks and a.shared else "",
            text=a.text,
        )
        for a in answers
    ]


async def still_to_answer(ctx: Context, seance: Seance) -> list[Member]:
    """Participants who have not answered and have not said they would not come."""
    circle = ctx.require_circle()
    answered = {a.user for a in await ctx.uow.answers.for_seance(seance.id)}
    away = {r.user for r in await ctx.uow.rsvps.for_seance(seance.id) if r.answer is RsvpAnswer.NO}
    away |= {u for u, s in seance.attendance.items() if s is AttendanceStatus.EXCUSED}
    return [
        m
        for m in circle.roster()
        if m.user not in answered
        and m.user not in away
        and m.role is not Role.FACILITATOR
        and not m.user.is_anonymous
    ]


async def show(ctx: Context, args: dict[str, Any]) -> None:
    """`/prepa voir` (facilitators): every answer so far for the next séance, privately."""
    seance = await _target(ctx)
    answers = await ctx.uow.answers.for_seance(seance.id)
    lines = [ctx.t("prepa.all_header", number=seance.number, count=len(answers))]
    lines += _answer_lines(ctx, answers, marks=True)
    missing = await still_to_answer(ctx, seance)
    if missing:
        names = ", ".join(m.display_name for m in missing)
        lines.append(ctx.t("prepa.missing", names=names))
    ctx.tell_text("\n".join(lines), confidential=True)


async def reveal(ctx: Context, seance: Seance) -> None:
    """At the opening: every answer to each facilitator, the shared ones to the circle."""
    circle = ctx.require_circle()
    answers = await ctx.uow.answers.for_seance(seance.id)
    if not answers:
        return
    everything = [ctx.t("prepa.all_header", number=seance.number, count=len(answers))]
    everything += _answer_lines(ctx, answers, marks=True)
    for facilitator in circle.facilitators():
        ctx.tell_to(facilitator.user, "\n".join(everything))
    shared = [a for a in answers if a.shared]
    if shared:
        lines = [ctx.t("prepa.shared_header", number=seance.number, count=len(shared))]
        lines += _answer_lines(ctx, shared, marks=False)
        ctx.say_text("\n".join(lines), mentions=())


async def remind_unanswered(ctx: Context, seance: Seance) -> None:
    """The day before: a private nudge to each participant who has not answered yet."""
    text = ctx.t("prepa.reminder", number=seance.number, question=seance.prep_question or "")
    for member in await still_to_answer(ctx, seance):
        ctx.tell_to(member.user, text)


async def invite_directly(ctx: Context, seance: Seance, when: str) -> None:
    """With the preparation question: each participant who has not answered yet nor said no
    gets it by direct message too, and may answer there (bot/direct.py)."""
    circle = ctx.require_circle()
    answered = {a.user for a in await ctx.uow.answers.for_seance(seance.id)}
    text = ctx.t(
        "prepa.direct_invite",
        circle=circle.name,
        number=seance.number,
        date=when,
        question=seance.prep_question or "",
    )
    for member in circle.expected():
        if member.direct_prompts and member.user not in answered and not member.user.is_anonymous:
            ctx.tell_to(member.user, text)


async def direct_messages(ctx: Context, args: dict[str, Any]) -> None:
    """`/prepa dm oui|non`: whether the preparation question comes by direct message too."""
    circle = ctx.require_circle()
    member = circle.member(ctx.author)
    if member is None:
        raise Refusal("circle.roster_closed")
    member.direct_prompts = args["state"] == "on"
    ctx.tell("prepa.direct_on" if member.direct_prompts else "prepa.direct_off")
