"""The recap after the séance: see it again, and, in approval mode, review and publish it.

`/recap [n]` shows séance n's recap (the last one by default) to whoever asks; a draft only to
facilitators. `/recap retirer <n>` keeps item n out of a recap not yet published, `/recap
remettre <n>` puts it back, `/recap publier [n]` posts the draft in the channel.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.domain.items import Item
from bot.domain.roles import Role
from bot.domain.seance import Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers.lookup import find_seance
from bot.recaps.posting import post_recap, publish, recap_of


async def _closed(ctx: Context, number: int | str | None, *, pending: bool = False) -> Seance:
    circle = ctx.require_circle()
    if number is not None:
        seance = await find_seance(ctx, number)
        if seance.status is not SeanceStatus.CLOSED:
            raise Refusal("recap.not_closed", number=seance.number)
        return seance
    closed = [
        s
        for s in await ctx.uow.seances.for_circle(circle.id)
        if s.status is SeanceStatus.CLOSED and (s.recap_pending or not pending)
    ]
    if not closed:
        raise Refusal("recap.nothing_pending" if pending else "recap.none_yet")
    return max(closed, key=lambda s: (s.closed_at or ctx.now, s.number))


async def show(ctx: Context, args: dict[str, Any]) -> None:
    seance = await _closed(ctx, args.get("number"))
    if seance.recap_pending and ctx.role < Role.FACILITATOR:
        raise Refusal("recap.not_published", number=seance.number)
    post_recap(ctx, seance, await recap_of(ctx, seance), to=[ctx.author])


async def publish_draft(ctx: Context, args: dict[str, Any]) -> None:
    seance = await _closed(ctx, args.get("number"), pending=True)
    if not seance.recap_pending:
        raise Refusal("recap.already_published", number=seance.number)
    await publish(ctx, seance)
    ctx.tell("recap.published", number=seance.number)


async def _item_in_draft(ctx: Context, number: int) -> tuple[Item, Seance]:
    circle = ctx.require_circle()
    item = await ctx.uow.items.get(circle.id, number)
    if item is None:
        raise Refusal("item.unknown", number=number)
    seance = await ctx.uow.seances.get(item.seance_id) if item.seance_id else None
    if seance is None or seance.circle_id != circle.id:
        raise Refusal("recap.item_outside", number=number)
    if seance.recap_published_at is not None:
        raise Refusal("recap.already_published", number=seance.number)
    return item, seance


async def withhold(ctx: Context, args: dict[str, Any]) -> None:
    await _set_withheld(ctx, args["number"], True)


async def restore(ctx: Context, args: dict[str, Any]) -> None:
    await _set_withheld(ctx, args["number"], False)


async def _set_withheld(ctx: Context, number: int, withheld: bool) -> None:
    item, seance = await _item_in_draft(ctx, number)
    if item.withheld == withheld:
        ctx.tell("recap.already_withheld" if withheld else "recap.not_withheld", item=number)
        return
    item.withheld = withheld
    await ctx.uow.items.update(item)
    key = "recap.withheld_done" if withheld else "recap.restored_done"
    ctx.tell(key, item=number, number=seance.number)
    if seance.recap_pending:
        post_recap(ctx, seance, await recap_of(ctx, seance), to=[ctx.author])
