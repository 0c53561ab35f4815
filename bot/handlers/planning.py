"""Planning the cycle: /seance planifier, cycle, deplacer, liste; /cercle rappels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.circle import Circle
from bot.domain.prompts import expected_length
from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus, SeanceSummary
from bot.effects import Moment
from bot.errors import Refusal
from bot.handlers.followup import sync_action_reminder
from bot.handlers.lookup import find_seance, renumber_seances
from bot.handlers.rsvp import tally as rsvp_tally
from bot.timing.cycle_words import CycleWords, read_cycle
from bot.timing.dates import (
    MAX_YEARS_AHEAD,
    WhenError,
    local_series,
    parse_when,
)
from bot.timing.schedule import sync_prompts
from bot.views.when import when_in_zone, zone_label

MAX_CYCLE = 52
MAX_TEXT = 500
MAX_CYCLE_TEXT = 2000  # a subject and a question for each séance


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


async def clashing(
    ctx: Context, circle: Circle, instants: list[datetime], moving: Seance | None = None
) -> SeanceSummary | None:
    """The first planned or open séance of the circle that one of `instants` would overlap."""
    length = _length(ctx, circle)
    coming = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED, SeanceStatus.OPEN))
    others = [
        s for s in coming if (moving is None or s.id != moving.id) and (s.planned_at or s.opened_at)
    ]
    for instant in instants:
        for other in others:
            start = other.planned_at or other.opened_at
            assert start is not None
            if abs(start - instant) < length:
                return other
    return None


async def ensure_free(
    ctx: Context, circle: Circle, instants: list[datetime], moving: Seance | None = None
) -> None:
    """Refuse instants that overlap another planned or open séance of the circle."""
    other = await clashing(ctx, circle, instants, moving)
    if other is not None:
        start = other.planned_at or other.opened_at
        assert start is not None
        raise Refusal(
            "planning.collision",
            number=other.number,
            when=ctx.tr.datetime_text(ctx.lang, ctx.tz, start),
        )


def _split(text: str, limit: int = MAX_TEXT) -> tuple[str, str | None, str | None]:
    """`mardi 14h | Déléguer | Que ne déléguez-vous pas ?` → when, subject, question."""
    if len(text) > limit:
        raise Refusal("item.too_long", limit=limit)
    when, _, rest = text.partition("|")
    subject, _, question = rest.partition("|")
    return when.strip(), subject.strip() or None, question.strip() or None


def when_text(ctx: Context, instant: datetime) -> str:
    """The instant written out, with the circle's zone: a confirmation says how it was read."""
    return when_in_zone(ctx.tr, ctx.lang, ctx.tz, instant)


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
    ctx.new_seances.add(seance.id)
    await renumber_seances(ctx)
    await sync_prompts(ctx, seance)
    return seance


