"""Recording on purpose what goes in the recap: /note, /decision, /action."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.items import Item, ItemKind
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.errors import Refusal

MAX_ITEM_LENGTH = 1000

_DUE = re.compile(
    r"\s*(?:échéance|echeance|due|avant le|avant|pour le|by)\s*:?\s*"
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\s*$",
    re.IGNORECASE,
)


def parse_due(text: str, today: date) -> tuple[str, date | None]:
    """Split `écrire le budget échéance 15/12` into the text and its due date."""
    match = _DUE.search(text)
    if match is None:
        return text, None
    raw = match.group("date")
    try:
        if "-" in raw:
            year, month, day = (int(p) for p in raw.split("-"))
            due = date(year, month, day)
        else:
            parts = [int(p) for p in raw.split("/")]
            day, month = parts[0], parts[1]
            if len(parts) == 3:
                year = parts[2] + 2000 if parts[2] < 100 else parts[2]
                due = date(year, month, day)
            else:
                due = date(today.year, month, day)
                if due < today:
                    due = date(today.year + 1, month, day)
    except ValueError:
        raise Refusal("item.bad_due", value=raw) from None
    if due < today:
        raise Refusal("item.due_in_past", value=raw)
    return text[: match.start()].strip(), due


async def _record(
    ctx: Context, kind: ItemKind, text: str, owner: UserRef | None = None, due: date | None = None
) -> Item:
    circle = ctx.require_circle()
    text = " ".join(text.split())
    if not text:
        raise Refusal("args.missing", arg="text", usage=kind.value)
    if len(text) > MAX_ITEM_LENGTH:
        raise Refusal("item.too_long", limit=MAX_ITEM_LENGTH)
    seance = ctx.seance if ctx.seance and ctx.seance.is_open else None
    item = Item(
        circle_id=circle.id,
        number=circle.next_item_number(),
        kind=kind,
        text=text,
        author=ctx.author,
        created_at=ctx.now,
        seance_id=seance.id if seance else None,
        owner=owner,
        due=due,
    )
    await ctx.uow.items.add(item)
    return item


async def note(ctx: Context, args: dict[str, Any]) -> None:
    item = await _record(ctx, ItemKind.NOTE, args["text"])
    key = "item.note_recorded" if item.seance_id else "item.note_recorded_outside"
    ctx.say(key, number=item.number, name=ctx.name(ctx.author))


async def decision(ctx: Context, args: dict[str, Any]) -> None:
    item = await _record(ctx, ItemKind.DECISION, args["text"])
    ctx.say("item.decision_recorded", number=item.number, text=item.text)


async def action(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    owner: UserRef = args.get("owner") or ctx.author
    if owner not in circle.members:
        raise Refusal("circle.not_a_member", name=ctx.name(owner))
    today = datetime.fromtimestamp(ctx.now.timestamp(), ZoneInfo(ctx.tz)).date()
    text, due = parse_due(args["text"], today)
    item = await _record(ctx, ItemKind.ACTION, text, owner=owner, due=due)
    if due is not None:
        ctx.say(
            "item.action_recorded_due",
            number=item.number,
            owner=ctx.name(owner),
            text=item.text,
            due=ctx.tr.day_text(ctx.lang, due),
            mentions=(owner,),
        )
    else:
        ctx.say(
            "item.action_recorded",
            number=item.number,
            owner=ctx.name(owner),
            text=item.text,
            mentions=(owner,),
        )


async def action_done(ctx: Context, args: dict[str, Any]) -> None:
    """`/action fait <n>`: its owner, its author or a facilitator marks an action done."""
    circle = ctx.require_circle()
    number: int = args["number"]
    item = await ctx.uow.items.get(circle.id, number)
    if item is None or item.kind is not ItemKind.ACTION:
        raise Refusal("action.unknown", number=number)
    if item.done_at is not None:
        ctx.tell("action.already_done", number=number)
        return
    if ctx.role < Role.FACILITATOR and ctx.author not in (item.owner, item.author):
        raise Refusal("action.not_yours", number=number)
    item.done_at = ctx.now
    await ctx.uow.items.update(item)
    ctx.say("action.done", number=number, text=item.text, name=ctx.name(ctx.author))
