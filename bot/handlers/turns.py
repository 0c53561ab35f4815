"""Taking and giving the floor: /tour, /passe, /fini, /suivant, /file."""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.seance import FloorChange, PassResult, TurnRequestResult
from bot.effects import Reply
from bot.handlers.cases import refuse_listening_holder
from bot.handlers.checkin import from_turn_motive
from bot.views.status import status_text
from bot.views.wording import floor_messages


def announce(ctx: Context, change: FloorChange) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    ctx.effects.extend(floor_messages(ctx.tr, circle, seance, change, ctx.now))


async def tour(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    refuse_listening_holder(ctx, seance)
    order = circle.settings.queue_order
    in_checkin = seance.in_checkin_round()
    before = seance.queue_positions(order, ctx.now)
    request = seance.request_turn(ctx.author, args.get("motive"), order, ctx.now)
    if in_checkin:
        from_turn_motive(ctx, seance, args.get("motive"))
    result = request.result
    if result is TurnRequestResult.GOT_FLOOR:
        announce(ctx, request.floor)
    elif result is TurnRequestResult.QUEUED:
        motive = " ".join(str(args.get("motive") or "").split())
        if motive and not in_checkin:
            ctx.tell("turn.queued_topic", position=request.position, topic=motive)
        else:
            ctx.tell("turn.queued", position=request.position)
        _explain_moves(ctx, before)
    elif result is TurnRequestResult.ALREADY_QUEUED:
        if request.position is None:
            ctx.tell("turn.already_waiting")
        else:
            ctx.tell("turn.already_queued", position=request.position)
    elif result is TurnRequestResult.ALREADY_SPEAKING:
        ctx.tell("turn.already_speaking")
    elif result is TurnRequestResult.IN_ROUND:
        ctx.tell("turn.in_round", position=request.position)
    else:
        ctx.tell("turn.wait_next_phase")


def _explain_moves(ctx: Context, before: dict[UserRef, int]) -> None:
    """The fair queue put the newcomer before people already waiting: tell each of them why."""
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    after = seance.queue_positions(circle.settings.queue_order, ctx.now)
    for user, was in before.items():
        now_at = after.get(user)
        if now_at is not None and now_at > was:
            text = ctx.t("turn.moved_back", name=ctx.name(ctx.author), position=now_at)
            ctx.effects.append(Reply(ctx.channel, text, to=user, private=True))


async def passe(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    result, change = seance.pass_turn(ctx.author, circle.settings.queue_order, ctx.now)
    if result is PassResult.PASSED_TURN:
        announce(ctx, change)
    elif result is PassResult.LEFT_QUEUE:
        ctx.tell("turn.left_queue")
    else:
        ctx.say("turn.left_round", name=ctx.name(ctx.author))


async def fini(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    announce(ctx, seance.finish(ctx.author, circle.settings.queue_order, ctx.now))


async def suivant(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    announce(ctx, seance.next_speaker(circle.settings.queue_order, ctx.now))


async def file(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    topics = ctx.role >= Role.FACILITATOR
    ctx.tell_text(status_text(ctx.tr, circle, seance, ctx.now, topics=topics))
