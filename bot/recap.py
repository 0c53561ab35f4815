"""The recap of a séance: one model built from what was recorded, rendered as Markdown.

Only what the séance's structure produced (attendance, phases, speaking times) and what people
recorded on purpose (/note, /decision, /action) goes in: never anything said in the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.circle import Circle
from bot.items import Item, ItemKind
from bot.ports import Translator
from bot.seance import AttendanceStatus, Seance, SeanceStatus
from bot.wording import phase_title


@dataclass(frozen=True, slots=True)
class SpeakerLine:
    """Speaking time and turns of one person."""

    name: str
    spoken: timedelta
    turns: int


@dataclass(frozen=True, slots=True)
class PhaseLine:
    """A phase with its planned and actual duration."""

    key: str
    title: str | None
    planned: timedelta | None
    actual: timedelta


@dataclass(frozen=True, slots=True)
class ItemLine:
    """A note, decision or action as shown in the recap."""

    number: int
    kind: ItemKind
    text: str
    owner: str | None = None
    due: date | None = None


@dataclass(frozen=True, slots=True)
class NextSeance:
    """The next planned séance, if any."""

    number: int
    planned_at: datetime
    prep_question: str | None


@dataclass(frozen=True, slots=True)
class Recap:
    """Everything a séance's recap shows, in display order, language-free."""

    circle_name: str
    number: int
    total: int
    opened_at: datetime
    closed_at: datetime
    attendance: tuple[tuple[str, AttendanceStatus], ...]
    phases: tuple[PhaseLine, ...]
    speakers: tuple[SpeakerLine, ...]
    items: tuple[ItemLine, ...]
    next_seance: NextSeance | None


def build_recap(circle: Circle, seance: Seance, items: list[Item], seances: list[Seance]) -> Recap:
    """The recap of a closed séance; `seances` are all of the circle's (for n/N and what's next)."""
    assert seance.opened_at is not None
    assert seance.closed_at is not None
    now = seance.closed_at
    roster = circle.roster()
    attendance = tuple(
        (m.display_name, seance.attendance.get(m.user, AttendanceStatus.ABSENT)) for m in roster
    )
    phases = tuple(
        PhaseLine(p.key, p.title, p.planned, p.elapsed(now, None)) for p in seance.phases
    )
    times = seance.speaking_times(now)
    for user, status in seance.attendance.items():
        if status is AttendanceStatus.PRESENT:
            times.setdefault(user, (timedelta(0), 0))
    speakers = tuple(
        sorted(
            (SpeakerLine(circle.name_of(u), spent, n) for u, (spent, n) in times.items()),
            key=lambda s: (-s.spoken, s.name),
        )
    )
    lines = tuple(
        ItemLine(
            i.number,
            i.kind,
            i.text,
            circle.name_of(i.owner) if i.owner else None,
            i.due,
        )
        for i in sorted(items, key=lambda i: i.number)
        if i.seance_id == seance.id
    )
    counted = [s for s in seances if s.status is not SeanceStatus.CANCELLED]
    upcoming = sorted(
        (
            s
            for s in counted
            if s.status is SeanceStatus.PLANNED and s.planned_at and s.planned_at > now
        ),
        key=lambda s: s.planned_at or now,
    )
    next_seance = (
        NextSeance(upcoming[0].number, upcoming[0].planned_at, upcoming[0].prep_question)
        if upcoming and upcoming[0].planned_at
        else None
    )
    return Recap(
        circle_name=circle.name,
        number=seance.number,
        total=max(len(counted), seance.number),
        opened_at=seance.opened_at,
        closed_at=seance.closed_at,
        attendance=attendance,
        phases=phases,
        speakers=speakers,
        items=lines,
        next_seance=next_seance,
    )


def plural_category(lang: str, count: int) -> str:
    """CLDR's "one" or "other": French says 0 tour, 1 tour; English says 0 turns, 1 turn."""
    if lang == "fr":
        return "one" if count in (0, 1) else "other"
    return "one" if count == 1 else "other"


def render_markdown(recap: Recap, tr: Translator, lang: str, tz: str) -> str:
    t = tr.text
    out: list[str] = []
    out.append(
        "## "
        + t(lang, "recap.title", circle=recap.circle_name, number=recap.number, total=recap.total)
    )
    out.append(
        t(
            lang,
            "recap.when",
            date=tr.datetime_text(lang, tz, recap.opened_at),
            end=tr.time_text(lang, tz, recap.closed_at),
            duration=tr.duration_text(lang, recap.closed_at - recap.opened_at),
        )
    )
    out.append("")
    out.append("### " + t(lang, "recap.attendance"))
    for status in (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT):
        names = [name for name, s in recap.attendance if s is status]
        label = t(lang, f"attendance.label.{status.value}")
        joined = ", ".join(names) if names else "—"
        out.append(
            "- " + t(lang, "recap.attendance_line", label=label, count=len(names), names=joined)
        )
    if recap.phases:
        out.append("")
        out.append("### " + t(lang, "recap.phases"))
        for phase in recap.phases:
            planned = tr.duration_text(lang, phase.planned) if phase.planned else "—"
            out.append(
                "- "
                + t(
                    lang,
                    "recap.phase_line",
                    phase=phase_title(tr, lang, phase.key, phase.title),
                    planned=planned,
                    actual=tr.duration_text(lang, phase.actual),
                )
            )
    out.append("")
    out.append("### " + t(lang, "recap.speaking"))
    if any(s.turns for s in recap.speakers):
        for s in recap.speakers:
            turns = t(lang, f"recap.turns.{plural_category(lang, s.turns)}", count=s.turns)
            spoken = tr.duration_text(lang, s.spoken)
            out.append(
                "- " + t(lang, "recap.speaker_line", name=s.name, spoken=spoken, turns=turns)
            )
    else:
        out.append("- " + t(lang, "recap.nobody_spoke"))
    for kind, heading in (
        (ItemKind.DECISION, "recap.decisions"),
        (ItemKind.ACTION, "recap.actions"),
        (ItemKind.NOTE, "recap.notes"),
    ):
        chosen = [i for i in recap.items if i.kind is kind]
        if not chosen:
            continue
        out.append("")
        out.append("### " + t(lang, heading))
        for item in chosen:
            line = f"- #{item.number} {item.text}"
            if kind is ItemKind.ACTION:
                line += " — " + t(lang, "recap.owner", name=item.owner or "?")
                if item.due:
                    line += ", " + t(lang, "recap.due", date=tr.day_text(lang, item.due))
            out.append(line)
    out.append("")
    if recap.next_seance is not None:
        nxt = recap.next_seance
        when = tr.datetime_text(lang, tz, nxt.planned_at)
        out.append(t(lang, "recap.next", number=nxt.number, date=when))
        if nxt.prep_question:
            out.append(t(lang, "recap.prep", question=nxt.prep_question))
    else:
        out.append(t(lang, "recap.no_next"))
    return "\n".join(out)
