"""Setting up a circle: /cercle creer, animateur, protocole, langue, fuseau, membres, ..."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.context import Context
from bot.domain.circle import LANGUAGES, Circle, QueueOrder, RoundOrder
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.errors import Refusal

MAX_NAME_LENGTH = 80
MAX_ZONE_LENGTH = 60  # the longest IANA names are about 30 characters


async def create(ctx: Context, args: dict[str, Any]) -> None:
    if ctx.circle is not None:
        raise Refusal("circle.already_exists", name=ctx.circle.name)
    name = " ".join(str(args.get("name") or "").split()) or "Cercle"
    if len(name) > MAX_NAME_LENGTH:
        raise Refusal("circle.name_too_long", limit=MAX_NAME_LENGTH)
    settings = replace(ctx.defaults)
    if ctx.english_command:
        settings.language = "en"
    elif ctx.fallback_lang in LANGUAGES:
        settings.language = ctx.fallback_lang
    circle = Circle(id=0, name=name, channel=ctx.channel, created_at=ctx.now, settings=settings)
    circle.add_member(ctx.author, ctx.author_name, Role.FACILITATOR, ctx.now)
    await ctx.uow.circles.add(circle)
    ctx.circle = circle
    ctx.role = Role.FACILITATOR
    ctx.say("circle.created", name=circle.name, facilitator=ctx.author_name)


async def facilitator(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    user: UserRef = args["member"]
    member = circle.member(user)
    if member is None:
        member = circle.add_member(user, user.id, Role.FACILITATOR, ctx.now)
    elif member.role is Role.FACILITATOR:
        ctx.tell("circle.already_facilitator", name=member.display_name)
        return
    member.role = Role.FACILITATOR
    ctx.say("circle.facilitator_added", name=member.display_name, mentions=(user,))


async def protocol(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    name: str | None = args.get("name")
    names = ", ".join(ctx.protocols.names())
    if name is None:
        ctx.tell("circle.protocol_current", name=circle.settings.protocol, names=names)
        return
    if ctx.protocols.get(name) is None:
        raise Refusal("circle.unknown_protocol_choices", name=name, names=names)
    circle.settings.protocol = name
    ctx.say("circle.protocol_set", name=name)


async def language(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    circle.settings.language = args["lang"]
    ctx.say("circle.language_set")


async def timezone(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    zone: str = args["zone"]
    if not valid_timezone(zone):
        raise Refusal("circle.bad_timezone", zone=zone[:60])
    circle.settings.timezone = zone
    ctx.say("circle.timezone_set", zone=zone, now=ctx.tr.datetime_text(ctx.lang, zone, ctx.now))


def valid_timezone(zone: str) -> bool:
    if not zone or len(zone) > MAX_ZONE_LENGTH or zone.startswith(("/", ".")) or ".." in zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        return False
    return True


async def members(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    lines = [ctx.t("circle.members_header", name=circle.name, count=len(circle.members))]
    for m in circle.roster():
        role = ctx.t(f"role.{m.role.name.lower()}")
        if not m.active:
            role = ctx.t("circle.member_has_left")
        lines.append(f"{m.position}. {m.display_name} — {role}")
    state = "circle.roster_is_open" if circle.settings.roster_open else "circle.roster_is_closed"
    lines.append(ctx.t(state))
    ctx.tell_text("\n".join(lines))


async def roster(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    circle.settings.roster_open = args["state"] == "open"
    if circle.settings.roster_open:
        ctx.say("circle.roster_opened")
        return
    # Closing the door: show who is in, so the facilitation sees who is missing.
    people = [m for m in circle.roster() if m.active]
    names = ", ".join(m.display_name for m in people)
    ctx.say("circle.roster_closed_with", count=len(people), names=names)


async def depart(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle depart @eva`: Eva left the cycle; her history stays, nobody waits for her."""
    circle = ctx.require_circle()
    user: UserRef = args["member"]
    member = circle.member(user)
    if member is None:
        raise Refusal("circle.not_a_member", name=user.id[:60])
    if not member.active:
        raise Refusal("circle.already_left", name=member.display_name)
    if member.role is Role.FACILITATOR and len(circle.facilitators()) == 1:
        raise Refusal("circle.last_facilitator_cannot_leave", name=member.display_name)
    member.left_at = ctx.now
    if member.role is Role.FACILITATOR:
        member.role = Role.PARTICIPANT
    ctx.say("circle.member_left", name=member.display_name)


