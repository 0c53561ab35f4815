"""Planning the cycle: /seance planifier, cycle, deplacer, liste; /cercle rappels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.circle import Circle
from bot.domain.prompts import expected_length
from bot.domain.roles import Role
from bot.domain.seance import Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers.followup import sync_action_reminder
from bot.handlers.lookup import find_seance, renumber_seances
from bot.handlers.rsvp import tally as rsvp_tally
from bot.timing.dates import (
    MAX_YEARS_AHEAD,
    WhenError,
    local_series,
    parse_every,
    parse_when,
)
from bot.timing.schedule import sync_prompts

MAX_CYCLE = 52
MAX_TEXT = 500


def when_refusal(ctx: Context, error: WhenError, typed: str) -> Refusal:
    """A date that cannot be used, explained in the circle's words."""
    lang, tz = ctx.lang, ctx.tz
    detail = error.detail
    if error.reason == "ambiguous":
        candidates = detail["candidates"]
        assert isinstance(candidates, tuple)
        first, second = candidates
        return Refusal(
            "planning.ambiguous",
            text=typed,
            first=ctx.tr.datetime_text(lang, tz, first),
            second=ctx.tr.datetime_text(lang, tz, second),
        )
    if error.reason == "past":
        when = detail.get("when")
        shown = ctx.tr.datetime_text(lang, tz, when) if isinstance(when, datetime) else typed
        return Refusal("planning.past", when=shown)
    if error.reason == "nonexistent":
        local = detail.get("local")
        suggestion = detail.get("suggestion")
        wall = local.strftime("%H:%M") if isinstance(local, datetime) else typed
        return Refusal(
            "planning.nonexistent",
            time=wall,
            suggestion=ctx.tr.datetime_text(lang, tz, suggestion)
            if isinstance(suggestion, datetime)
            else "",
        )
    if error.reason == "missing_time":
        return Refusal("planning.missing_time", text=typed)
    return day_refusal(ctx, error, typed, "planning.unparseable")


def day_refusal(ctx: Context, error: WhenError, typed: str, unparseable: str) -> Refusal:
    """The refusals a day can get, planned séance or due date alike: each offers a reading."""
    detail = error.detail

    def shown(key: str) -> str:
        at, day = detail.get(key + "_at"), detail.get(key)
        if isinstance(at, datetime):
            return ctx.tr.datetime_text(ctx.lang, ctx.tz, at)
        return ctx.tr.day_text(ctx.lang, day) if isinstance(day, date) else typed

    if error.reason == "past_day":
        following = detail["suggestion"]
        assert isinstance(following, date)
        example = following.isoformat() if ctx.lang == "en" else following.strftime("%d/%m/%Y")
        return Refusal(
            "planning.past_day",
            day=shown("day"),
            year=following.year,
            example=example,
        )
    if error.reason == "weekday_mismatch":
        return Refusal(
            "planning.weekday_mismatch", text=typed, first=shown("day"), second=shown("weekday_day")
        )
    if error.reason == "no_such_date":
        return Refusal("planning.no_such_date", text=typed)
    if error.reason == "year_out_of_range":
        return Refusal(
            "planning.year_out_of_range",
            year=str(detail.get("year", ""))[:12],
            limit=ctx.now.year + MAX_YEARS_AHEAD,
        )
    if error.reason == "past":
        return Refusal("item.due_in_past", value=shown("when"))
    if error.reason == "ambiguous":
        candidates = detail["candidates"]
        assert isinstance(candidates, tuple)
        first, second = (ctx.tr.day_text(ctx.lang, d) for d in candidates)
        return Refusal("planning.ambiguous", text=typed, first=first, second=second)
    return Refusal(unparseable, text=typed)


def parse_instant(ctx: Context, text: str) -> datetime:
    try:
        return parse_when(text, lang=ctx.lang, tz=ctx.tz, now=ctx.now)
    except WhenError as error:
        raise when_refusal(ctx, error, text[:80]) from None


def _length(ctx: Context, circle: Circle) -> timedelta:
    return expected_length(ctx.protocols.get(circle.settings.protocol))


async def ensure_free(
    ctx: Context, circle: Circle, instants: list[datetime], moving: Seance | None = None
) -> None:
    """Refuse instants that overlap another planned or open séance of the circle."""
    length = _length(ctx, circle)
    others = [
        s
        for s in await ctx.uow.seances.for_circle(circle.id)
        if s is not moving
        and s.status in (SeanceStatus.PLANNED, SeanceStatus.OPEN)
        and (s.planned_at or s.opened_at)
    ]
    for instant in instants:
        for other in others:
            start = other.planned_at or other.opened_at
            assert start is not None
            if abs(start - instant) < length:
                raise Refusal(
                    "planning.collision",
                    number=other.number,
                    when=ctx.tr.datetime_text(ctx.lang, ctx.tz, start),
                )


