"""How a vote on the next case opens and ends: a closing time, a facilitator, or the clock.

`/cas ouvrir [jusqu'à <quand>]` opens a round (or changes its closing time): the time is a
date as people type it elsewhere (`vendredi 18h`, `12/12 9h`) or a length (`48h`, `3j`,
`1 semaine`); a time already past is refused, as planning refuses one. At that time the
scheduler closes the vote and announces the standings (bot/timing/vote_closing.py); a
facilitator may close it earlier with `/cas clore`. Either way the closing is said once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.commands.context import Context
from bot.domain.case_vote import CLOSE_GRACE, MAX_VOTE_LENGTH, CaseVote, close_key
from bot.domain.cases import CaseProposal, CaseStatus, most_voted, votes_used
from bot.effects import PollEnd, PollPost
from bot.errors import Refusal
from bot.handlers.planning import parse_instant
from bot.ports import Wakeup
from bot.timing.dates import WhenError, parse_every

SHOWN_IN_RESULT = 5
POLL_ANSWERS = 10  # Discord's limit for a poll's answers
POLL_LABEL = 55  # Discord's limit for an answer's text
POLL_QUESTION = 300  # and for the question
_UNTIL = re.compile(r"^\s*(?:jusqu['’ ]?\s*(?:à|a|au)|until|till|avant|before)\s+", re.IGNORECASE)
_HOURS = re.compile(r"^\s*(\d{1,3})\s*(?:h|heures?|hours?|hrs?)\s*$", re.IGNORECASE)


def closing_time(ctx: Context, typed: str) -> datetime:
    """The instant a vote closes, from a length (`48h`, `3j`) or a date and time."""
    text = _UNTIL.sub("", typed).strip()
    hours = _HOURS.match(text)
    if hours is not None:
        closes = ctx.now + timedelta(hours=int(hours.group(1)))
    else:
        try:
            closes = ctx.now + parse_every(text)
        except WhenError:
            closes = parse_instant(ctx, text)
    if closes <= ctx.now or closes - ctx.now < timedelta(minutes=1):
        raise Refusal("cases.closing_too_soon")
    if closes - ctx.now > MAX_VOTE_LENGTH:
        raise Refusal("cases.closing_too_far", days=MAX_VOTE_LENGTH.days)
    return closes


async def current(ctx: Context) -> CaseVote:
    """The circle's current round, made if it has none yet (voting open since ever)."""
    circle = ctx.require_circle()
    vote = await ctx.uow.case_votes.get(circle.id)
    return vote if vote is not None else CaseVote(circle.id, ctx.now)


async def voting_open(ctx: Context) -> bool:
    """Whether votes count now: open, and its closing time not reached (the clock may be a
    moment ahead of the scheduler's wake-up)."""
    circle = ctx.require_circle()
    if not circle.settings.case_voting_open:
        return False
    vote = await ctx.uow.case_votes.get(circle.id)
    return vote is None or vote.closes_at is None or vote.closes_at > ctx.now


def until_text(ctx: Context, vote: CaseVote | None) -> str:
    """`jusqu'au …` when the vote has a closing time, else nothing."""
    if vote is None or vote.closes_at is None or vote.closed:
        return ""
    return ctx.t("cases.until", date=ctx.tr.datetime_text(ctx.lang, ctx.tz, vote.closes_at))


async def open_vote(ctx: Context, args: dict[str, Any]) -> None:
    """`/cas ouvrir [jusqu'à <quand>]`: open the vote (again), with or without a closing time."""
    circle = ctx.require_circle()
    typed = " ".join(str(args.get("when") or "").split())
    closes = closing_time(ctx, typed) if typed else None
    vote = await current(ctx)
    reopened = vote.closed or not circle.settings.case_voting_open
    vote.closes_at, vote.closed_at, vote.claimed_by = closes, None, None
    if reopened:
        vote.opened_at = ctx.now
    circle.settings.case_voting_open = True
    key = close_key(circle.id)
    ctx.wakeups[key] = Wakeup(closes, CLOSE_GRACE) if closes is not None else None
    cases = [c for c in await ctx.uow.cases.for_circle(circle.id) if c.status is CaseStatus.OPEN]
    lines = [ctx.t("cases.vote_opened", total=circle.settings.case_votes, count=len(cases))]
    until = until_text(ctx, vote)
    lines += [until] if until else []
    lines += [_line(ctx, c) for c in sorted(cases, key=lambda c: c.number)]
    ctx.say_text("\n".join(lines))
    end_poll(ctx, vote)
    post_poll(ctx, vote, cases)
    await ctx.uow.case_votes.put(vote)


