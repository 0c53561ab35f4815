"""Lean Coffee in a séance: which topic comes next, how long its time box is, and what is said
when it runs out. The phases themselves are started by `bot.handlers.seance`; the commands
people type (`/sujet`, `/prolonger`) are in `bot.handlers.topics`.

When a topic's time box runs out, the thumbs vote is a live message (bot/handlers/live.py), so
platforms offer it natively: 👍 / 👎 buttons on Discord, 👍 / 👎 reactions on Matrix, each
handed to the core as that person's `/prolonger oui|non`. The message shows the running count
and is edited as votes come in; once the vote is decided (or the topic left) it says so and
offers nothing more. Each vote is a message of its own (`LiveView.round`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.commands.context import Context
from bot.domain.cases import CaseProposal, CaseStatus
from bot.domain.live import LiveKind, LiveMessage
from bot.domain.protocol import DEFAULT_EXTENSION, DEFAULT_TOPIC, PhaseMode, PhaseSpec
from bot.domain.seance import PhaseRun, Seance
from bot.domain.topics import agenda, tally, topic_key, topic_number, vote_round
from bot.effects import LiveView
from bot.views.wording import phase_title

VOTE_ANSWERS = ("yes", "no")  # offered natively, as `/prolonger` values
VOTE_HOW = {"discord": "live.topic_vote.how_discord", "matrix": "live.topic_vote.how_matrix"}


@dataclass(frozen=True, slots=True)
class Topic:
    """The next topic: the case it discusses and the phase that runs it."""

    case: CaseProposal
    spec: PhaseSpec


def topic_box(ctx: Context, seance: Seance) -> timedelta:
    """A topic's time box: the circle's setting, else its protocol's, else 8 minutes."""
    minutes = ctx.require_circle().settings.topic_minutes
    if minutes > 0:
        return timedelta(minutes=minutes)
    protocol = ctx.protocols.get(seance.protocol)
    return (protocol.topic_minutes if protocol else None) or DEFAULT_TOPIC


def extension(ctx: Context, seance: Seance) -> timedelta:
    protocol = ctx.protocols.get(seance.protocol)
    return (protocol.extend_minutes if protocol else None) or DEFAULT_EXTENSION


async def upcoming(ctx: Context) -> list[CaseProposal]:
    """The circle's topics still to discuss, in the order they will come."""
    return agenda(await ctx.uow.cases.for_circle(ctx.require_circle().id))


async def take_next(ctx: Context, seance: Seance) -> Topic | None:
    """Take the topic with most votes off the agenda (it is discussed in this séance)."""
    waiting = await upcoming(ctx)
    if not waiting:
        return None
    case = waiting[0]
    case.status, case.seance_id = CaseStatus.CHOSEN, seance.id
    await ctx.uow.cases.update(case)
    spec = PhaseSpec(
        key=topic_key(case.number),
        mode=PhaseMode.QUEUE,
        duration=topic_box(ctx, seance),
        title=ctx.t("topic.title", number=case.number, title=case.title),
    )
    return Topic(case, spec)


async def time_up(ctx: Context, seance: Seance, phase: PhaseRun) -> None:
    """A topic's time box ran out: the thumbs vote on giving it more time opens, as a new live
    message (the previous vote's, if any, is done with)."""
    seance.topic_vote = {}
    live = LiveMessage(ctx.require_circle().id, seance.id, LiveKind.TOPIC_VOTE, ctx.now)
    await ctx.uow.live.replace(live)
    ctx.effects.append(vote_view(ctx, seance, phase))


def vote_view(ctx: Context, seance: Seance, phase: PhaseRun, *, closed: bool = False) -> LiveView:
    """The thumbs vote's message: the question, how to answer, and the count so far."""
    title = phase_title(ctx.tr, ctx.lang, phase.key, phase.title)
    more = ctx.tr.duration_text(ctx.lang, extension(ctx, seance))
    lines = [ctx.t("topic.time_up", title=title, more=more)]
    count = tally(seance.topic_vote or {}, seance.present())
    lines.append(ctx.t("live.topic_vote.count", yes=count.yes, no=count.no, present=count.present))
    if closed:
        lines.append(ctx.t("live.topic_vote.closed"))
    elif ctx.channel.platform in VOTE_HOW:
        lines.append(ctx.t(VOTE_HOW[ctx.channel.platform]))
    return LiveView(
        ctx.channel,
        LiveKind.TOPIC_VOTE.value,
        seance.id,
        seance.number,
        None,
        "\n".join(lines),
        lang=ctx.lang,
        answers=() if closed else VOTE_ANSWERS,
        closed=closed,
        round=vote_round(seance),
    )


def refresh_vote(ctx: Context, seance: Seance) -> None:
    """A vote came in: the vote's message shows the new count."""
    phase = seance.phase
    if seance.topic_vote is not None and phase is not None and is_topic(phase):
        ctx.effects.append(vote_view(ctx, seance, phase))


def end_vote(ctx: Context, seance: Seance) -> None:
    """The vote is over (decided, the topic left, the séance closed): its message says so and
    offers no more answers."""
    phase = seance.phase
    if seance.topic_vote is not None and phase is not None and is_topic(phase):
        ctx.effects.append(vote_view(ctx, seance, phase, closed=True))
    seance.topic_vote = None


def is_topic(phase: PhaseRun | None) -> bool:
    return topic_number(phase) is not None
