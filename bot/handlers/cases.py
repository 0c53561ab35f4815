"""`/cas`: proposing the next case between séances, voting for it, and choosing it.

A member proposes a case in one line and holds it. Each member has the circle's `case_votes`
votes to spread over the open cases (several on one is allowed). A facilitator closes the vote
or chooses: by default the case with most votes, ties going to whoever has held a case least.
The chosen case and its holder are attached to the next planned séance, so the protocol's
single-speaker phases go to the holder; the other cases stay for the next round, votes reset.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.cases import MAX_CASE_TITLE, CaseProposal, CaseStatus, most_voted, votes_used
from bot.domain.refs import UserRef
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers import case_voting
from bot.handlers.prepa import next_planned
from bot.views.wording import of_name


async def _open_cases(ctx: Context) -> list[CaseProposal]:
    circle = ctx.require_circle()
    return [c for c in await ctx.uow.cases.for_circle(circle.id) if c.status is CaseStatus.OPEN]


def _find(cases: list[CaseProposal], number: int) -> CaseProposal:
    found = next((c for c in cases if c.number == number), None)
    if found is None:
        raise Refusal("cases.unknown", number=number)
    return found


async def listing(ctx: Context, args: dict[str, Any]) -> None:
    """`/cas`: the open cases with their numbers and votes, and one's votes left."""
    circle = ctx.require_circle()
    cases = await _open_cases(ctx)
    if not cases:
        ctx.tell("cases.none")
        return
    left = circle.settings.case_votes - votes_used(cases, ctx.author)
    is_open = await case_voting.voting_open(ctx)
    state = "cases.voting_open" if is_open else "cases.voting_closed"
    lines = [ctx.t("cases.header", count=len(cases))]
    for case in sorted(cases, key=lambda c: (-c.total, c.number)):
        lines.append(
            ctx.t(
                "cases.line",
                number=case.number,
                title=case.title,
                holder=ctx.name(case.holder),
                votes=ctx.tr.plural(ctx.lang, "cases.votes", case.total),
            )
        )
    lines.append(ctx.t(state, left=left, total=circle.settings.case_votes))
    if is_open:
        until = case_voting.until_text(ctx, await ctx.uow.case_votes.get(circle.id))
        if until:
            lines.append(until)
    ctx.tell_text("\n".join(lines))