async def plan(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    when, subject, question = _split(args["text"])
    if when.isdigit():
        await _update_planned(ctx, circle, int(when), subject, question)
        return
    at = parse_instant(ctx, when)
    other = await clashing(ctx, circle, [at])
    if other is not None:
        raise _slot_taken(ctx, other, subject, question)
    seance = await _create(ctx, circle, at, subject, question)
    moment = Moment(when_text(ctx, at), at)
    ctx.say("planning.planned", number=seance.number, when=moment.text, moments=(moment,))
    if subject:
        ctx.say("planning.subject_set", subject=subject)
    if question:
        ctx.say_text(_question_line(ctx, circle, question, at))


def _slot_taken(
    ctx: Context, other: SeanceSummary, subject: str | None, question: str | None
) -> Refusal:
    """The slot holds a séance already: offer to give it this subject and question, in the
    person's own words, or to move it."""
    start = other.planned_at or other.opened_at
    assert start is not None
    shown = when_text(ctx, start)
    if other.status is not SeanceStatus.PLANNED:
        return Refusal("planning.collision", number=other.number, when=shown)
    if subject or question:
        words = " | ".join([subject or "", question or ""]).rstrip(" |")
        return Refusal("planning.slot_taken_update", number=other.number, when=shown, words=words)
    return Refusal("planning.slot_taken", number=other.number, when=shown)


async def _update_planned(
    ctx: Context, circle: Circle, number: int, subject: str | None, question: str | None
) -> None:
    """`/seance planifier 2 | sujet | question`: a planned séance gets its subject and question."""
    seance = await find_seance(ctx, number)
    if seance.status is not SeanceStatus.PLANNED:
        raise Refusal("planning.not_planned_update", number=number)
    if subject is None and question is None:
        raise Refusal("planning.update_needs_words", number=number)
    if subject is not None:
        seance.subject = subject
    if question is not None:
        seance.prep_question = question
    await sync_prompts(ctx, seance)
    start = seance.planned_at
    shown = when_text(ctx, start) if start else "—"
    ctx.say("planning.updated", number=seance.number, when=shown)
    if subject is not None:
        ctx.say("planning.subject_set", subject=subject)
    if question is not None and start is not None:
        ctx.say_text(_question_line(ctx, circle, question, start))


def _per_seance(text: str | None, count: int, key: str) -> list[str | None]:
    """One text for all the séances, or one per séance separated by `;`."""
    if text is None:
        return [None] * count
    parts = [part.strip() or None for part in text.split(";")]
    if len(parts) == 1:
        return parts * count
    if len(parts) != count:
        raise Refusal(key, count=count, given=len(parts))
    return parts


async def cycle(ctx: Context, args: dict[str, Any]) -> None:
    """`/seance cycle 4 2sem jeudi 14h | sujet 1 ; sujet 2 ; … | question`, or as people say
    it: `4 séances toutes les deux semaines à partir du 10 décembre 14h`."""
    circle = ctx.require_circle()
    schedule, subject, question = _split(args["text"], MAX_CYCLE_TEXT)
    words = read_cycle(schedule)
    if words.count is None or words.every is None or not words.when:
        raise _cycle_incomplete(ctx, words, schedule)
    count = words.count
    if count > MAX_CYCLE:
        raise Refusal("planning.cycle_too_long", limit=MAX_CYCLE)
    every = words.every
    subjects = _per_seance(subject, count, "planning.subjects_count")
    questions = _per_seance(question, count, "planning.questions_count")
    first = parse_instant(ctx, words.when)
    if every < _length(ctx, circle):
        raise Refusal("planning.interval_too_short")
    try:
        instants = local_series(first, count, every, ctx.tz)
    except WhenError as error:
        raise when_refusal(ctx, error, words.when) from None
    other = await clashing(ctx, circle, instants)
    if other is not None:
        raise await _cycle_clash(ctx, circle, other, instants, every, subjects, question)
    lines = [
        ctx.t("planning.cycle_planned_in", count=count, zone=zone_label(ctx.tr, ctx.lang, ctx.tz))
    ]
    created = [
        await _create(ctx, circle, at, topic, prep)
        for at, topic, prep in zip(instants, subjects, questions, strict=True)
    ]
    moments = []
    for seance, at, topic in zip(created, instants, subjects, strict=True):
        # numbers are read once all are planned: each new séance renumbers the cycle by date
        moments.append(ctx.moment(at))
        line = ctx.t("planning.list_line", number=seance.number, when=moments[-1].text)
        if topic:
            line += ctx.t("prompt.subject", subject=topic)
        lines.append(line)
    shared = {q for q in questions if q}
    span = ctx.tr.span_text(ctx.lang, timedelta(days=circle.settings.prep_days))
    if len(shared) == 1:
        question = shared.pop()
        if count > 1 and _question_goes_now(ctx, circle, instants[0]):
            lines.append(
                ctx.t(
                    "planning.cycle_question_now",
                    question=question,
                    days=span,
                    number=created[0].number,
                )
            )
        else:
            lines.append(_question_line(ctx, circle, question, instants[0]))
    elif shared:
        lines.append(ctx.t("planning.questions_will_be_sent", days=span))
    ctx.say_text("\n".join(lines), moments=moments)


async def _cycle_clash(
    ctx: Context,
    circle: Circle,
    other: SeanceSummary,
    instants: list[datetime],
    every: timedelta,
    subjects: list[str | None],
    question: str | None,
) -> Refusal:
    """The cycle overlaps a séance. When it is a planned séance on the cycle's first date (a
    facilitator who planned the first séance, then typed the whole cycle), nothing is guessed:
    the refusal gives the command that keeps that séance and plans the following ones, ready to
    type. Otherwise it says which séance is in the way."""
    start = other.planned_at or other.opened_at
    assert start is not None
    shown = when_text(ctx, start)
    rest = instants[1:]
    first_date = (
        other.status is SeanceStatus.PLANNED
        and rest
        and abs(start - instants[0]) < _length(ctx, circle)
        and await clashing(ctx, circle, rest) is None
    )
    if not first_date:
        plain = ctx.tr.datetime_text(ctx.lang, ctx.tz, start)
        return Refusal("planning.collision", number=other.number, when=plain)
    topics = subjects[1:]
    topic_text = (topics[0] or "") if len(set(topics)) == 1 else " ; ".join(t or "" for t in topics)
    tail = f" | {topic_text}" if topic_text or question else ""
    if question:
        tail += f" | {question}"
    first = _typable(ctx, rest[0]) + tail
    also = ""
    if subjects[0] and subjects[0] != other.subject:  # the first subject would be lost
        also = " " + ctx.t("planning.cycle_first_subject", number=other.number, subject=subjects[0])
    first += also
    if len(rest) == 1:
        return Refusal(
            "planning.cycle_first_planned_one", number=other.number, when=shown, first=first
        )
    return Refusal(
        "planning.cycle_first_planned",
        number=other.number,
        when=shown,
        count=len(rest),
        every=_every_text(ctx, every),
        first=first,
    )


def _typable(ctx: Context, instant: datetime) -> str:
    """An instant as a person would type it in a command (the circle's zone, numeric)."""
    local = instant.astimezone(ZoneInfo(ctx.tz))
    return local.strftime("%Y-%m-%d %H:%M" if ctx.lang == "en" else "%d/%m/%Y %H:%M")


def _every_text(ctx: Context, every: timedelta) -> str:
    """An interval as typed in `/seance cycle`: 2sem, 10j."""
    if every.days % 7 == 0:
        return f"{every.days // 7}{ctx.t('planning.weeks_short')}"
    return f"{every.days}{ctx.t('planning.days_short')}"


def _question_goes_now(ctx: Context, circle: Circle, start: datetime) -> bool:
    """The séance is closer than the question's usual days ahead (see `question_goes_now`)."""
    ahead = timedelta(days=circle.settings.prep_days)
    return circle.settings.prep_days > 0 and start - ahead <= ctx.now < start


def _question_line(ctx: Context, circle: Circle, question: str, start: datetime) -> str:
    """When the preparation question goes out: its usual days ahead, or now."""
    if _question_goes_now(ctx, circle, start):
        return ctx.t("planning.question_sent_now", question=question)
    span = ctx.tr.span_text(ctx.lang, timedelta(days=circle.settings.prep_days))
    return ctx.t("planning.question_will_be_sent", question=question, days=span)


def _cycle_incomplete(ctx: Context, words: CycleWords, typed: str) -> Refusal:
    """What the cycle's description lacks, with the command written back with a stand-in."""
    count = str(words.count) if words.count else "4"
    every = _every_text(ctx, words.every) if words.every else "2sem"
    when = words.when or ctx.t("planning.example_when")
    if words.count is None:
        key = "planning.cycle_needs_count"
    elif words.every is None:
        key = "planning.cycle_needs_interval"
    else:
        key = "planning.cycle_needs_date"
    return Refusal(key, text=typed[:80], example=f"{count} {every} {when}")


async def move(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = await find_seance(ctx, args["number"])
    if seance.status is not SeanceStatus.PLANNED:
        raise Refusal("planning.not_planned", number=seance.number)
    at = parse_instant(ctx, args["text"])
    if at == seance.planned_at:
        ctx.tell("planning.move_same", number=seance.number, when=when_text(ctx, at))
        return
    await ensure_free(ctx, circle, [at], moving=seance)
    seance.planned_at = at
    await renumber_seances(ctx)
    await sync_prompts(ctx, seance)
    moment = Moment(when_text(ctx, at), at)
    ctx.say("planning.moved", number=seance.number, when=moment.text, moments=(moment,))


async def listing(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    upcoming = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED, SeanceStatus.OPEN))
    done = await ctx.uow.seances.count(circle.id, (SeanceStatus.CLOSED,))
    if not upcoming:
        ctx.tell("planning.list_empty", done=ctx.tr.plural(ctx.lang, "planning.held", done))
        return
    held = ctx.tr.plural(ctx.lang, "planning.held", done)
    lines = [ctx.t("planning.list_header", name=circle.name, done=held)]
    moments = []
    for s in sorted(upcoming, key=lambda s: (s.planned_at or s.opened_at or ctx.now, s.number)):
        start = s.planned_at or s.opened_at
        if start is not None:
            moments.append(ctx.moment(start))
        when = moments[-1].text if start is not None else "—"
        line = ctx.t("planning.list_line", number=s.number, when=when)
        if s.subject:
            line += ctx.t("prompt.subject", subject=s.subject)
        if s.is_open:
            line += " " + ctx.t("planning.list_open")
        lines.append(line)
        if ctx.role >= Role.FACILITATOR:
            lines.extend(await _excused_line(ctx, s.id))
        answered = s.status is SeanceStatus.PLANNED and await ctx.uow.rsvps.for_seance(s.id)
        full = (
            await ctx.uow.seances.get(s.id) if ctx.role >= Role.FACILITATOR and answered else None
        )
        if full is not None:
            lines.append(await rsvp_tally(ctx, full))
    ctx.tell_text("\n".join(lines), moments=moments)


async def _excused_line(ctx: Context, seance_id: int) -> list[str]:
    """Who sent apologies for a séance, with their reasons: for the facilitators' eyes."""
    seance = await ctx.uow.seances.get(seance_id)
    if seance is None:
        return []
    names = []
    for user, status in seance.attendance.items():
        if status is AttendanceStatus.EXCUSED:
            reason = seance.excuse_reasons.get(user)
            names.append(f"{ctx.name(user)} ({reason})" if reason else ctx.name(user))
    return [ctx.t("planning.list_excused", names=", ".join(names))] if names else []


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
        for done in await ctx.uow.seances.summaries(circle.id):
            await sync_action_reminder(ctx, done.id)
    else:
        minutes = _number(value, ("minutes", "minute", "min", "m"))
        if minutes is None or minutes < 5 or minutes > 24 * 60:
            raise Refusal("reminders.bad_grace", value=value[:20])
        settings.close_grace_minutes = minutes
    coming = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED, SeanceStatus.OPEN))
    for summary in coming:
        seance = await ctx.uow.seances.get(summary.id)
        if seance is not None:
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
