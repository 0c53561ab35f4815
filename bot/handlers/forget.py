"""`/oubli`: a member erases what the circle stores about them (a facilitator can do it for someone
who left).

Their name leaves the roster; their notes, check-in words, preparation answers, RSVPs, votes and
open case proposals are deleted (a case already chosen stays, without their name); their
speaking turns and attendance marks stay, under an anonymous id (`anon:N`), so the circle's
speaking times and attendance keep adding up; decisions and actions they recorded or owned stay,
without their name. The first `/oubli` says what will happen; `/oubli confirmer` does it. What
other people wrote in their own notes is not changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands.context import Context
from bot.domain.cases import CaseStatus
from bot.domain.circle import Circle
from bot.domain.items import ItemKind
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.seance import SeanceStatus
from bot.errors import Refusal
from bot.views.wording import of_name


@dataclass(frozen=True, slots=True)
class Stored:
    """What the circle keeps about one person."""

    turns: int
    seances: int
    marks: int
    notes: int
    checkins: int
    items: int  # decisions and actions they recorded or own
    answers: int = 0  # preparation answers, RSVPs, votes and open case proposals (deleted)
    chosen_cases: int = 0  # cases of theirs already chosen for a séance (kept, without the name)


async def stored_about(ctx: Context, circle: Circle, user: UserRef) -> Stored:
    seances = await ctx.uow.seances.for_circle(circle.id)
    items = await ctx.uow.items.for_circle(circle.id)
    turns = [t for s in seances for t in s.turns if t.user == user]
    cases = await ctx.uow.cases.for_circle(circle.id)
    kept = [c for c in cases if c.holder == user and c.status is not CaseStatus.OPEN]
    return Stored(
        turns=len(turns),
        seances=len({t_s.id for t_s in seances for t in t_s.turns if t.user == user}),
        marks=sum(1 for s in seances if user in s.attendance),
        notes=sum(1 for i in items if i.kind is ItemKind.NOTE and i.author == user),
        checkins=sum(1 for s in seances if user in s.checkins),
        items=sum(1 for i in items if i.kind is not ItemKind.NOTE and user in (i.author, i.owner)),
        answers=sum(1 for a in await ctx.uow.answers.for_circle(circle.id) if a.user == user)
        + sum(1 for r in await ctx.uow.rsvps.for_circle(circle.id) if r.user == user)
        + sum(1 for c in cases if c not in kept and (c.holder == user or user in c.votes)),
        chosen_cases=len(kept),
    )


def _lines(ctx: Context, stored: Stored, anonymous: str) -> list[str]:
    answers = [ctx.t("forget.answers", count=stored.answers)] if stored.answers else []
    return [
        ctx.t("forget.roster"),
        ctx.t("forget.notes", count=stored.notes),
        ctx.t("forget.checkins", count=stored.checkins),
        ctx.t("forget.turns", count=stored.turns, seances=stored.seances, anonymous=anonymous),
        ctx.t("forget.marks", count=stored.marks),
        *answers,
        *([ctx.t("forget.chosen_cases", count=stored.chosen_cases)] if stored.chosen_cases else []),
        ctx.t("forget.items", count=stored.items),
    ]


async def oubli(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    target: UserRef = args.get("member") or ctx.author
    confirmed = args.get("confirm") == "confirm"
    if target != ctx.author and ctx.role < Role.FACILITATOR:
        raise Refusal("forget.facilitator_only")
    member = circle.member(target)
    if member is None:
        raise Refusal("forget.not_a_member", name=ctx.name(target)[:60])
    if ctx.seance is not None and ctx.seance.is_open:
        raise Refusal("forget.seance_open")
    if member.role is Role.FACILITATOR and len(circle.facilitators()) == 1:
        raise Refusal("forget.last_facilitator")
    name = member.display_name
    stored = await stored_about(ctx, circle, target)
    if not confirmed:
        mention = "" if target == ctx.author else f" @{name}"
        lines = [ctx.t("forget.preview", of_name=of_name(ctx.lang, name))]
        lines += ["- " + line for line in _lines(ctx, stored, ctx.t("forget.anonymous_word"))]
        lines.append(ctx.t("forget.others"))
        lines.append(ctx.t("forget.confirm_with", mention=mention))
        ctx.tell_text("\n".join(lines), confidential=True)
        return
    anonymous = circle.next_anonymous()
    await ctx.uow.seances.anonymise(circle.id, target, anonymous)
    items = await ctx.uow.items.for_circle(circle.id)
    notes = [i.number for i in items if i.kind is ItemKind.NOTE and i.author == target]
    await ctx.uow.items.delete(circle.id, notes)
    await ctx.uow.answers.delete_for(circle.id, target)
    await ctx.uow.rsvps.delete_for(circle.id, target)
    orphaned: list[str] = []
    for case in await ctx.uow.cases.for_circle(circle.id):
        if case.holder == target and case.status is CaseStatus.OPEN:
            await ctx.uow.cases.delete(circle.id, case.number)
        elif case.holder == target or target in case.votes:
            if case.holder == target:
                case.holder = anonymous
                orphaned += await _orphaned_case(ctx, case.seance_id, case.title)
            case.votes.pop(target, None)
            await ctx.uow.cases.update(case)
    for item in items:
        if item.kind is ItemKind.NOTE or target not in (item.author, item.owner):
            continue
        if item.author == target:
            item.author = anonymous
        if item.owner == target:
            item.owner = anonymous
        await ctx.uow.items.update(item)
    del circle.members[target]
    ctx.uow.erase_traces()
    label = ctx.t("person.anonymous", number=anonymous.id)
    lines = [ctx.t("forget.done", of_name=of_name(ctx.lang, name))]
    lines += ["- " + line for line in _lines(ctx, stored, label)]
    lines.append(ctx.t("forget.others"))
    ctx.tell_text("\n".join(lines), confidential=True)
    for text in orphaned:  # the facilitators must find the séance a new case, not discover it
        for other in circle.roster():
            if other.role is Role.FACILITATOR:
                ctx.tell_to(other.user, text)


async def _orphaned_case(ctx: Context, seance_id: int | None, title: str) -> list[str]:
    """What the facilitators are told when a case chosen for a séance still to come loses its
    holder (nobody's name in it)."""
    seance = await ctx.uow.seances.get(seance_id) if seance_id is not None else None
    if seance is None or seance.status is not SeanceStatus.PLANNED:
        return []
    return [ctx.t("forget.case_orphaned", number=seance.number, title=title)]