async def propose(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    title = " ".join(str(args["text"]).split())
    if len(title) > MAX_CASE_TITLE:
        raise Refusal("cases.title_too_long", limit=MAX_CASE_TITLE)
    case = CaseProposal(circle.id, 0, title, ctx.author, ctx.now)
    await ctx.uow.cases.add(case)
    ctx.say("cases.proposed", number=case.number, title=title, holder=ctx.name(ctx.author))


async def vote(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    if not await case_voting.voting_open(ctx):
        raise Refusal("cases.vote_closed")
    cases = await _open_cases(ctx)
    case = _find(cases, args["number"])
    allowed = circle.settings.case_votes
    if votes_used(cases, ctx.author) >= allowed:
        raise Refusal("cases.no_votes_left", total=allowed)
    case.votes[ctx.author] = case.votes.get(ctx.author, 0) + 1
    await ctx.uow.cases.update(case)
    left = allowed - votes_used(cases, ctx.author)
    ctx.tell(
        "cases.voted",
        number=case.number,
        title=case.title,
        votes=ctx.tr.plural(ctx.lang, "cases.votes", case.total),
        left=left,
    )


async def cases_held(ctx: Context) -> dict[UserRef, int]:
    circle = ctx.require_circle()
    held: dict[UserRef, int] = {}
    for seance in await ctx.uow.seances.for_circle(circle.id):
        if seance.case_owner is not None and seance.status is not SeanceStatus.CANCELLED:
            held[seance.case_owner] = held.get(seance.case_owner, 0) + 1
    return held


async def choose(ctx: Context, args: dict[str, Any]) -> None:
    """`/cas choisir [n]`: attach a case and its holder to the next planned séance."""
    circle = ctx.require_circle()
    cases = await _open_cases(ctx)
    number: int | None = args.get("number")
    seance = await next_planned(ctx)
    if number is not None:
        chosen = _find(cases, number)
    else:
        found = most_voted(cases, await cases_held(ctx))
        if found is None:
            raise Refusal("cases.none")
        chosen = found
    if seance is None:
        raise Refusal("cases.nothing_planned")
    await _refuse_absent_holder(ctx, seance, cases, chosen, chose_by_votes=number is None)
    if chosen.holder not in circle.members:
        raise Refusal("circle.not_a_member", name=ctx.name(chosen.holder))
    for case in cases:
        if case.seance_id == seance.id:
            case.seance_id = None
    chosen.status, chosen.seance_id = CaseStatus.CHOSEN, seance.id
    seance.case_owner = chosen.holder
    if not seance.subject:
        seance.subject = chosen.title
    reset = [case for case in cases if case is not chosen and case.votes]
    for case in cases:
        if case is not chosen:
            case.votes = {}  # a new round for the cases left
        await ctx.uow.cases.update(case)
    circle.settings.case_voting_open = True
    await case_voting.new_round(ctx)
    when = ctx.tr.datetime_text(ctx.lang, ctx.tz, seance.planned_at) if seance.planned_at else "—"
    ctx.say(
        "cases.chosen",
        number=seance.number,
        date=when,
        title=chosen.title,
        holder=ctx.name(chosen.holder),
        of_holder=of_name(ctx.lang, ctx.name(chosen.holder)),
        votes=ctx.tr.plural(ctx.lang, "cases.votes", chosen.total),
        mentions=(chosen.holder,),
    )
    if reset:  # the votes people gave the other cases are gone: said, not silent
        numbers = ", ".join(ctx.t("cases.number", number=c.number) for c in reset)
        ctx.say("cases.votes_reset", cases=numbers)


async def _refuse_absent_holder(
    ctx: Context,
    seance: Seance,
    cases: list[CaseProposal],
    chosen: CaseProposal,
    *,
    chose_by_votes: bool,
) -> None:
    """A holder who said they will not come cannot hold the séance's case: the facilitator is
    told and offered the next case, never moved on to it without knowing."""
    absent = {u for u, mark in seance.attendance.items() if mark is AttendanceStatus.EXCUSED}
    if chosen.holder not in absent:
        return
    holder = ctx.name(chosen.holder)
    if not chose_by_votes:
        raise Refusal(
            "cases.holder_excused", holder=holder, case=chosen.number, number=seance.number
        )
    coming = [c for c in cases if c.holder not in absent]
    other = most_voted(coming, await cases_held(ctx))
    if other is None:
        raise Refusal("cases.every_holder_excused", number=seance.number)
    raise Refusal(
        "cases.top_holder_excused",
        case=chosen.number,
        title=chosen.title,
        holder=holder,
        number=seance.number,
        other=other.number,
        other_title=other.title,
        of_other_holder=of_name(ctx.lang, ctx.name(other.holder)),
    )


MAX_CASE_VOTES = 20


async def set_votes(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle voix <n>`: how many votes each member has to choose the next case."""
    circle = ctx.require_circle()
    count: int = args["count"]
    if count > MAX_CASE_VOTES:
        raise Refusal("cases.bad_vote_count", limit=MAX_CASE_VOTES)
    circle.settings.case_votes = count
    ctx.say("cases.vote_count_set", count=count)


# Phases in which the case holder listens: the group works on the case without them.
HOLDER_LISTENS = frozenset({"consultation"})


def refuse_listening_holder(ctx: Context, seance: Seance) -> None:
    """The case holder asking for the floor during the consultation is told, kindly, why not."""
    phase = seance.phase
    if phase is not None and phase.key in HOLDER_LISTENS and seance.case_owner == ctx.author:
        raise Refusal("cases.holder_listens")
