"""The recap of a séance: one model built from what was recorded, rendered three ways.

Only what the séance's structure produced (attendance, phases, speaking times) and what people
recorded on purpose (/note, /decision, /action, the check-in words they chose to share) goes in:
never anything said in the channel.

`build_recap` makes the language-free `Recap`; `recap_text` words it once in the circle's
language (title, sections of lines); Markdown (here), HTML (`bot.recaps.html`) and the Discord
embed (`bot.recaps.embed`) are layouts of that one text, so they never disagree. The chart's
text alternative (`chart_alt`) is written from the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.circle import Circle
from bot.domain.items import Item, ItemKind
from bot.domain.preparation import PrepAnswer
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.domain.seance import (
    AttendanceStatus,
    Seance,
    SeanceStatus,
    SeanceSummary,
)
from bot.ports import Translator
from bot.recaps.equity import fair_share, floor_and_single_times
from bot.views.wording import phase_title

ATTENDANCE_ORDER = (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT)


@dataclass(frozen=True, slots=True)
class SpeakerLine:
    """Speaking time and turns of one person; facilitators are not counted in the fair share."""

    name: str
    spoken: timedelta
    turns: int
    facilitator: bool = False


@dataclass(frozen=True, slots=True)
class CorrectionLine:
    """A turn whose length a facilitator corrected: shown so the figures stay traceable."""

    name: str
    by: str
    recorded: timedelta
    kept: timedelta


@dataclass(frozen=True, slots=True)
class PhaseLine:
    """A phase with its planned and actual duration, and when it ran."""

    key: str
    title: str | None
    planned: timedelta | None
    actual: timedelta
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckInLine:
    """The word one person chose to share in the check-in round."""

    name: str
    word: str


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """A preparation answer its author shared with the circle."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class ItemLine:
    """A note, decision or action as shown in the recap."""

    number: int
    kind: ItemKind
    text: str
    owner: str | None = None
    due: date | None = None
    done: bool = False


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
    checkins: tuple[CheckInLine, ...] = ()
    fair_share: timedelta | None = None  # mean speaking time of the participants present
    draft: bool = False  # awaiting approval: shown to facilitators only
    withheld: tuple[ItemLine, ...] = ()  # items kept out (listed in drafts only)
    corrections: tuple[CorrectionLine, ...] = ()  # turn lengths corrected before publishing
    shared_answers: tuple[AnswerLine, ...] = ()  # preparation answers their authors shared
    single: tuple[SpeakerLine, ...] = ()  # time in single-speaker phases, left out of the share

    @property
    def spoken(self) -> timedelta:
        return sum((s.spoken for s in self.speakers), timedelta(0))

    def count(self, status: AttendanceStatus) -> int:
        return sum(1 for _, s in self.attendance if s is status)


Namer = Callable[[UserRef], str]


