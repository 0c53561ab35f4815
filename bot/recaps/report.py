"""The cycle report (`/bilan`): attendance over every séance, who to call, speaking equity over
the cycle, and where the actions stand.

The cycle is every closed séance of the circle. A person counts at a séance from the moment
they were in the roster (a séance closes with a mark for everyone in the roster: present,
excused or absent), so someone who joined late is not counted absent before.

Equity is measured among participants (see `bot.recaps.equity`): each one's share of the cycle's
speaking time and turns, the Gini coefficient of each séance (participants present), and one
figure for the cycle: the Gini coefficient of the participants' total speaking times, among
those present at least once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from babel.numbers import format_decimal, format_percent

from bot.domain.circle import Circle
from bot.domain.items import Item, ItemKind
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus, SeanceTrail
from bot.ports import Translator
from bot.recaps.equity import floor_and_single_times, gini
from bot.recaps.figures import Bar, BarFigure, Point, SeriesFigure
from bot.recaps.model import SpeakerLine, speaker_name, turns_text

ZERO = timedelta(0)
DRIFT = 2  # séances in a row: missed, or without speaking
DRIFT_WINDOW = 6  # the closed séances looked at after each séance (a longer streak shows as 6)
MARK = {
    AttendanceStatus.PRESENT: "report.mark_present",
    AttendanceStatus.EXCUSED: "report.mark_excused",
    AttendanceStatus.ABSENT: "report.mark_absent",
}


@dataclass(frozen=True, slots=True)
class PersonAttendance:
    name: str
    marks: tuple[AttendanceStatus | None, ...]  # per séance of the cycle; None: not yet there
    facilitator: bool = False

    @property
    def present(self) -> int:
        return sum(1 for m in self.marks if m is AttendanceStatus.PRESENT)

    @property
    def counted(self) -> int:
        return sum(1 for m in self.marks if m is not None)


@dataclass(frozen=True, slots=True)
class PersonEquity:
    name: str
    spoken: timedelta
    turns: int
    share: float  # of the participants' speaking time over the cycle, 0..1
    turn_share: float
    attended: int


@dataclass(frozen=True, slots=True)
class SeanceEquity:
    number: int
    gini: float | None
    spoken: timedelta


@dataclass(frozen=True, slots=True)
class Alert:
    """Someone drifting away: missed the last `count` séances, or has not spoken in them."""

    user: UserRef
    name: str
    kind: str  # "missed" or "silent"
    count: int


@dataclass(frozen=True, slots=True)
class ActionLine:
    number: int
    text: str
    due: date | None
    done: bool
    overdue: bool


@dataclass(frozen=True, slots=True)
class OwnerActions:
    owner: str
    actions: tuple[ActionLine, ...]

    def count(self, *, done: bool | None = None, overdue: bool | None = None) -> int:
        return sum(
            1
            for a in self.actions
            if (done is None or a.done == done) and (overdue is None or a.overdue == overdue)
        )


@dataclass(frozen=True, slots=True)
class CycleReport:
    circle_name: str
    numbers: tuple[int, ...]  # the closed séances, in order
    upcoming: int
    attendance: tuple[PersonAttendance, ...]
    alerts: tuple[Alert, ...]
    equity: tuple[PersonEquity, ...]
    facilitators_spoken: timedelta
    seances: tuple[SeanceEquity, ...]
    gini: float | None
    actions: tuple[OwnerActions, ...]
    single: tuple[SpeakerLine, ...] = ()  # time in single-speaker phases, left out of equity


Namer = Callable[[UserRef], str]


def _facilitators(circle: Circle) -> set[UserRef]:
    return {m.user for m in circle.members.values() if m.role is Role.FACILITATOR}


def closed_seances(seances: Sequence[Seance]) -> list[Seance]:
    return sorted((s for s in seances if s.status is SeanceStatus.CLOSED), key=lambda s: s.number)


def drift_alerts(circle: Circle, trails: Sequence[SeanceTrail], names: Namer) -> list[Alert]:
    """Participants who missed the last two closed séances (or more) in a row, else who have
    not spoken in the last two they attended: the moment for a facilitator to call them."""
    closed = sorted(trails, key=lambda s: s.number)
    alerts: list[Alert] = []
    for member in circle.expected():
        mine = [s for s in closed if member.user in s.attendance]
        missed = silent = 0
        for s in reversed(mine):
            if s.attendance[member.user] is AttendanceStatus.PRESENT:
                break
            missed += 1
        for s in reversed(mine):  # silence counts only where they were (absences are apart)
            if s.attendance[member.user] is not AttendanceStatus.PRESENT:
                continue
            if member.user in s.speakers:
                break
            silent += 1
        if missed >= DRIFT:
            alerts.append(Alert(member.user, names(member.user), "missed", missed))
        elif silent >= DRIFT:
            alerts.append(Alert(member.user, names(member.user), "silent", silent))
    return alerts


def build_report(
    circle: Circle, seances: Sequence[Seance], items: Sequence[Item], today: date, names: Namer
) -> CycleReport:
    closed = closed_seances(seances)
    facilitators = _facilitators(circle)
    position = {m.user: m.position for m in circle.members.values()}
    people = sorted(
        {u for s in closed for u in s.attendance} | set(circle.members),
        key=lambda u: (position.get(u, 1_000_000), u.key),
    )
    attendance = tuple(
        PersonAttendance(names(u), tuple(s.attendance.get(u) for s in closed), u in facilitators)
        for u in people
        if any(u in s.attendance for s in closed)
    )
    totals: dict[UserRef, float] = {}
    turns: dict[UserRef, int] = {}
    attended: dict[UserRef, int] = {}
    single: dict[UserRef, tuple[timedelta, int]] = {}
    facilitators_spoken = ZERO
    per_seance: list[SeanceEquity] = []
    for s in closed:
        end = s.closed_at or s.opened_at
        assert end is not None
        times, alone = floor_and_single_times(s, end)
        for u, (spent, n) in alone.items():
            was, count = single.get(u, (ZERO, 0))
            single[u] = (was + spent, count + n)
        present = s.present()
        counted = [u for u in present if u not in facilitators] or sorted(present)
        for u in present:
            attended[u] = attended.get(u, 0) + 1
        for u, (spent, n) in times.items():
            if u in facilitators:
                facilitators_spoken += spent
                continue
            totals[u] = totals.get(u, 0.0) + spent.total_seconds()
            turns[u] = turns.get(u, 0) + n
        values = [times.get(u, (ZERO, 0))[0].total_seconds() for u in counted]
        spoken = sum((times[u][0] for u in counted if u in times), ZERO)
        per_seance.append(SeanceEquity(s.number, gini(values), spoken))
    participants = [u for u in attended if u not in facilitators]
    all_time = sum(totals.get(u, 0.0) for u in participants)
    all_turns = sum(turns.get(u, 0) for u in participants)
    equity = tuple(
        sorted(
            (
                PersonEquity(
                    names(u),
                    timedelta(seconds=round(totals.get(u, 0.0))),
                    turns.get(u, 0),
                    totals.get(u, 0.0) / all_time if all_time else 0.0,
                    turns.get(u, 0) / all_turns if all_turns else 0.0,
                    attended.get(u, 0),
                )
                for u in participants
            ),
            key=lambda p: (-p.spoken, p.name),
        )
    )
    cycle_gini = gini([totals.get(u, 0.0) for u in participants])
    owners: dict[str, list[ActionLine]] = {}
    for item in sorted(items, key=lambda i: i.number):
        if item.kind is not ItemKind.ACTION:
            continue
        owner = names(item.owner) if item.owner else "?"
        done = item.done_at is not None
        overdue = not done and item.due is not None and item.due < today
        owners.setdefault(owner, []).append(
            ActionLine(item.number, item.text, item.due, done, overdue)
        )
    upcoming = sum(1 for s in seances if s.status in (SeanceStatus.PLANNED, SeanceStatus.OPEN))
    return CycleReport(
        circle_name=circle.name,
        numbers=tuple(s.number for s in closed),
        upcoming=upcoming,
        attendance=attendance,
        alerts=tuple(drift_alerts(circle, [SeanceTrail.of(s) for s in closed], names)),
        equity=equity,
        facilitators_spoken=facilitators_spoken,
        seances=tuple(per_seance),
        gini=cycle_gini,
        actions=tuple(OwnerActions(o, tuple(a)) for o, a in sorted(owners.items())),
        single=tuple(
            sorted(
                (
                    SpeakerLine(names(u), spent, n, u in facilitators)
                    for u, (spent, n) in single.items()
                ),
                key=lambda line: (-line.spoken, line.name),
            )
        ),
    )


# -- words -------------------------------------------------------------------------------------


def decimal_text(lang: str, value: float) -> str:
    return str(format_decimal(value, format="0.00", locale=lang))


def percent_text(lang: str, share: float) -> str:
    return str(format_percent(share, format="0 %" if lang == "fr" else "0%", locale=lang))


def alert_text(tr: Translator, lang: str, alert: Alert) -> str:
    return tr.text(lang, f"report.alert_{alert.kind}", name=alert.name, count=alert.count)


def _cell(name: str, width: int) -> str:
    """A name in a grid column: padded, never cut (the bilan names every person in full)."""
    return name.ljust(width)


def render_report(report: CycleReport, tr: Translator, lang: str) -> str:
    """The report as Markdown; the grids are code blocks, so they line up on every platform."""
    t = tr.text
    out = ["## " + t(lang, "report.title", circle=report.circle_name)]
    if not report.numbers:
        out.append(t(lang, "report.nothing_yet", upcoming=report.upcoming))
        return "\n".join(out)
    out.append(
        t(
            lang,
            "report.summary",
            held=tr.plural(lang, "report.held", len(report.numbers)),
            first=report.numbers[0],
            last=report.numbers[-1],
            upcoming=report.upcoming,
        )
    )
    labels = [
        t(lang, "recap.facilitator_mark", name=p.name) if p.facilitator else p.name
        for p in report.attendance
    ]
    width = max(len(label) for label in labels) + 1
    out += ["", "### " + t(lang, "report.attendance"), "```"]
    head = " ".join(f"S{n}".ljust(3) for n in report.numbers)
    out.append(f"{'':{width}} {head}  {t(lang, 'report.present_count')}")
    for person, label in zip(report.attendance, labels, strict=True):
        marks = " ".join(
            (t(lang, MARK[m]) if m is not None else "—").ljust(3) for m in person.marks
        )
        out.append(f"{_cell(label, width)} {marks}  {person.present}/{person.counted}")
    out += ["```", t(lang, "report.legend")]
    out += ["", "### " + t(lang, "report.alerts")]
    if report.alerts:
        out += ["- " + alert_text(tr, lang, a) for a in report.alerts]
    else:
        out.append(t(lang, "report.no_alerts"))
    out += ["", "### " + t(lang, "report.equity")]
    if report.equity:
        width = max(len(p.name) for p in report.equity) + 1
        out.append("```")
        heads = t(lang, "report.equity_head").split("|")
        widths = (12, 6, 6, 7, 8)
        out.append(
            f"{'':{width}} " + " ".join(h.rjust(w) for h, w in zip(heads, widths, strict=False))
        )
        for p in report.equity:
            out.append(
                f"{_cell(p.name, width)} {tr.duration_text(lang, p.spoken):>12} "
                f"{percent_text(lang, p.share):>6} {p.turns:>6} "
                f"{percent_text(lang, p.turn_share):>7} {p.attended:>8}"
            )
        out.append("```")
    if report.facilitators_spoken:
        out.append(
            t(
                lang,
                "report.facilitators",
                spoken=tr.duration_text(lang, report.facilitators_spoken),
            )
        )
    figure = decimal_text(lang, report.gini) if report.gini is not None else "—"
    out.append(t(lang, "report.gini", gini=figure))
    per = " · ".join(
        f"S{s.number} {decimal_text(lang, s.gini) if s.gini is not None else '—'}"
        for s in report.seances
    )
    out.append(t(lang, "report.gini_by_seance", values=per))
    if report.single:
        out += ["", "### " + t(lang, "recap.single")]
        out += [
            "- "
            + t(
                lang,
                "recap.speaker_line",
                name=speaker_name(tr, lang, line),
                spoken=tr.duration_text(lang, line.spoken),
                turns=turns_text(tr, lang, line.turns, line.spoken),
            )
            for line in report.single
        ]
    out += ["", "### " + t(lang, "report.actions")]
    all_actions = [a for o in report.actions for a in o.actions]
    if not all_actions:
        out.append(t(lang, "report.no_actions"))
    else:
        out.append(
            t(
                lang,
                "report.actions_summary",
                open=tr.plural(lang, "report.open", sum(1 for a in all_actions if not a.done)),
                overdue=sum(1 for a in all_actions if a.overdue),
                done=tr.plural(lang, "report.done", sum(1 for a in all_actions if a.done)),
            )
        )
        for owner in report.actions:
            parts = []
            for a in owner.actions:
                text = f"#{a.number} {a.text}"
                if a.done:
                    text += " — " + t(lang, "recap.action_done")
                elif a.overdue:
                    assert a.due is not None
                    text += " — " + t(lang, "report.overdue", date=tr.day_text(lang, a.due))
                elif a.due:
                    text += " — " + t(lang, "recap.due", date=tr.day_text(lang, a.due))
                parts.append(text)
            out.append(
                "- "
                + t(
                    lang,
                    "report.owner_line",
                    owner=owner.owner,
                    open=tr.plural(lang, "report.open", owner.count(done=False)),
                    done=tr.plural(lang, "report.done", owner.count(done=True)),
                    actions=" ; ".join(parts) if lang == "fr" else "; ".join(parts),
                )
            )
    return "\n".join(out)


def report_figures(
    report: CycleReport, tr: Translator, lang: str
) -> tuple[BarFigure, SeriesFigure]:
    n = len(report.equity)
    shares = BarFigure(
        title=tr.text(lang, "report.chart_shares", circle=report.circle_name),
        axis=tr.text(lang, "report.chart_share_axis"),
        bars=tuple(
            Bar(
                p.name,
                p.share * 100,
                f"{percent_text(lang, p.share)} · {tr.duration_text(lang, p.spoken)}",
            )
            for p in report.equity
        ),
        marker=100 / n if n else None,
        marker_label=tr.text(
            lang, "report.chart_even", share=percent_text(lang, 1 / n) if n else ""
        ),
    )
    series = SeriesFigure(
        title=tr.text(lang, "report.chart_gini"),
        axis=tr.text(lang, "report.chart_gini_axis"),
        points=tuple(
            Point(
                f"S{s.number}",
                s.gini,
                decimal_text(lang, s.gini) if s.gini is not None else "—",
            )
            for s in report.seances
        ),
        note=tr.text(lang, "report.chart_gini_note"),
        decimal_comma=lang == "fr",
    )
    return shares, series


def report_alt(report: CycleReport, tr: Translator, lang: str) -> str:
    shares = tr.text(lang, "chart.alt_separator").join(
        f"{p.name} {percent_text(lang, p.share)}" for p in report.equity
    )
    per = tr.text(lang, "chart.alt_separator").join(
        f"S{s.number} {decimal_text(lang, s.gini) if s.gini is not None else '—'}"
        for s in report.seances
    )
    return tr.text(lang, "report.chart_alt", shares=shares or "—", values=per or "—")
