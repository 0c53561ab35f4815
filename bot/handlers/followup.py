"""Actions between séances: where each one stands, reminders before it is due, and the look
back that opens the next séance.

An owner says how their action is going with `/action encours|bloque|aide <n> [mot]` (done
stays `/action fait <n>`). A few days before an action's due date (the circle's
`action_reminder_days`), its owner gets a private reminder. The reminder rides on the prompt
rows of the séance the action was recorded in (kind `action_due`, one row at a time for the
earliest reminder still to come), so it is claimed, and posted, exactly once like every prompt.
When the next séance's first phase starts, the bot posts the previous séance's decisions and
every open action with its owner and state.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.circle import Circle
from bot.domain.items import ActionProgress, Item, ItemKind
from bot.domain.prompts import GRACE, Prompt, PromptKind
from bot.domain.roles import Role
from bot.domain.seance import Seance, SeanceStatus
from bot.effects import Answer, Reply
from bot.errors import Refusal
from bot.handlers import live
from bot.ports import Wakeup

MAX_PROGRESS_NOTE = 200
REMINDER_HOUR = time(9, 0)  # in the circle's time zone

PROGRESS_KEYS = {
    ActionProgress.IN_PROGRESS: "action.progress.in_progress",
    ActionProgress.BLOCKED: "action.progress.blocked",
    ActionProgress.NEEDS_HELP: "action.progress.needs_help",
}
# what an owner may answer to the reminder before the due date, as buttons where possible
REMINDER_ANSWERS = (
    ("action.fait", "live.answer.done"),
    ("action.encours", "live.answer.in_progress"),
    ("action.bloque", "live.answer.blocked"),
    ("action.aide", "live.answer.needs_help"),
)
SAID_KEYS = {
    ActionProgress.IN_PROGRESS: "action.said_in_progress",
    ActionProgress.BLOCKED: "action.said_blocked",
    ActionProgress.NEEDS_HELP: "action.said_needs_help",
}


def state_text(ctx: Context, item: Item) -> str:
    """ "en cours (devis reçu)", "bloquée", or "" for an action nobody has said anything of."""
    if item.progress is None:
        return ""
    text = ctx.t(PROGRESS_KEYS[item.progress])
    return text + (f" ({item.progress_note})" if item.progress_note else "")


def action_line(ctx: Context, item: Item) -> str:
    """`- #3 Relancer le CA — alice — bloquée (budget) (échéance : jeudi 17 décembre 2026)`."""
    owner = ctx.name(item.owner) if item.owner else "?"
    line = f"- #{item.number} {item.text} — {owner}"
    if state := state_text(ctx, item):
        line += f" — {state}"
    if item.due:
        line += " (" + ctx.t("recap.due", date=ctx.tr.day_text(ctx.lang, item.due)) + ")"
    return line


async def _set_progress(ctx: Context, args: dict[str, Any], progress: ActionProgress) -> None:
    circle = ctx.require_circle()
    number: int = args["number"]
    item = await ctx.uow.items.get(circle.id, number)
    if item is None or item.kind is not ItemKind.ACTION:
        raise Refusal("action.unknown", number=number)
    if item.done_at is not None:
        raise Refusal("action.already_done", number=number)
    if ctx.role < Role.FACILITATOR and ctx.author not in (item.owner, item.author):
        raise Refusal("action.not_yours_progress", number=number)
    note = " ".join(str(args.get("note") or "").split())
    if len(note) > MAX_PROGRESS_NOTE:
        raise Refusal("action.note_too_long", limit=MAX_PROGRESS_NOTE)
    item.progress, item.progress_note = progress, note or None
    await ctx.uow.items.update(item)
    ctx.say(SAID_KEYS[progress], number=number, text=item.text, name=ctx.name(ctx.author))
    if note:
        ctx.say("action.said_note", note=note)
    await live.refresh_follow_up(ctx)


async def in_progress(ctx: Context, args: dict[str, Any]) -> None:
    await _set_progress(ctx, args, ActionProgress.IN_PROGRESS)


async def blocked(ctx: Context, args: dict[str, Any]) -> None:
    await _set_progress(ctx, args, ActionProgress.BLOCKED)


async def needs_help(ctx: Context, args: dict[str, Any]) -> None:
    await _set_progress(ctx, args, ActionProgress.NEEDS_HELP)


# -- reminders before the due date --------------------------------------------------------------


def reminder_at(circle: Circle, item: Item) -> datetime | None:
    """When the owner of this open action should be reminded, if ever."""
    days = circle.settings.action_reminder_days
    if not days or item.due is None or item.owner is None or not item.is_open_action:
        return None
    if item.reminded_at is not None:
        return None
    day = item.due - timedelta(days=days)
    at = datetime.combine(day, REMINDER_HOUR, tzinfo=ZoneInfo(circle.settings.timezone))
    if at <= item.created_at:
        return None  # recorded too close to its due date: its owner knows
    return at


async def sync_action_reminder(ctx: Context, seance_id: int) -> None:
    """Keep one `action_due` prompt row for the séance's earliest reminder still to come."""
    circle = ctx.require_circle()
    items = await ctx.uow.items.for_seance(seance_id)
    instants = [at for i in items if (at := reminder_at(circle, i)) is not None]
    wanted = min(instants) if instants else None
    rows = [
        p for p in await ctx.uow.prompts.for_seance(seance_id) if p.kind is PromptKind.ACTION_DUE
    ]
    for row in rows:
        if row.pending and wanted is not None:
            if row.due_at != wanted:
                await ctx.uow.prompts.reschedule(row.id, wanted)
            ctx.wakeups[row.key] = Wakeup(wanted, GRACE[PromptKind.ACTION_DUE])
            return
        await ctx.uow.prompts.delete(row.id)
        ctx.wakeups[row.key] = None
    if wanted is not None:
        prompt = Prompt(
            id=0,
            seance_id=seance_id,
            circle_id=circle.id,
            kind=PromptKind.ACTION_DUE,
            due_at=wanted,
        )
        await ctx.uow.prompts.add(prompt)
        ctx.wakeups[prompt.key] = Wakeup(wanted, GRACE[PromptKind.ACTION_DUE])


