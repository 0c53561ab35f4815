"""A circle's séances as an iCalendar file (RFC 5545) people can import or subscribe to.

Each séance keeps the same UID from one export to the next, so importing a newer file updates
the events already in a calendar (a moved séance moves, a cancelled one shows as cancelled).
Times are written in the circle's time zone, with its VTIMEZONE, so they stay right across
daylight saving changes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.domain.circle import Circle
from bot.domain.prompts import expected_length
from bot.domain.protocol import Protocol, ProtocolBook
from bot.domain.seance import Seance, SeanceStatus
from bot.ports import Translator
from bot.views.wording import phase_title

PRODID = "-//Cercle//Cercle//FR"


def seance_uid(circle: Circle, seance: Seance) -> str:
    """The séance's event UID: the same in every export, so a re-import updates the event."""
    return f"seance-{circle.id}-{seance.number}@cercle"


def circle_calendar(
    circle: Circle,
    seances: list[Seance],
    protocols: ProtocolBook,
    tr: Translator,
    *,
    channel_label: str | None = None,
    now: datetime,
) -> bytes:
    """The circle's séances (those with a planned or opening time) as an `.ics` file."""
    _require_aware(now, "now")
    lang = circle.settings.language
    zone = ZoneInfo(circle.settings.timezone)
    label = channel_label or circle.channel.key

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", circle.name)

    spans: list[tuple[datetime, datetime]] = []
    for seance in sorted(seances, key=lambda s: s.number):
        start_utc = seance.planned_at or seance.opened_at
        if start_utc is None:
            continue
        _require_aware(start_utc, f"séance {seance.number}'s start")
        protocol = protocols.get(seance.protocol)
        start = start_utc.astimezone(zone)
        end = (start_utc + expected_length(protocol)).astimezone(zone)
        spans.append((start, end))

        summary = tr.text(lang, "ical.summary", circle=circle.name, number=seance.number)
        if seance.subject:
            summary += tr.text(lang, "ical.subject", subject=seance.subject)
        cancelled = seance.status is SeanceStatus.CANCELLED

        event = Event()
        event.add("uid", seance_uid(circle, seance))
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", summary)
        event.add("description", _description(seance, protocol, tr, lang, label))
        event.add("location", label)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        event.add("sequence", 0)
        calendar.add_component(event)

    if spans:
        # The VTIMEZONE only needs to cover the events: a year's margin on each side.
        first = date(min(s for s, _ in spans).year - 1, 1, 1)
        last = date(max(e for _, e in spans).year + 2, 1, 1)
        calendar.add_missing_timezones(first_date=first, last_date=last)
        # icalendar explains the zone's range in English: say it in the circle's language
        note = tr.text(
            lang,
            "ical.timezone_range",
            first=tr.day_text(lang, first),
            last=tr.day_text(lang, last),
        )
        for component in calendar.walk("VTIMEZONE"):
            if "COMMENT" in component:
                component.pop("COMMENT")
                component.add("comment", note)
    data: bytes = calendar.to_ical()
    return data


def _description(
    seance: Seance,
    protocol: Protocol | None,
    tr: Translator,
    lang: str,
    channel: str,
) -> str:
    lines: list[str] = []
    if seance.status is SeanceStatus.CANCELLED:
        lines.append(tr.text(lang, "ical.cancelled"))
    if seance.prep_question:
        lines.append(tr.text(lang, "ical.question", question=seance.prep_question))
    if protocol is not None and protocol.phases:
        phases = ", ".join(
            _phase_text(tr, lang, phase.key, phase.title, phase.duration)
            for phase in protocol.phases
        )
        lines.append(tr.text(lang, "ical.agenda", phases=phases))
    lines.append(tr.text(lang, "ical.channel", channel=channel))
    return "\n".join(lines)


def _phase_text(
    tr: Translator, lang: str, key: str, title: str | None, duration: timedelta | None
) -> str:
    name = phase_title(tr, lang, key, title)
    if duration is None:
        return name
    return f"{name} ({tr.span_text(lang, duration)})"


def _require_aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"circle_calendar needs timezone-aware instants ({what} is naive)")
