"""Setting up a circle: /cercle creer, animateur, protocole, langue, fuseau, membres, ..."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.context import Context
from bot.commands.parser import fold
from bot.domain.circle import LANGUAGES, Circle, QueueOrder, RoundOrder
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.seance import SeanceStatus, SeanceSummary
from bot.effects import Moment
from bot.errors import Refusal
from bot.handlers.lookup import renumber_seances
from bot.timing.dates import WhenError, to_utc
from bot.timing.places import city_of, zones_for
from bot.timing.schedule import sync_prompts
from bot.views.when import zone_label

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
    if args.get("member") is None:
        names = ", ".join(m.display_name for m in circle.roster() if m.role is Role.FACILITATOR)
        ctx.tell("circle.facilitators_current", names=names)
        return
    user: UserRef = args["member"]
    member = circle.member(user)
    if member is None:
        member = circle.add_member(user, ctx.name(user), Role.FACILITATOR, ctx.now)
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
    if args.get("lang") is None:
        ctx.tell("circle.language_current")
        return
    circle.settings.language = args["lang"]
    ctx.say("circle.language_set")


# What planned séances keep when the zone changes: their moment, or their clock time.
KEEP_MOMENT = ("moment", "instant")
KEEP_CLOCK = ("heure", "heures", "horaire", "time", "clock")


async def timezone(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle fuseau Montréal`: a city, a country or an IANA zone; nothing shows the current
    zone and how to change it; a place with several zones lists them to pick from.

    Planned séances whose clock time would change are not shifted silently: the facilitator is
    asked whether they keep their moment (`… moment`) or their clock time (`… heure`)."""
    circle = ctx.require_circle()
    typed: str | None = args.get("zone")
    if typed is None:
        zone = circle.settings.timezone
        ctx.tell(
            "circle.timezone_current",
            zone=zone,
            label=zone_label(ctx.tr, ctx.lang, zone),
            now=ctx.tr.time_text(ctx.lang, zone, ctx.now),
        )
        return
    words = typed.split()
    keep = fold(words[-1]) if len(words) > 1 else ""
    if keep in KEEP_MOMENT or keep in KEEP_CLOCK:
        typed = " ".join(words[:-1])
    else:
        keep = ""
    zones = tuple(z for z in zones_for(typed) if valid_timezone(z))
    if not zones:
        raise Refusal("circle.bad_timezone", zone=typed[:60])
    if len(zones) > 1:
        choices = ", ".join(f"{z} ({city_of(z, ctx.lang)})" for z in zones)
        raise Refusal("circle.timezone_choose", place=typed[:60], choices=choices, first=zones[0])
    zone, old = zones[0], circle.settings.timezone
    coming = await _coming(ctx, circle)
    shifted = [s for s in coming if _clock(s.planned_at, old) != _clock(s.planned_at, zone)]
    if shifted and not keep:
        raise _ask_what_to_keep(ctx, typed[:60], shifted[0], old, zone)
    moved = _same_clock(ctx, coming, old, zone) if keep in KEEP_CLOCK else {}
    circle.settings.timezone = zone
    said = ctx.t(
        "circle.timezone_set_place",
        zone=zone,
        label=zone_label(ctx.tr, ctx.lang, zone),
        now=ctx.tr.time_text(ctx.lang, zone, ctx.now),
    )
    if not shifted:
        ctx.say_text(said)
        return
    for summary in coming:
        if summary.id in moved:
            seance = await ctx.uow.seances.get(summary.id)
            if seance is not None:
                seance.planned_at = moved[summary.id]
                await sync_prompts(ctx, seance)
    if moved:
        await renumber_seances(ctx)
    first = shifted[0]
    at = moved.get(first.id) or first.planned_at
    assert at is not None
    moment = Moment(ctx.tr.datetime_text(ctx.lang, zone, at), at)
    key = "circle.timezone_kept_clock" if moved else "circle.timezone_kept_moment"
    line = ctx.t(
        key, number=first.number, when=moment.text, label=zone_label(ctx.tr, ctx.lang, zone)
    )
    ctx.say_text(f"{said}\n{line}", moments=(moment,))


async def _coming(ctx: Context, circle: Circle) -> list[SeanceSummary]:
    """The circle's planned séances still ahead, soonest first."""
    planned = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED,))
    ahead = [s for s in planned if s.planned_at is not None and s.planned_at > ctx.now]
    return sorted(ahead, key=lambda s: (s.planned_at, s.number))


def _clock(instant: datetime | None, zone: str) -> datetime | None:
    """The wall-clock time of `instant` in `zone`, without the zone."""
    return None if instant is None else instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _ask_what_to_keep(
    ctx: Context, place: str, first: SeanceSummary, old: str, zone: str
) -> Refusal:
    """Nothing changes yet: the two readings, each with its command and séance 1 as example."""
    assert first.planned_at is not None
    same_clock = _clock_in(first.planned_at, old, zone)
    return Refusal(
        "circle.timezone_ask",
        place=place,
        number=first.number,
        when=ctx.tr.datetime_text(ctx.lang, old, first.planned_at),
        old_label=zone_label(ctx.tr, ctx.lang, old),
        new_label=zone_label(ctx.tr, ctx.lang, zone),
        moment_time=ctx.tr.time_text(ctx.lang, zone, first.planned_at),
        clock_time=ctx.tr.time_text(ctx.lang, zone, same_clock),
        clock_time_old=ctx.tr.time_text(ctx.lang, old, same_clock),
    )


def _clock_in(instant: datetime, old: str, zone: str) -> datetime:
    """The instant at which `zone`'s clocks show what `old`'s showed at `instant` (in a
    spring-forward gap, the same time one hour later)."""
    wall = _clock(instant, old)
    assert wall is not None
    try:
        return to_utc(wall, zone)
    except WhenError as error:
        suggestion = error.detail.get("suggestion")
        assert isinstance(suggestion, datetime)
        return suggestion


def _same_clock(
    ctx: Context, coming: list[SeanceSummary], old: str, zone: str
) -> dict[int, datetime]:
    """Each planned séance's new instant at the same clock time in `zone`; refused, changing
    nothing, if one of them would then be past."""
    moved: dict[int, datetime] = {}
    for summary in coming:
        assert summary.planned_at is not None
        at = _clock_in(summary.planned_at, old, zone)
        if at <= ctx.now:
            raise Refusal(
                "circle.timezone_clock_past",
                number=summary.number,
                when=ctx.tr.datetime_text(ctx.lang, zone, at),
            )
        moved[summary.id] = at
    return moved


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
    for place, m in enumerate(circle.roster(), start=1):  # no gap where someone was erased
        role = ctx.t(f"role.{m.role.name.lower()}")
        if not m.active:
            role = ctx.t("circle.member_has_left")
        lines.append(f"{place}. {m.display_name} — {role}")
    state = "circle.roster_is_open" if circle.settings.roster_open else "circle.roster_is_closed"
    lines.append(ctx.t(state))
    ctx.tell_text("\n".join(lines))


async def roster(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    if args.get("state") is None:
        is_open = circle.settings.roster_open
        state = ctx.t("circle.roster_is_open" if is_open else "circle.roster_is_closed")
        ctx.tell_text(state + " " + ctx.t("circle.roster_how"))
        return
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
    if args.get("order") is None:
        current = ctx.t(f"circle.order_{circle.settings.queue_order.value}")
        ctx.tell_text(current + " " + ctx.t("circle.order_how"))
        return
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