async def queue_order(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    circle.settings.queue_order = QueueOrder(args["order"])
    ctx.say(f"circle.order_{circle.settings.queue_order.value}")


MAX_RETENTION_DAYS = 3650
_NEVER = {"0", "jamais", "never", "non", "no", "off", "aucune", "none"}


async def approval(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle approbation oui|non`: recaps go to the facilitators first, or straight out."""
    circle = ctx.require_circle()
    state: str | None = args.get("state")
    if state is None:
        ctx.tell("circle.approval_on" if circle.settings.recap_approval else "circle.approval_off")
        return
    circle.settings.recap_approval = state == "on"
    ctx.say("circle.approval_set_on" if state == "on" else "circle.approval_set_off")


async def retention(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle conservation 365|jamais`: after how many days notes and check-in words go."""
    circle = ctx.require_circle()
    value: str | None = args.get("days")
    if value is None:
        days = circle.settings.retention_days
        if days:
            ctx.tell("circle.retention_is", days=days)
        else:
            ctx.tell("circle.retention_is_never")
        return
    folded = value.casefold()
    for unit in ("jours", "jour", "days", "day", "j", "d"):
        folded = folded.removesuffix(unit)
    if folded.isdigit() and int(folded) == 0:  # "keep nothing" or "keep forever"? ask
        raise Refusal("circle.retention_zero", limit=MAX_RETENTION_DAYS)
    if folded in _NEVER:
        days = 0
    elif folded.isdigit() and 1 <= int(folded) <= MAX_RETENTION_DAYS:
        days = int(folded)
    else:
        raise Refusal("circle.bad_retention", value=value[:20], limit=MAX_RETENTION_DAYS)
    circle.settings.retention_days = days
    if days:
        ctx.say("circle.retention_set", days=days)
    else:
        ctx.say("circle.retention_set_never")


MAX_NUDGE_MINUTES = 120


async def nudge(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle relance 5|non`: after how long a turn on the open floor gets a private nudge."""
    circle = ctx.require_circle()
    value: str | None = args.get("minutes")
    if value is None:
        minutes = circle.settings.nudge_minutes
        if minutes:
            ctx.tell("circle.nudge_is", span=ctx.tr.span_text(ctx.lang, timedelta(minutes=minutes)))
        else:
            ctx.tell("circle.nudge_set_never")
        return
    folded = value.casefold().removesuffix("min").removesuffix("m")
    if folded in _NEVER:
        minutes = 0
    elif folded.isdigit() and 1 <= int(folded) <= MAX_NUDGE_MINUTES:
        minutes = int(folded)
    else:
        raise Refusal("circle.bad_nudge", value=value[:20], limit=MAX_NUDGE_MINUTES)
    circle.settings.nudge_minutes = minutes
    if minutes:
        ctx.say("circle.nudge_set", span=ctx.tr.span_text(ctx.lang, timedelta(minutes=minutes)))
    else:
        ctx.say("circle.nudge_set_never")


async def round_order(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle ronde arrivee|animation-derniere|hasard`: the order of the rounds."""
    circle = ctx.require_circle()
    value: str | None = args.get("order")
    keys = {
        RoundOrder.ARRIVAL: "circle.round_order_arrival",
        RoundOrder.FACILITATORS_LAST: "circle.round_order_facilitators_last",
        RoundOrder.SHUFFLED: "circle.round_order_shuffled",
    }
    if value is None:
        ctx.tell_text(ctx.t(keys[circle.settings.round_order]))
        return
    circle.settings.round_order = RoundOrder(value)
    ctx.say_text(ctx.t(keys[circle.settings.round_order]))
