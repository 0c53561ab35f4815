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
from bot.handlers import live
from bot.handlers.followup import state_text, sync_action_reminder
from bot.handlers.planning import day_refusal
from bot.timing.dates import WhenError, parse_day

MAX_ITEM_LENGTH = 1000

# Words that introduce a due date; the explicit ones refuse what they cannot read, the others
# ("pour le comité", "avant la réunion") leave words that are not a day in the text.
_DUE = re.compile(
    r"(?:^|[\s,;(])(?P<word>échéance|echeance|due|deadline|avant le|avant|pour le|pour|"
    r"d'ici le|d'ici|d’ici le|d’ici|by|before)\s*:?\s+",
    re.IGNORECASE,
)
_EXPLICIT = {"échéance", "echeance", "due", "deadline"}
_TRAILING = " \t,;:.-–—"


def parse_due(text: str, today: date, lang: str) -> tuple[str, date | None]:
    """Split `écrire le budget, échéance demain.` into `écrire le budget` and its due date.

    The last due word followed by a day wins; raises WhenError when a day follows but cannot be
    used (passed, impossible, contradicting its weekday) or an explicit due word has no day."""
    for match in reversed(list(_DUE.finditer(text))):
        tail = text[match.end() :].strip()
        try:
            due = parse_day(tail, lang=lang, today=today)
        except WhenError as error:
            if error.reason != "unparseable":
                error.detail["text"] = tail[:80]
                raise
            if match["word"].casefold() in _EXPLICIT:
                raise WhenError("unparseable", {"text": tail[:80]}) from None
            continue
        return text[: match.start()].rstrip(_TRAILING), due
    return text.rstrip(_TRAILING), None


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
    try:
        text, due = parse_due(args["text"], today, ctx.lang)
    except WhenError as error:
        typed = str(error.detail.get("text", ""))
        raise day_refusal(ctx, error, typed, "item.bad_due_words") from None
    item = await _record(ctx, ItemKind.ACTION, text, owner=owner, due=due)
    if due is not None and item.seance_id is not None:
        await sync_action_reminder(ctx, item.seance_id)
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
    await live.refresh_follow_up(ctx)


async def open_actions(ctx: Context, args: dict[str, Any]) -> None:
    """`/actions`: the open actions with their numbers — one's own, or all for the facilitation
    (`/actions tout` for a participant who wants to see everyone's)."""
    circle = ctx.require_circle()
    everyone = ctx.role >= Role.FACILITATOR or args.get("whose") == "all"
    actions = [
        i
        for i in await ctx.uow.items.for_circle(circle.id)
        if i.kind is ItemKind.ACTION
        and i.done_at is None
        and not i.withheld
        and (everyone or ctx.author in (i.owner, i.author))
    ]
    if not actions:
        ctx.tell("actions.none_all" if everyone else "actions.none_mine")
        return
    lines = [ctx.t("actions.header_all" if everyone else "actions.header_mine")]
    for item in sorted(actions, key=lambda i: (i.due or date.max, i.number)):
        owner = ctx.name(item.owner) if item.owner else "—"
        if item.due:
            due = ctx.tr.day_text(ctx.lang, item.due)
            line = ctx.t(
                "actions.line_due", number=item.number, text=item.text, owner=owner, due=due
            )
        else:
            line = ctx.t("actions.line", number=item.number, text=item.text, owner=owner)
        state = state_text(ctx, item)  # what its owner said of it between séances
        lines.append(f"{line} — {state}" if state else line)
    lines.append(ctx.t("actions.how_to_close"))
    ctx.tell_text("\n".join(lines))
