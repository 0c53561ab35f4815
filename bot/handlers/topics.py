"""`/sujet` and `/prolonger`: a Lean Coffee's topics as people steer them.

`/sujet` shows the topic under discussion and those still to come; `/sujet suivant` (the
facilitation) moves on, as `/seance phase suivante` does in the topics. When a topic's time box
runs out, `/prolonger oui|non` is the thumbs vote on giving it a few more minutes: a strict
majority of those present extends it, and once that majority is out of reach the circle moves
to the next topic.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.context import Context
from bot.domain.topics import Verdict, in_topics, tally, topic_number
from bot.errors import Refusal
from bot.handlers.leancoffee import end_vote, extension, refresh_vote, upcoming
from bot.handlers.seance import next_topic
from bot.views.wording import phase_title

MAX_TOPIC_MINUTES = 60
AGENDA_SHOWN = 10


async def show(ctx: Context, args: dict[str, Any]) -> None:
    """`/sujet`: the topic under discussion, then those to come in order."""
    seance = ctx.seance if ctx.seance is not None and ctx.seance.is_open else None
    lines: list[str] = []
    phase = seance.phase if seance is not None else None
    if seance is not None and phase is not None and topic_number(phase) is not None:
        title = phase_title(ctx.tr, ctx.lang, phase.key, phase.title)
        if phase.planned is not None:
            left = max(phase.planned - phase.elapsed(ctx.now, seance.paused_since), timedelta(0))
            lines.append(
                ctx.t("topic.current", title=title, left=ctx.tr.duration_text(ctx.lang, left))
            )
    waiting = await upcoming(ctx)
    if waiting:
        lines.append(ctx.t("topic.agenda_header", count=len(waiting)))
        lines += [
            ctx.t(
                "topic.agenda_line",
                number=c.number,
                title=c.title,
                name=ctx.name(c.holder),
                votes=ctx.tr.plural(ctx.lang, "cases.votes", c.total),
            )
            for c in waiting[:AGENDA_SHOWN]
        ]
    else:
        lines.append(ctx.t("topic.agenda_empty"))
    ctx.tell_text("\n".join(lines))


async def move_on(ctx: Context, args: dict[str, Any]) -> None:
    """`/sujet suivant`: the facilitation moves to the next topic."""
    seance = ctx.require_open_seance()
    if not in_topics(seance.phase):
        raise Refusal("topic.not_in_topics")
    if not await next_topic(ctx, seance):
        raise Refusal("topic.none_left")


async def extend(ctx: Context, args: dict[str, Any]) -> None:
    """`/prolonger oui|non`: a thumbs vote on giving the topic a few more minutes."""
    seance = ctx.require_open_seance()
    phase = seance.phase
    if phase is None or topic_number(phase) is None or seance.topic_vote is None:
        raise Refusal("topic.no_vote")
    yes = args["answer"] == "yes"
    seance.topic_vote[ctx.author] = yes
    count = tally(seance.topic_vote, seance.present())
    title = phase_title(ctx.tr, ctx.lang, phase.key, phase.title)
    verdict = count.verdict
    if verdict is Verdict.OPEN:
        refresh_vote(ctx, seance)
        ctx.tell(
            "topic.vote_noted",
            answer=ctx.t("topic.yes" if yes else "topic.no"),
            yes=count.yes,
            no=count.no,
            present=count.present,
        )
        return
    end_vote(ctx, seance)
    if verdict is Verdict.EXTEND:
        more = extension(ctx, seance)
        phase.planned = phase.elapsed(ctx.now, seance.paused_since) + more
        phase.end_notified = False
        ctx.say(
            "topic.extended",
            title=title,
            more=ctx.tr.duration_text(ctx.lang, more),
            yes=count.yes,
            present=count.present,
        )
        return
    ctx.say("topic.moving_on", title=title, no=count.no, present=count.present)
    if not await next_topic(ctx, seance):
        ctx.say("topic.all_discussed")


async def set_minutes(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle sujets <minutes>`: each Lean Coffee topic's time box (0: the protocol's)."""
    circle = ctx.require_circle()
    minutes: int = args["minutes"]
    if minutes > MAX_TOPIC_MINUTES:
        raise Refusal("topic.bad_minutes", limit=MAX_TOPIC_MINUTES)
    circle.settings.topic_minutes = minutes
    if minutes:
        duration = ctx.tr.duration_text(ctx.lang, timedelta(minutes=minutes))
        ctx.say("topic.minutes_set", duration=duration)
    else:
        ctx.say("topic.minutes_default")