async def remind_owners(ctx: Context, seance: Seance) -> None:
    """The `action_due` prompt fell due: remind each owner whose reminder time has come."""
    circle = ctx.require_circle()
    for item in await ctx.uow.items.for_seance(seance.id):
        at = reminder_at(circle, item)
        if at is None or at > ctx.now or item.owner is None or item.due is None:
            continue
        item.reminded_at = ctx.now
        await ctx.uow.items.update(item)
        if item.owner not in circle.members:
            continue
        text = ctx.t(
            "action.reminder",
            number=item.number,
            text=item.text,
            due=ctx.tr.day_text(ctx.lang, item.due),
        )
        if ctx.channel.platform == "matrix":  # answered with a reaction there (no buttons)
            text += "\n" + ctx.t("action.reminder_how_matrix")
        # for its owner alone; where the platform can, with a button per answer
        answers = tuple(
            Answer(command, item.number, ctx.t(label)) for command, label in REMINDER_ANSWERS
        )
        ctx.effects.append(
            Reply(
                ctx.channel, text, to=item.owner, private=True, confidential=True, answers=answers
            )
        )
    await sync_action_reminder(ctx, seance.id)


# -- the look back that opens the next séance ---------------------------------------------------


async def look_back(ctx: Context, seance: Seance) -> None:
    """Post the previous séance's decisions and every open action, owner and state."""
    circle = ctx.require_circle()
    # the closed séance just before this one: one light row, no turns loaded
    earlier = await ctx.uow.seances.summaries(
        circle.id, (SeanceStatus.CLOSED,), last=1, below=seance.number
    )
    previous = earlier[-1] if earlier else None
    said = await ctx.uow.items.for_seance(previous.id) if previous is not None else []
    decisions = [i for i in said if i.kind is ItemKind.DECISION and not i.withheld]
    actions = await ctx.uow.items.open_actions(circle.id)
    if not decisions and not actions:
        return
    lines = [ctx.t("lookback.header", number=previous.number if previous else "—")]
    if decisions:
        lines.append(ctx.t("lookback.decisions"))
        lines += [f"- #{i.number} {i.text}" for i in decisions]
    if actions:
        lines.append(ctx.t("lookback.actions", count=len(actions)))
        lines += [action_line(ctx, i) for i in actions]
    owners = tuple(dict.fromkeys(i.owner for i in actions if i.owner in circle.members))
    ctx.say_text("\n".join(lines), mentions=[o for o in owners if o is not None])
