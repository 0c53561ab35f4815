"""Changing a séance that is planned: its subject, preparation question and protocol.

The web page's plan form uses these too, so the rules and refusals are the ones of the chat.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.seance import Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers.planning import ensure_free
from bot.timing.schedule import sync_prompts

MAX_TEXT = 300
CLEAR = {"-", "aucun", "aucune", "none"}


async def _planned(ctx: Context, number: int) -> Seance:
    circle = ctx.require_circle()
    seance = await ctx.uow.seances.by_number(circle.id, number)
    if seance is None:
        raise Refusal("seance.unknown_number", number=number)
    if seance.status is not SeanceStatus.PLANNED:
        raise Refusal("planning.not_planned", number=seance.number)
    return seance


def _text(args: dict[str, Any]) -> str | None:
    text = " ".join(str(args["text"]).split())
    if len(text) > MAX_TEXT:
        raise Refusal("item.too_long", limit=MAX_TEXT)
    return None if text.casefold() in CLEAR else text


async def subject(ctx: Context, args: dict[str, Any]) -> None:
    seance = await _planned(ctx, args["number"])
    seance.subject = _text(args)
    if seance.subject is None:
        ctx.say("seance_edit.subject_cleared", number=seance.number)
    else:
        ctx.say("seance_edit.subject_set", number=seance.number, subject=seance.subject)


async def question(ctx: Context, args: dict[str, Any]) -> None:
    seance = await _planned(ctx, args["number"])
    seance.prep_question = _text(args)
    await sync_prompts(ctx, seance)  # the preparation prompt exists only with a question
    if seance.prep_question is None:
        ctx.say("seance_edit.question_cleared", number=seance.number)
    else:
        ctx.say("seance_edit.question_set", number=seance.number, question=seance.prep_question)


async def protocol(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = await _planned(ctx, args["number"])
    name = str(args["name"]).casefold()
    found = ctx.protocols.get(name)
    if found is None:
        known = ", ".join(ctx.protocols.names())
        raise Refusal("seance_edit.unknown_protocol", name=name[:40], known=known)
    previous = seance.protocol
    seance.protocol = name
    if seance.planned_at is not None and name != previous:
        await ensure_free(ctx, circle, [seance.planned_at], moving=seance)
    await sync_prompts(ctx, seance)
    ctx.say("seance_edit.protocol_set", number=seance.number, protocol=name)