def build_recap(
    circle: Circle,
    seance: Seance,
    items: list[Item],
    seances: Sequence[Seance | SeanceSummary],
    names: Namer | None = None,
    total: int | None = None,
    answers: Sequence[PrepAnswer] = (),
) -> Recap:
    """The recap of a closed séance; `seances` are all of the circle's, whole or summed up
    (for n/N and what's next), or only the planned ones with `total` the number of séances
    not cancelled.

    `names` turns a person into the name shown (default: the roster's display name)."""
    assert seance.opened_at is not None
    assert seance.closed_at is not None
    name = names or circle.name_of
    now = seance.closed_at
    position = {m.user: m.position for m in circle.members.values()}

    def order(user: UserRef) -> tuple[int, str]:
        return (position.get(user, 1_000_000), user.key)

    attendance = tuple(
        (name(u), status)
        for u, status in sorted(seance.attendance.items(), key=lambda p: order(p[0]))
    )
    phases = tuple(
        PhaseLine(p.key, p.title, p.planned, p.elapsed(now, None), p.started_at, p.ended_at or now)
        for p in seance.phases
    )
    times, alone = floor_and_single_times(seance, now)
    present = seance.present()
    for user in present:
        times.setdefault(user, (timedelta(0), 0))

    def facilitates(user: UserRef) -> bool:
        member = circle.members.get(user)
        return member is not None and member.role is Role.FACILITATOR

    speakers = tuple(
        sorted(
            (SpeakerLine(name(u), spent, n, facilitates(u)) for u, (spent, n) in times.items()),
            key=lambda s: (-s.spoken, s.name),
        )
    )
    single = tuple(
        sorted(
            (SpeakerLine(name(u), spent, n, facilitates(u)) for u, (spent, n) in alone.items()),
            key=lambda s: (-s.spoken, s.name),
        )
    )
    counted = [u for u in present if not facilitates(u)] or sorted(present)
    share = fair_share([times[u][0].total_seconds() for u in counted])
    checkins = tuple(
        CheckInLine(name(u), c.word)
        for u, c in sorted(seance.checkins.items(), key=lambda p: order(p[0]))
    )
    chosen = sorted((i for i in items if i.seance_id == seance.id), key=lambda i: i.number)

    def line(i: Item) -> ItemLine:
        owner = name(i.owner) if i.owner else None
        return ItemLine(i.number, i.kind, i.text, owner, i.due, i.done_at is not None)

    draft = seance.recap_pending
    counted_seances = [s for s in seances if s.status is not SeanceStatus.CANCELLED]
    upcoming = sorted(
        (
            s
            for s in counted_seances
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
        total=max(len(counted_seances) if total is None else total, seance.number),
        opened_at=seance.opened_at,
        closed_at=seance.closed_at,
        attendance=attendance,
        phases=phases,
        speakers=speakers,
        items=tuple(line(i) for i in chosen if not i.withheld),
        next_seance=next_seance,
        checkins=checkins,
        fair_share=timedelta(seconds=round(share)) if share is not None else None,
        draft=draft,
        withheld=tuple(line(i) for i in chosen if i.withheld) if draft else (),
        corrections=tuple(
            CorrectionLine(
                name(t.user),
                name(t.corrected.by),
                max(timedelta(0), (t.ended_at or now) - t.started_at - t.paused),
                t.corrected.length,
            )
            for t in seance.turns
            if t.corrected is not None
        ),
        single=single,
        shared_answers=tuple(
            AnswerLine(name(a.user), a.text)
            for a in sorted(answers, key=lambda a: order(a.user))
            if a.shared and a.seance_id == seance.id
        ),
    )


# -- words -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the recap: a heading, its bullet lines, and plain lines after them."""

    key: str
    heading: str
    lines: tuple[str, ...]
    after: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecapText:
    """The recap worded in one language; every layout is made from this."""

    title: str
    when: str
    banner: str | None
    sections: tuple[Section, ...]
    closing: tuple[str, ...]
    footer: str


def plural_category(lang: str, count: int) -> str:
    """CLDR's "one" or "other": French says 0 tour, 1 tour; English says 0 turns, 1 turn."""
    if lang == "fr":
        return "one" if count in (0, 1) else "other"
    return "one" if count == 1 else "other"


def turns_text(tr: Translator, lang: str, count: int, spoken: timedelta | None = None) -> str:
    """ "2 tours"; a person who held the floor and passed it on has time but no turn: "passed"."""
    if count == 0:
        key = "recap.turns.passed" if spoken else "recap.turns.none"
        return tr.text(lang, key)
    return tr.text(lang, f"recap.turns.{plural_category(lang, count)}", count=count)


def speaker_name(tr: Translator, lang: str, speaker: SpeakerLine) -> str:
    if speaker.facilitator:
        return tr.text(lang, "recap.facilitator_mark", name=speaker.name)
    return speaker.name


def fair_share_text(tr: Translator, lang: str, recap: Recap) -> str | None:
    if recap.fair_share is None or not recap.spoken:
        return None
    return tr.text(lang, "recap.fair_share", share=tr.duration_text(lang, recap.fair_share))


def item_text(tr: Translator, lang: str, item: ItemLine) -> str:
    line = f"#{item.number} {item.text}"
    if item.kind is ItemKind.ACTION:
        line += " — " + tr.text(lang, "recap.owner", name=item.owner or "?")
        if item.due:
            line += ", " + tr.text(lang, "recap.due", date=tr.day_text(lang, item.due))
        if item.done:
            line += " — " + tr.text(lang, "recap.action_done")
    return line


def recap_text(recap: Recap, tr: Translator, lang: str, tz: str) -> RecapText:
    t = tr.text
    sections: list[Section] = []
    attendance = []
    for status in ATTENDANCE_ORDER:
        people = [n for n, s in recap.attendance if s is status]
        attendance.append(
            t(
                lang,
                "recap.attendance_line",
                label=t(lang, f"attendance.label.{status.value}"),
                count=len(people),
                names=", ".join(people) if people else "—",
            )
        )
    sections.append(Section("attendance", t(lang, "recap.attendance"), tuple(attendance)))
    if recap.phases:
        lines = []
        for phase in recap.phases:
            line = t(
                lang,
                "recap.phase_line",
                phase=phase_title(tr, lang, phase.key, phase.title),
                planned=tr.duration_text(lang, phase.planned) if phase.planned else "—",
                actual=tr.duration_text(lang, phase.actual),
            )
            if phase.started_at and phase.ended_at:
                start = tr.time_text(lang, tz, phase.started_at)
                end = tr.time_text(lang, tz, phase.ended_at)
                line += f" ({start}–{end})"
            lines.append(line)
        sections.append(Section("phases", t(lang, "recap.phases"), tuple(lines)))
    if any(s.turns for s in recap.speakers):
        lines = [
            t(
                lang,
                "recap.speaker_line",
                name=speaker_name(tr, lang, s),
                spoken=tr.duration_text(lang, s.spoken),
                turns=turns_text(tr, lang, s.turns, s.spoken),
            )
            if s.turns or s.spoken
            else t(lang, "recap.speaker_silent", name=speaker_name(tr, lang, s))
            for s in recap.speakers
        ]
        share = fair_share_text(tr, lang, recap)
        after = ((share,) if share else ()) + tuple(
            t(
                lang,
                "recap.corrected_line",
                name=c.name,
                by=c.by,
                recorded=tr.duration_text(lang, c.recorded),
                kept=tr.duration_text(lang, c.kept),
            )
            for c in recap.corrections
        )
        sections.append(Section("speaking", t(lang, "recap.speaking"), tuple(lines), after))
    else:
        sections.append(
            Section("speaking", t(lang, "recap.speaking"), (t(lang, "recap.nobody_spoke"),))
        )
    if recap.single:
        lines = [
            t(
                lang,
                "recap.speaker_line",
                name=speaker_name(tr, lang, s),
                spoken=tr.duration_text(lang, s.spoken),
                turns=turns_text(tr, lang, s.turns, s.spoken),
            )
            for s in recap.single
        ]
        sections.append(Section("single", t(lang, "recap.single"), tuple(lines)))
    if recap.checkins:
        lines = [t(lang, "recap.checkin_line", name=c.name, word=c.word) for c in recap.checkins]
        sections.append(Section("checkins", t(lang, "recap.checkins"), tuple(lines)))
    if recap.shared_answers:
        lines = [
            t(lang, "recap.answer_line", name=a.name, text=a.text) for a in recap.shared_answers
        ]
        sections.append(Section("preparation", t(lang, "recap.preparation"), tuple(lines)))
    for kind, key, heading in (
        (ItemKind.DECISION, "decisions", "recap.decisions"),
        (ItemKind.ACTION, "actions", "recap.actions"),
        (ItemKind.NOTE, "notes", "recap.notes"),
    ):
        chosen = [item_text(tr, lang, i) for i in recap.items if i.kind is kind]
        if chosen:
            sections.append(Section(key, t(lang, heading), tuple(chosen)))
    if recap.withheld:
        lines = [item_text(tr, lang, i) for i in recap.withheld]
        sections.append(Section("withheld", t(lang, "recap.withheld"), tuple(lines)))
    closing: list[str] = []
    if recap.next_seance is not None:
        nxt = recap.next_seance
        when = tr.datetime_text(lang, tz, nxt.planned_at)
        closing.append(t(lang, "recap.next", number=nxt.number, date=when))
        if nxt.prep_question:
            closing.append(t(lang, "recap.prep", question=nxt.prep_question))
    else:
        closing.append(t(lang, "recap.no_next"))
    return RecapText(
        title=t(
            lang, "recap.title", circle=recap.circle_name, number=recap.number, total=recap.total
        ),
        when=t(
            lang,
            "recap.when",
            date=tr.datetime_text(lang, tz, recap.opened_at),
            end=tr.time_text(lang, tz, recap.closed_at),
            duration=tr.duration_text(lang, recap.closed_at - recap.opened_at),
        ),
        banner=t(lang, "recap.draft_banner") if recap.draft else None,
        sections=tuple(sections),
        closing=tuple(closing),
        footer=t(lang, "recap.footer"),
    )


def render_markdown(recap: Recap, tr: Translator, lang: str, tz: str) -> str:
    return markdown_of(recap_text(recap, tr, lang, tz))


def markdown_of(text: RecapText, level: int = 2) -> str:
    """The recap as Markdown; `level` is the title's heading level (sections are one deeper)."""
    out = ["#" * level + " " + text.title, text.when]
    if text.banner:
        out += ["", "> " + text.banner]
    for section in text.sections:
        out += ["", "#" * (level + 1) + " " + section.heading]
        out += ["- " + line for line in section.lines]
        if section.after:
            out += ["", *section.after]
    out += [""]
    out += list(text.closing)
    out += ["", f"_{text.footer}_"]
    return "\n".join(out)


def chart_alt(recap: Recap, tr: Translator, lang: str) -> str:
    """The chart's text alternative: the same numbers as the recap, in words."""
    people = tr.text(lang, "chart.alt_separator").join(
        tr.text(
            lang,
            "chart.alt_person",
            name=speaker_name(tr, lang, s),
            spoken=tr.duration_text(lang, s.spoken),
            turns=turns_text(tr, lang, s.turns, s.spoken),
        )
        for s in recap.speakers
    )
    alt = tr.text(lang, "chart.alt", number=recap.number, people=people)
    share = fair_share_text(tr, lang, recap)
    return f"{alt} {share}." if share else alt