def post_poll(ctx: Context, vote: CaseVote, cases: list[CaseProposal]) -> None:
    """A native poll on the open cases, where the platform has them (the command stays)."""
    circle = ctx.require_circle()
    shown = sorted(cases, key=lambda c: c.number)[:POLL_ANSWERS]
    if not shown:
        return
    vote.poll_cases = tuple(c.number for c in shown)
    answers = tuple(
        (c.number, ctx.t("cases.poll_answer", number=c.number, title=c.title)[:POLL_LABEL])
        for c in shown
    )
    question = ctx.t("cases.poll_question", total=circle.settings.case_votes)[:POLL_QUESTION]
    selections = min(circle.settings.case_votes, len(shown))
    ctx.effects.append(
        PollPost(ctx.channel, circle.id, question, answers, selections, vote.closes_at)
    )


def end_poll(ctx: Context, vote: CaseVote) -> None:
    """The round's native poll, if it has one, ends with it."""
    if vote.poll_ref is not None:
        ctx.effects.append(PollEnd(ctx.channel, vote.poll_ref, ctx.t("cases.poll_ended")))
    vote.poll_ref, vote.poll_cases = None, ()


def _line(ctx: Context, case: CaseProposal) -> str:
    return ctx.t(
        "cases.line",
        number=case.number,
        title=case.title,
        holder=ctx.name(case.holder),
        votes=ctx.tr.plural(ctx.lang, "cases.votes", case.total),
    )


async def announce_closed(ctx: Context, vote: CaseVote) -> None:
    """Close the vote and say the standings to the circle (by a facilitator or at its time);
    the caller stores `vote`, whose native poll ends."""
    circle = ctx.require_circle()
    circle.settings.case_voting_open = False
    end_poll(ctx, vote)
    cases = [c for c in await ctx.uow.cases.for_circle(circle.id) if c.status is CaseStatus.OPEN]
    ranked = sorted((c for c in cases if c.total), key=lambda c: (-c.total, c.number))
    if not ranked:
        ctx.say("cases.closed_no_votes")
        return
    voters = {u for c in cases for u, n in c.votes.items() if n}
    lines = [ctx.t("cases.closed_result", voters=len(voters))]
    lines += [_line(ctx, c) for c in ranked[:SHOWN_IN_RESULT]]
    from bot.handlers.cases import cases_held

    leader = most_voted(ranked, await cases_held(ctx)) or ranked[0]
    lines.append(ctx.t("cases.closed_next", number=leader.number))
    ctx.say_text("\n".join(lines))


async def close(ctx: Context, args: dict[str, Any]) -> None:
    """`/cas clore`: a facilitator ends the vote now (before its closing time, if any)."""
    circle = ctx.require_circle()
    if not await voting_open(ctx) and not circle.settings.case_voting_open:
        ctx.tell("cases.already_closed")
        return
    vote = await current(ctx)
    if vote.closed:
        ctx.tell("cases.already_closed")
        return
    vote.closed_at, vote.claimed_by = ctx.now, None
    ctx.wakeups[close_key(circle.id)] = None
    await announce_closed(ctx, vote)
    await ctx.uow.case_votes.put(vote)


async def new_round(ctx: Context) -> None:
    """After a choice: a fresh round for the cases left, open with no closing time."""
    circle = ctx.require_circle()
    old = await ctx.uow.case_votes.get(circle.id)
    if old is not None:
        end_poll(ctx, old)
    await ctx.uow.case_votes.put(CaseVote(circle.id, ctx.now))
    ctx.wakeups[close_key(circle.id)] = None


async def withdraw(ctx: Context, args: dict[str, Any]) -> None:
    """`/cas retirer <n>`: take back one of one's votes on a case while the vote is open."""
    circle = ctx.require_circle()
    if not await voting_open(ctx):
        raise Refusal("cases.vote_closed")
    cases = [c for c in await ctx.uow.cases.for_circle(circle.id) if c.status is CaseStatus.OPEN]
    case = next((c for c in cases if c.number == args["number"]), None)
    if case is None:
        raise Refusal("cases.unknown", number=args["number"])
    mine = case.votes.get(ctx.author, 0)
    if mine == 0:
        raise Refusal("cases.no_vote_here", number=case.number)
    if mine == 1:
        del case.votes[ctx.author]
    else:
        case.votes[ctx.author] = mine - 1
    await ctx.uow.cases.update(case)
    left = circle.settings.case_votes - votes_used(cases, ctx.author)
    ctx.tell(
        "cases.withdrawn",
        number=case.number,
        votes=ctx.tr.plural(ctx.lang, "cases.votes", case.total),
        left=left,
    )