def _split(text: str) -> tuple[str, str | None, str | None]:
    """`mardi 14h | Déléguer | Que ne déléguez-vous pas ?` → when, subject, question."""
    if len(text) > MAX_TEXT:
        raise Refusal("item.too_long", limit=MAX_TEXT)
    when, _, rest = text.partition("|")
    subject, _, question = rest.partition("|")
    return when.strip(), subject.strip() or None, question.strip() or None


async def _create(
    ctx: Context, circle: Circle, at: datetime, subject: str | None, question: str | None
) -> Seance:
    seance = Seance(
        id=0,
        circle_id=circle.id,
        number=circle.next_seance_number(),
        protocol=circle.settings.protocol,
        planned_at=at,
        subject=subject,
        prep_question=question,
    )
    await ctx.uow.seances.add(seance)
    await renumber_seances(ctx)
    await sync_prompts(ctx, seance)
    return seance


async def plan(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    when, subject, question = _split(args["text"])
    at = parse_instant(ctx, when)
    await ensure_free(ctx, circle, [at])
    seance = await _create(ctx, circle, at, subject, question)
    ctx.say(
        "planning.planned",
        number=seance.number,
        when=ctx.tr.datetime_text(ctx.lang, ctx.tz, at),
    )
    if question:
        days = circle.settings.prep_days
        span = ctx.tr.span_text(ctx.lang, timedelta(days=days))
        ctx.say("planning.question_will_be_sent", question=question, days=span)


async def cycle(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    count: int = args["count"]
    if count > MAX_CYCLE:
        raise Refusal("planning.cycle_too_long", limit=MAX_CYCLE)
    try:
        every = parse_every(args["every"])
    except WhenError:
        raise Refusal("planning.bad_interval", text=args["every"][:40]) from None
    when, subject, question = _split(args["text"])
    first = parse_instant(ctx, when)
    if every < _length(ctx, circle):
        raise Refusal("planning.interval_too_short")
    try:
        instants = local_series(first, count, every, ctx.tz)
    except WhenError as error:
        raise when_refusal(ctx, error, when) from None
    await ensure_free(ctx, circle, instants)
    lines = [ctx.t("planning.cycle_planned", count=count)]
    for at in instants:
        seance = await _create(ctx, circle, at, subject, question)
        when_text = ctx.tr.datetime_text(ctx.lang, ctx.tz, at)
        lines.append(ctx.t("planning.list_line", number=seance.number, when=when_text))
    ctx.say_text("\n".join(lines))


async def move(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = await find_seance(ctx, args["number"])
    if seance.status is not SeanceStatus.PLANNED:
        raise Refusal("planning.not_planned", number=seance.number)
    at = parse_instant(ctx, args["text"])
    await ensure_free(ctx, circle, [at], moving=seance)
    seance.planned_at = at
    await renumber_seances(ctx)
    await sync_prompts(ctx, seance)
    ctx.say("planning.moved", number=seance.number, when=ctx.tr.datetime_text(ctx.lang, ctx.tz, at))


async def listing(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seances = await ctx.uow.seances.for_circle(circle.id)
    upcoming = [s for s in seances if s.status in (SeanceStatus.PLANNED, SeanceStatus.OPEN)]
    done = sum(1 for s in seances if s.status is SeanceStatus.CLOSED)
    if not upcoming:
        ctx.tell("planning.list_empty", done=ctx.tr.plural(ctx.lang, "planning.held", done))
        return
    held = ctx.tr.plural(ctx.lang, "planning.held", done)
    lines = [ctx.t("planning.list_header", name=circle.name, done=held)]
    for s in sorted(upcoming, key=lambda s: (s.planned_at or s.opened_at or ctx.now, s.number)):
        start = s.planned_at or s.opened_at
        when = ctx.tr.datetime_text(ctx.lang, ctx.tz, start) if start else "—"
        line = ctx.t("planning.list_line", number=s.number, when=when)
        if s.subject:
            line += ctx.t("prompt.subject", subject=s.subject)
        if s.is_open:
            line += " " + ctx.t("planning.list_open")
        lines.append(line)
        answered = s.status is SeanceStatus.PLANNED and await ctx.uow.rsvps.for_seance(s.id)
        if ctx.role >= Role.FACILITATOR and answered:
            lines.append(await rsvp_tally(ctx, s))
    ctx.tell_text("\n".join(lines))


# -- reminders --------------------------------------------------------------------------------

_OFF = {"non", "no", "off", "aucun", "aucune", "none", "0", "jamais", "never"}
_ON = {"oui", "yes", "on"}


def _number(value: str, units: tuple[str, ...]) -> int | None:
    folded = value.casefold()
    if folded in _OFF:
        return 0
    for unit in units:
        folded = folded.removesuffix(unit)
    return int(folded) if folded.isdigit() else None


async def reminders(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    which: str | None = args.get("which")
    value: str | None = args.get("value")
    settings = circle.settings
    if which is None or value is None:
        if which is not None:
            raise Refusal("args.missing", arg="value", usage="cercle rappels")
        ctx.tell_text(_describe(ctx, circle))
        return
    if which == "preparation":
        days = _number(value, ("jours", "jour", "days", "day", "j", "d"))
        if days is None or days > 30:
            raise Refusal("reminders.bad_days", value=value[:20])
        settings.prep_days = days
    elif which == "day_before":
        if value.casefold() not in _ON | _OFF:
            raise Refusal("reminders.bad_switch", value=value[:20])
        settings.remind_day_before = value.casefold() in _ON
    elif which == "soon":
        minutes = _number(value, ("minutes", "minute", "min", "m"))
        if minutes is None or minutes > 24 * 60:
            raise Refusal("reminders.bad_minutes", value=value[:20])
        settings.remind_minutes = minutes
    elif which == "follow_up":
        days = _number(value, ("jours", "jour", "days", "day", "j", "d"))
        if days is None or days > 60:
            raise Refusal("reminders.bad_days", value=value[:20])
        settings.follow_up_days = days
    elif which == "opening":
        if value.casefold() not in {"auto", "automatique", "automatic", "manuelle", "manual"}:
            raise Refusal("reminders.bad_opening", value=value[:20])
        settings.auto_open = value.casefold().startswith("auto")
    elif which == "prep_reminder":
        if value.casefold() not in _ON | _OFF:
            raise Refusal("reminders.bad_switch", value=value[:20])
        settings.prep_reminder = value.casefold() in _ON
    elif which == "action_reminder":
        days = _number(value, ("jours", "jour", "days", "day", "j", "d"))
        if days is None or days > 30:
            raise Refusal("reminders.bad_days", value=value[:20])
        settings.action_reminder_days = days
        for seance in await ctx.uow.seances.for_circle(circle.id):
            await sync_action_reminder(ctx, seance.id)
    else:
        minutes = _number(value, ("minutes", "minute", "min", "m"))
        if minutes is None or minutes < 5 or minutes > 24 * 60:
            raise Refusal("reminders.bad_grace", value=value[:20])
        settings.close_grace_minutes = minutes
    for seance in await ctx.uow.seances.for_circle(circle.id):
        if seance.status in (SeanceStatus.PLANNED, SeanceStatus.OPEN):
            await sync_prompts(ctx, seance)
    ctx.say_text(ctx.t("reminders.updated") + "\n" + _describe(ctx, circle))


def _describe(ctx: Context, circle: Circle) -> str:
    s = circle.settings
    off = ctx.t("reminders.off")

    def days(n: int) -> str:
        return ctx.tr.span_text(ctx.lang, timedelta(days=n)) if n else off

    lines = [
        ctx.t("reminders.header"),
        ctx.t("reminders.preparation", value=days(s.prep_days)),
        ctx.t("reminders.day_before", value=ctx.t("reminders.on") if s.remind_day_before else off),
        ctx.t(
            "reminders.soon",
            value=ctx.t("reminders.minutes", count=s.remind_minutes) if s.remind_minutes else off,
        ),
        ctx.t("reminders.follow_up", value=days(s.follow_up_days)),
        ctx.t("reminders.opening_auto" if s.auto_open else "reminders.opening_manual"),
        ctx.t("reminders.grace", value=ctx.t("reminders.minutes", count=s.close_grace_minutes)),
        ctx.t(
            "reminders.prep_reminder",
            value=ctx.t("reminders.on") if s.prep_reminder else off,
        ),
        ctx.t("reminders.action_reminder", value=days(s.action_reminder_days)),
        ctx.t("reminders.zone", zone=s.timezone, now=_now_local(ctx, s.timezone)),
    ]
    return "\n".join(lines)


def _now_local(ctx: Context, zone: str) -> str:
    return ctx.now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
