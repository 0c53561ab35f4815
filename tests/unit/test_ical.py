"""The circle's calendar file: events people can import, in the circle's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from bot.domain.circle import Circle, CircleSettings
from bot.domain.protocol import ProtocolBook
from bot.domain.refs import ChannelRef
from bot.domain.seance import Seance, SeanceStatus
from bot.exports.ical import circle_calendar
from bot.i18n.catalog import CatalogTranslator
from tests.conversation import Chat

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
TR = CatalogTranslator()
BOOK = ProtocolBook()


def make_circle(language: str = "fr", timezone: str = "Europe/Paris") -> Circle:
    return Circle(
        id=7,
        name="Cercle ESS",
        channel=ChannelRef("discord", "123456"),
        created_at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        settings=CircleSettings(language=language, timezone=timezone),
    )


def make_seances() -> list[Seance]:
    return [
        # 18:00 in Paris, summer time (UTC+2)
        Seance(
            id=11,
            circle_id=7,
            number=1,
            protocol="meteo",
            status=SeanceStatus.CLOSED,
            planned_at=datetime(2026, 6, 16, 16, 0, tzinfo=UTC),
            opened_at=datetime(2026, 6, 16, 16, 2, tzinfo=UTC),
            closed_at=datetime(2026, 6, 16, 17, 20, tzinfo=UTC),
        ),
        # 18:00 in Paris, after the change back to winter time on 25 October 2026 (UTC+1)
        Seance(
            id=12,
            circle_id=7,
            number=2,
            protocol="meteo",
            planned_at=datetime(2026, 11, 3, 17, 0, tzinfo=UTC),
            subject="Déléguer",
            prep_question="Qu'est-ce que vous n'arrivez pas à lâcher, et pourquoi ?",
        ),
        Seance(
            id=13,
            circle_id=7,
            number=3,
            protocol="codev",
            status=SeanceStatus.CANCELLED,
            planned_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
            subject="Le budget",
        ),
        # never planned nor opened: nothing to put in a calendar
        Seance(id=14, circle_id=7, number=4, protocol="meteo"),
    ]


def build(circle: Circle, seances: list[Seance], **kwargs: Any) -> bytes:
    kwargs.setdefault("now", NOW)
    return circle_calendar(circle, seances, BOOK, TR, **kwargs)


def events_by_number(data: bytes) -> dict[int, Event]:
    events = Calendar.from_ical(data).events
    return {int(str(e["UID"]).split("@")[0].rsplit("-", 1)[1]): e for e in events}


def local(event: Event, name: str) -> datetime:
    value = event.decoded(name)
    assert isinstance(value, datetime)
    return value


def test_calendar_properties_and_one_event_per_dated_seance() -> None:
    data = build(make_circle(), make_seances(), channel_label="#cercle-ess")
    calendar = Calendar.from_ical(data)
    assert str(calendar["PRODID"]) == "-//Cercle//Cercle//FR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Cercle ESS"
    events = calendar.events
    assert sorted(str(e["UID"]) for e in events) == [
        "seance-7-1@cercle",
        "seance-7-2@cercle",
        "seance-7-3@cercle",
    ]
    for event in events:
        assert event.decoded("DTSTAMP") == NOW
        assert str(event["LOCATION"]) == "#cercle-ess"
        assert int(event.decoded("SEQUENCE")) == 0


def test_local_times_in_paris_across_the_october_change() -> None:
    events = events_by_number(build(make_circle(), make_seances()))
    summer, winter = events[1], events[2]
    for event in (summer, winter):
        assert event["DTSTART"].params["TZID"] == "Europe/Paris"
        assert event["DTEND"].params["TZID"] == "Europe/Paris"
    # the text itself says 18:00 local, in both seasons
    assert summer["DTSTART"].to_ical() == b"20260616T180000"
    assert winter["DTSTART"].to_ical() == b"20261103T180000"
    start_summer, start_winter = local(summer, "DTSTART"), local(winter, "DTSTART")
    assert (start_summer.hour, start_summer.minute) == (18, 0)
    assert (start_winter.hour, start_winter.minute) == (18, 0)
    assert start_summer.utcoffset() == timedelta(hours=2)
    assert start_winter.utcoffset() == timedelta(hours=1)
    assert start_summer == datetime(2026, 6, 16, 16, 0, tzinfo=UTC)
    assert start_winter == datetime(2026, 11, 3, 17, 0, tzinfo=UTC)
    # "météo" protocol: 15 + 60 minutes
    assert local(summer, "DTEND") - start_summer == timedelta(minutes=75)
    assert winter["DTEND"].to_ical() == b"20261103T191500"


def test_a_vtimezone_defines_the_zone_with_both_offsets() -> None:
    calendar = Calendar.from_ical(build(make_circle(), make_seances()))
    (zone,) = calendar.timezones
    assert str(zone["TZID"]) == "Europe/Paris"
    assert calendar.get_missing_tzids() == set()
    # the VTIMEZONE alone (not the system's zone database) gives the right offsets
    tz = zone.to_tz(lookup_tzid=False)
    summer = datetime(2026, 6, 16, 18, 0, tzinfo=tz)
    winter = datetime(2026, 11, 3, 18, 0, tzinfo=tz)
    assert summer.utcoffset() == timedelta(hours=2)
    assert winter.utcoffset() == timedelta(hours=1)


def test_status_confirmed_or_cancelled() -> None:
    events = events_by_number(build(make_circle(), make_seances()))
    assert str(events[1]["STATUS"]) == "CONFIRMED"
    assert str(events[2]["STATUS"]) == "CONFIRMED"
    assert str(events[3]["STATUS"]) == "CANCELLED"
    # codev: 90 minutes of time boxes
    assert local(events[3], "DTEND") - local(events[3], "DTSTART") == timedelta(minutes=90)


def test_french_summary_and_description() -> None:
    events = events_by_number(build(make_circle(), make_seances(), channel_label="#cercle-ess"))
    assert str(events[2]["SUMMARY"]) == "Cercle ESS — séance 2 : Déléguer"
    assert str(events[1]["SUMMARY"]) == "Cercle ESS — séance 1"
    description = str(events[2]["DESCRIPTION"])
    assert (
        "Question de préparation : Qu'est-ce que vous n'arrivez pas à lâcher, et pourquoi ?"
        in description
    )
    assert "Déroulé : Météo (15 minutes), Parole libre (1 heure)" in description
    assert "Salon : #cercle-ess" in description
    assert "Question" not in str(events[1]["DESCRIPTION"])
    assert str(events[3]["DESCRIPTION"]).startswith("Séance annulée.")


def test_english_summary_and_description() -> None:
    seances = make_seances()
    seances[1].subject = "Delegating"
    seances[1].prep_question = "What can't you let go of, and why?"
    events = events_by_number(build(make_circle(language="en"), seances))
    assert str(events[2]["SUMMARY"]) == "Cercle ESS — session 2: Delegating"
    description = str(events[2]["DESCRIPTION"])
    assert "Preparation question: What can't you let go of, and why?" in description
    assert "Agenda: Check-in (15 minutes), Open floor (1 hour)" in description
    # without a label, the channel's key
    assert "Channel: discord:123456" in description
    assert str(events[2]["LOCATION"]) == "discord:123456"


def test_uids_are_stable_so_a_reimport_updates_the_events() -> None:
    circle = make_circle()
    first = events_by_number(build(circle, make_seances()))
    moved = make_seances()
    moved[1].planned_at = datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
    moved[1].status = SeanceStatus.CANCELLED
    later = NOW + timedelta(days=3)
    second = events_by_number(build(circle, moved, now=later))
    assert {n: str(e["UID"]) for n, e in first.items()} == {
        n: str(e["UID"]) for n, e in second.items()
    }
    assert second[2]["DTSTART"].to_ical() == b"20261110T180000"
    assert str(second[2]["STATUS"]) == "CANCELLED"
    assert second[2].decoded("DTSTAMP") == later


def test_an_opened_seance_without_a_plan_starts_when_it_opened() -> None:
    seance = Seance(
        id=20,
        circle_id=7,
        number=5,
        protocol="libre",
        status=SeanceStatus.OPEN,
        opened_at=datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
    )
    (event,) = Calendar.from_ical(build(make_circle(), [seance])).events
    assert event["DTSTART"].to_ical() == b"20260302T140000"
    # "libre" has no time boxes: the default two hours
    assert event["DTEND"].to_ical() == b"20260302T160000"
    assert "Déroulé : Parole libre" in str(event["DESCRIPTION"])


def test_the_text_is_valid_and_round_trips() -> None:
    data = build(make_circle(), make_seances(), channel_label="#cercle-ess")
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)  # folded as RFC 5545 asks
    assert b"\n" not in data.replace(b"\r\n", b"")
    text = data.decode("utf-8")
    assert "BEGIN:VTIMEZONE" in text
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    again = Calendar.from_ical(data).to_ical()
    assert Calendar.from_ical(again) == Calendar.from_ical(data)
    assert again == data


def test_an_empty_cycle_is_still_a_calendar() -> None:
    calendar = Calendar.from_ical(build(make_circle(), [Seance(1, 7, 1, "meteo")]))
    assert calendar.events == []
    assert calendar.timezones == []
    assert str(calendar["X-WR-CALNAME"]) == "Cercle ESS"


def test_a_utc_circle_writes_utc_times_without_a_vtimezone() -> None:
    data = build(make_circle(timezone="UTC"), make_seances())
    events = events_by_number(data)
    assert events[2]["DTSTART"].to_ical() == b"20261103T170000Z"
    assert Calendar.from_ical(data).timezones == []


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build(make_circle(), make_seances(), now=datetime(2026, 5, 4, 9, 30))  # noqa: DTZ001


async def test_every_member_gets_the_calendar_in_the_circle_language(chat: Chat) -> None:
    from bot.effects import FilePost

    await chat.script(
        "anim: /cercle creer Atelier", "ali: /aide", "anim: /seance planifier 10/12 14h"
    )
    await chat.say("ali", "/export ics")
    assert chat.refused is None
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    text = file.content.decode("utf-8")
    assert "COMMENT:Ce fuseau horaire est décrit du" in text
    assert "This timezone" not in text
    await chat.say("ali", "/export json")
    assert chat.refused == "export.facilitators_only"
