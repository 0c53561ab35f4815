"""Lean Coffee in a séance: which topic comes next, how long its time box is, and what is said
when it runs out. The phases themselves are started by `bot.handlers.seance`; the commands
people type (`/sujet`, `/prolonger`) are in `bot.handlers.topics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.commands.context import Context
from bot.domain.cases import CaseProposal, CaseStatus
from bot.domain.protocol import DEFAULT_EXTENSION, DEFAULT_TOPIC, PhaseMode, PhaseSpec
from bot.domain.seance import PhaseRun, Seance
from bot.domain.topics import agenda, topic_key, topic_number
from bot.views.wording import phase_title


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


def time_up(ctx: Context, seance: Seance, phase: PhaseRun) -> None:
    """A topic's time box ran out: the thumbs vote on giving it more time opens."""
    seance.topic_vote = {}
    title = phase_title(ctx.tr, ctx.lang, phase.key, phase.title)
    more = ctx.tr.duration_text(ctx.lang, extension(ctx, seance))
    ctx.say("topic.time_up", title=title, more=more)


def is_topic(phase: PhaseRun | None) -> bool:
    return topic_number(phase) is not None
