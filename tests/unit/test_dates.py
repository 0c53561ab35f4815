"""Dates as people type them: parse_when, parse_every, local_series and to_utc."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.timing.dates import (
    WhenError,
    local_series,
    parse_day,
    parse_every,
    parse_when,
    to_utc,
)

PARIS = "Europe/Paris"
MONTREAL = "America/Montreal"
# Thursday 26 November 2026, 11:00 in Paris, 05:00 in Montreal.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    """`2026-12-03 13:00` as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def wall(text: str) -> datetime:
    """`2027-03-28 02:30` as a naive local wall time."""
    return datetime.fromisoformat(text)


def when(text: str, lang: str = "fr", tz: str = PARIS, now: datetime = NOW) -> datetime:
    result = parse_when(text, lang=lang, tz=tz, now=now)
    assert result.tzinfo is UTC
    assert result > now
    return result


def refusal(text: str, lang: str = "fr", tz: str = PARIS, now: datetime = NOW) -> WhenError:
    with pytest.raises(WhenError) as caught:
        parse_when(text, lang=lang, tz=tz, now=now)
    return caught.value


# --- parse_when: the forms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "2026-12-03 14:00", "2026-12-03 13:00"),
        ("fr", "2026-12-03T14:00", "2026-12-03 13:00"),
        ("fr", "2026-12-03 14h", "2026-12-03 13:00"),
        ("fr", "2026-12-03 14h30", "2026-12-03 13:30"),
        ("fr", "le 2026-12-03 à 14h", "2026-12-03 13:00"),
        ("en", "2026-12-03 14:00", "2026-12-03 13:00"),
        ("en", "2026-12-03T14:00", "2026-12-03 13:00"),
        ("en", "2026-12-03 2pm", "2026-12-03 13:00"),
        ("en", "on 2026-12-03 at 2:30pm", "2026-12-03 13:30"),
        ("fr", "2027-07-01 14:00", "2027-07-01 12:00"),  # summer time: UTC+2
    ],
)
def test_iso_dates(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "3/12 14h", "2026-12-03 13:00"),
        ("fr", "03/12/2026 14:00", "2026-12-03 13:00"),
        ("fr", "3/12/26 9h30", "2026-12-03 08:30"),
        ("fr", "3.12 14h", "2026-12-03 13:00"),
        ("fr", "3.12.2026 14h", "2026-12-03 13:00"),
        ("fr", "le 3/12 à 14h", "2026-12-03 13:00"),
        ("fr", "12/3 14h", "2027-03-12 13:00"),  # French: always day first
        ("fr", "13/12 14h", "2026-12-13 13:00"),
        # English: only one reading is a real date, so it is the one.
        ("en", "13/12 2pm", "2026-12-13 13:00"),
        ("en", "12/13 2pm", "2026-12-13 13:00"),
        ("en", "31/12/2026 at 14:00", "2026-12-31 13:00"),
        ("en", "12/31/2026 at 14:00", "2026-12-31 13:00"),
        ("en", "12/31/26 9:30am", "2026-12-31 08:30"),
        # English: both readings are the same day.
        ("en", "12/12 2pm", "2026-12-12 13:00"),
        ("en", "5.5.2027 2pm", "2027-05-05 12:00"),
    ],
)
def test_numeric_dates(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "3 décembre 14h", "2026-12-03 13:00"),
        ("fr", "3 decembre 14h", "2026-12-03 13:00"),
        ("fr", "3 DÉCEMBRE 14H", "2026-12-03 13:00"),
        ("fr", "3 dec 14:00", "2026-12-03 13:00"),
        ("fr", "3 déc. 14h", "2026-12-03 13:00"),
        ("fr", "  3   décembre   à  14h  ", "2026-12-03 13:00"),
        ("fr", "jeudi 3 décembre à 14h", "2026-12-03 13:00"),
        ("fr", "le 3 décembre 2026 à 14h30", "2026-12-03 13:30"),
        ("fr", "1er décembre 9h", "2026-12-01 08:00"),
        ("fr", "15 janvier 10h", "2027-01-15 09:00"),
        ("fr", "15 janv. 10h", "2027-01-15 09:00"),
        ("fr", "2 février 10h", "2027-02-02 09:00"),
        ("fr", "1er août 2027 18h", "2027-08-01 16:00"),
        # The time before the day: in "18h 10 décembre" the 10 is the day, not ten past.
        ("fr", "18h 10 décembre", "2026-12-10 17:00"),
        ("fr", "jeudi 18h 10 décembre", "2026-12-10 17:00"),
        ("fr", "jeudi à 18h 10/12/2026", "2026-12-10 17:00"),
        ("fr", "18h 10/12", "2026-12-10 17:00"),
        ("fr", "18h15 10/12", "2026-12-10 17:15"),
        ("fr", "18 h 15 le 10 décembre", "2026-12-10 17:15"),
        ("fr", "jeudi 3 décembre 18h 30", "2026-12-03 17:30"),
        ("fr", "14 juillet 2027 à 21h", "2027-07-14 19:00"),
        ("en", "December 3 2pm", "2026-12-03 13:00"),
        ("en", "3 December 2026 at 14:00", "2026-12-03 13:00"),
        ("en", "Dec 3, 2:30pm", "2026-12-03 13:30"),
        ("en", "Dec 3, 2026, 2:30 pm", "2026-12-03 13:30"),
        ("en", "on December 3rd at 2pm", "2026-12-03 13:00"),
        ("en", "the 3rd of December at 2pm", "2026-12-03 13:00"),
        ("en", "Thursday December 3 2pm", "2026-12-03 13:00"),
        ("en", "Jan 15 10am", "2027-01-15 09:00"),
        ("en", "Sept 1 2027 6pm", "2027-09-01 16:00"),
        # Month names are understood whatever the circle's language.
        ("en", "3 décembre 14h", "2026-12-03 13:00"),
        ("fr", "December 3 2pm", "2026-12-03 13:00"),
    ],
)
def test_month_names(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "mardi 14h", "2026-12-01 13:00"),
        ("en", "tuesday 2pm", "2026-12-01 13:00"),
        ("en", "Tue 2pm", "2026-12-01 13:00"),
        ("fr", "mercredi 14h", "2026-12-02 13:00"),
        ("fr", "vendredi 14h", "2026-11-27 13:00"),
        ("fr", "vendredi soir 19h", "2026-11-27 18:00"),
        ("en", "friday evening 7pm", "2026-11-27 18:00"),
        ("fr", "le lundi à 9h", "2026-11-30 08:00"),
        # Today is Thursday: later today is today, earlier today is next week.
        ("fr", "jeudi 14h", "2026-11-26 13:00"),
        ("en", "thursday 2pm", "2026-11-26 13:00"),
        ("fr", "jeudi 9h", "2026-12-03 08:00"),
        ("en", "thursday 9am", "2026-12-03 08:00"),
        ("fr", "jeudi 11h", "2026-12-03 10:00"),  # exactly now is not ahead
        # prochain / next: the next such day strictly after today.
        ("fr", "jeudi prochain 14h", "2026-12-03 13:00"),
        ("en", "next thursday 2pm", "2026-12-03 13:00"),
        ("fr", "mardi prochain 14h", "2026-12-01 13:00"),
        ("en", "next tuesday 2pm", "2026-12-01 13:00"),
        ("fr", "vendredi prochain 14h", "2026-11-27 13:00"),
        ("en", "next friday 2pm", "2026-11-27 13:00"),
        ("fr", "prochain mardi 14h", "2026-12-01 13:00"),
        ("fr", "Mardi Prochaine à 14h", "2026-12-01 13:00"),
    ],
)
def test_weekdays(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "demain 9h30", "2026-11-27 08:30"),
        ("fr", "Demain à 9h30", "2026-11-27 08:30"),
        ("en", "tomorrow 9:30am", "2026-11-27 08:30"),
        ("en", "tomorrow at 9:30", "2026-11-27 08:30"),
        ("fr", "demain matin 9h", "2026-11-27 08:00"),
        ("fr", "après-demain 10h", "2026-11-28 09:00"),
        ("fr", "apres demain 10h", "2026-11-28 09:00"),
        ("fr", "APRÈS-DEMAIN 10H", "2026-11-28 09:00"),
        ("en", "the day after tomorrow 10am", "2026-11-28 09:00"),
        ("fr", "aujourd'hui 18h", "2026-11-26 17:00"),
        ("fr", "aujourd’hui 18h", "2026-11-26 17:00"),
        ("fr", "aujourdhui 18h", "2026-11-26 17:00"),
        ("en", "today 6pm", "2026-11-26 17:00"),
        ("fr", "ce soir 18h", "2026-11-26 17:00"),
        ("fr", "ce soir à 20h30", "2026-11-26 19:30"),
        ("en", "tonight 6pm", "2026-11-26 17:00"),
        ("en", "this evening at 6pm", "2026-11-26 17:00"),
        ("fr", "dans 2 jours 14h", "2026-11-28 13:00"),
        ("fr", "dans 1 jour 14h", "2026-11-27 13:00"),
        ("fr", "dans 2 semaines 14h", "2026-12-10 13:00"),
        ("en", "in 3 days 2pm", "2026-11-29 13:00"),
        ("en", "in 1 week at 2pm", "2026-12-03 13:00"),
    ],
)
def test_relative_days(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "14h", "2026-11-26 13:00"),
        ("fr", "à 14h", "2026-11-26 13:00"),
        ("fr", "18:30", "2026-11-26 17:30"),
        ("en", "2pm", "2026-11-26 13:00"),
        ("en", "at 6:30 PM", "2026-11-26 17:30"),
        ("fr", "midi", "2026-11-26 11:00"),
        ("en", "noon", "2026-11-26 11:00"),
    ],
)
def test_a_time_alone_is_today(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demain 14h", "2026-11-27 13:00"),
        ("demain 14h30", "2026-11-27 13:30"),
        ("demain 14:30", "2026-11-27 13:30"),
        ("demain 9h", "2026-11-27 08:00"),
        ("demain 9h05", "2026-11-27 08:05"),
        ("demain 09:05", "2026-11-27 08:05"),
        ("demain 14 heures", "2026-11-27 13:00"),
        ("demain 14 h 30", "2026-11-27 13:30"),
        ("demain 0h", "2026-11-26 23:00"),
        ("demain 23h59", "2026-11-27 22:59"),
        ("tomorrow 2pm", "2026-11-27 13:00"),
        ("tomorrow 2:30pm", "2026-11-27 13:30"),
        ("tomorrow 2 p.m.", "2026-11-27 13:00"),
        ("tomorrow 9am", "2026-11-27 08:00"),
        ("tomorrow 12am", "2026-11-26 23:00"),
        ("tomorrow 12pm", "2026-11-27 11:00"),
        ("tomorrow 12:30am", "2026-11-26 23:30"),
        ("demain midi", "2026-11-27 11:00"),
        ("demain minuit", "2026-11-26 23:00"),  # the start of that day
        ("tomorrow noon", "2026-11-27 11:00"),
        ("tomorrow midnight", "2026-11-26 23:00"),
    ],
)
def test_times_of_day(text: str, expected: str) -> None:
    assert when(text) == utc(expected)
    assert when(text, "en") == utc(expected)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "3/01 14h", "2027-01-03 13:00"),
        ("fr", "3/1 14h", "2027-01-03 13:00"),
        ("fr", "3 janvier 14h", "2027-01-03 13:00"),
        ("en", "Jan 3 2pm", "2027-01-03 13:00"),
        ("en", "13/01 2pm", "2027-01-13 13:00"),
        ("en", "01/13 2pm", "2027-01-13 13:00"),
        # Today still counts while the time is ahead.
        ("fr", "26/11 12h", "2026-11-26 11:00"),
        # Long passed this year: the coming one, months ahead.
        ("fr", "3/06 14h", "2027-06-03 12:00"),
        # 29 February: the next year that has one.
        ("fr", "29/02 10h", "2028-02-29 09:00"),
    ],
)
def test_a_date_without_a_year_is_the_next_one(lang: str, text: str, expected: str) -> None:
    assert when(text, lang) == utc(expected)


# --- parse_when: ambiguity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day_first", "month_first"),
    [
        ("3/12 2pm", "2026-12-03 13:00", "2027-03-12 13:00"),
        ("3.12 2pm", "2026-12-03 13:00", "2027-03-12 13:00"),
        ("03/12/2026 14:00", "2026-12-03 13:00", "2026-03-12 13:00"),
        ("4/7/27 9am", "2027-07-04 07:00", "2027-04-07 07:00"),
    ],
)
def test_english_numeric_dates_that_read_both_ways_are_ambiguous(
    text: str, day_first: str, month_first: str
) -> None:
    error = refusal(text, "en")
    assert error.reason == "ambiguous"
    assert error.detail["candidates"] == (utc(day_first), utc(month_first))


@pytest.mark.parametrize("text", ["3/12 14h", "03/12/2026 14:00", "4/7/27 9h"])
def test_french_numeric_dates_are_never_ambiguous(text: str) -> None:
    assert when(text, "fr").day in (3, 4)


def test_english_month_names_are_never_ambiguous() -> None:
    assert when("3 Dec 2pm", "en") == when("Dec 3 2pm", "en") == utc("2026-12-03 13:00")


# --- parse_when: refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", ""),
        ("fr", "   "),
        ("fr", "n'importe quoi"),
        ("fr", "bonjour 14h"),
        ("fr", "à"),
        ("fr", "14"),
        ("fr", "3 foo 14h"),
        ("fr", "25h"),
        ("fr", "24h"),
        ("fr", "24:00"),
        ("fr", "demain 14h60"),
        ("fr", "demain 9h5"),
        ("en", "tomorrow 13pm"),
        ("en", "tomorrow 0am"),
        ("fr", "demain 14h 15h"),
        ("fr", "demain mardi 14h"),
        ("fr", "mardi mercredi 14h"),
        ("fr", "prochain 14h"),
        ("en", "next 3/12 2pm"),
        ("en", "next tomorrow 2pm"),
        ("fr", "dans 99999 jours 10h"),
        ("fr", "dans deux jours 10h"),
        ("en", "in 2 hours"),
        ("fr", "demain 14h" + " " * 200),
    ],
)
def test_unparseable(lang: str, text: str) -> None:
    error = refusal(text, lang)
    assert error.reason == "unparseable"
    assert error.detail == {"text": text}


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", "3 décembre"),
        ("fr", "3/12"),
        ("en", "3/12"),
        ("fr", "2026-12-03"),
        ("fr", "mardi"),
        ("fr", "mardi prochain"),
        ("en", "next tuesday"),
        ("fr", "demain"),
        ("en", "tomorrow"),
        ("fr", "ce soir"),
        ("fr", "aujourd'hui"),
        ("fr", "dans 2 jours"),
        ("en", "December 3"),
    ],
)
def test_a_date_without_a_time(lang: str, text: str) -> None:
    assert refusal(text, lang).reason == "missing_time"


@pytest.mark.parametrize(
    ("lang", "text", "instant"),
    [
        ("fr", "9h", "2026-11-26 08:00"),
        ("fr", "10h30", "2026-11-26 09:30"),
        ("fr", "11h", "2026-11-26 10:00"),  # exactly now
        ("en", "today 11am", "2026-11-26 10:00"),
        ("fr", "aujourd'hui 9h", "2026-11-26 08:00"),
        ("fr", "ce soir 9h", "2026-11-26 08:00"),
        ("fr", "minuit", "2026-11-25 23:00"),
        ("fr", "2026-11-20 14h", "2026-11-20 13:00"),
        ("fr", "3/12/2025 14h", "2025-12-03 13:00"),
        ("en", "December 3 2025 2pm", "2025-12-03 13:00"),
        ("fr", "2026-03-29 02:30", "2026-03-29 01:30"),  # a past gap is simply past
        ("fr", "hier 14h", "2026-11-25 13:00"),  # said, so refused as past, not unreadable
        ("en", "yesterday 2pm", "2026-11-25 13:00"),
    ],
)
def test_past(lang: str, text: str, instant: str) -> None:
    error = refusal(text, lang)
    assert error.reason == "past"
    assert error.detail == {"when": utc(instant)}


def test_when_error_is_a_value_error() -> None:
    error = WhenError("past")
    assert isinstance(error, ValueError)
    assert (error.reason, error.detail, str(error)) == ("past", {}, "past")


# --- parse_when: zones and clocks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-03-28 02:30", "2027-03-28 01:30"),
        ("28/03/2027 2h30", "2027-03-28 01:30"),
        ("28 mars 2h30", "2027-03-28 01:30"),
        ("28/03 2h59", "2027-03-28 01:59"),
    ],
)
def test_a_wall_time_in_the_spring_gap_does_not_exist(text: str, expected: str) -> None:
    error = refusal(text)
    assert error.reason == "nonexistent"
    assert error.detail["suggestion"] == utc(expected)
    suggestion = error.detail["suggestion"]
    assert isinstance(suggestion, datetime)
    assert suggestion.astimezone(ZoneInfo(PARIS)).hour == 3


def test_the_edges_of_the_spring_gap_exist() -> None:
    assert refusal("2027-03-28 02:00").reason == "nonexistent"  # clocks go 02:00 -> 03:00
    assert when("2027-03-28 01:59") == utc("2027-03-28 00:59")
    assert when("2027-03-28 03:00") == utc("2027-03-28 01:00")


def test_the_autumn_overlap_takes_the_first_occurrence() -> None:
    october = datetime(2026, 10, 1, tzinfo=UTC)
    assert when("2026-10-25 02:30", now=october) == utc("2026-10-25 00:30")
    assert when("25/10 2h30", now=october) == utc("2026-10-25 00:30")
    assert when("2026-10-25 03:30", now=october) == utc("2026-10-25 02:30")


def test_today_is_the_circle_s_today_not_utc_s() -> None:
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already Friday 00:30 in Paris
    assert when("demain 9h", now=late) == utc("2026-11-28 08:00")
    assert when("aujourd'hui 9h", now=late) == utc("2026-11-27 08:00")
    assert when("vendredi 9h", now=late) == utc("2026-11-27 08:00")
    assert when("demain 9h", tz=MONTREAL, now=late) == utc("2026-11-27 14:00")  # still Thursday


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "9h", "2026-11-26 14:00"),  # 05:00 there: 9h is still ahead today
        ("fr", "aujourd'hui 6h", "2026-11-26 11:00"),
        ("fr", "demain 9h", "2026-11-27 14:00"),
        ("en", "tomorrow 9am", "2026-11-27 14:00"),
        ("fr", "3/12 14h", "2026-12-03 19:00"),
        ("en", "Dec 3 2pm", "2026-12-03 19:00"),
        ("fr", "jeudi 4h", "2026-12-03 09:00"),  # 04:00 there is already gone today
        ("fr", "jeudi 6h", "2026-11-26 11:00"),
        ("fr", "2027-07-01 14:00", "2027-07-01 18:00"),  # summer time: UTC-4
    ],
)
def test_montreal(lang: str, text: str, expected: str) -> None:
    assert when(text, lang, tz=MONTREAL) == utc(expected)


def test_montreal_spring_gap() -> None:
    error = refusal("2027-03-14 02:30", tz=MONTREAL)
    assert error.reason == "nonexistent"
    assert error.detail["suggestion"] == utc("2027-03-14 07:30")  # 03:30 EDT


def test_now_may_be_in_any_zone() -> None:
    paris_now = NOW.astimezone(timezone(timedelta(hours=1)))
    assert when("demain 9h30", now=paris_now) == utc("2026-11-27 08:30")


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("demain 9h", lang="fr", tz=PARIS, now=wall("2026-11-26 10:00"))


# --- to_utc --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "tz", "expected"),
    [
        ("2026-12-03 14:00", PARIS, "2026-12-03 13:00"),
        ("2027-07-01 14:00", PARIS, "2027-07-01 12:00"),
        ("2026-10-25 02:30", PARIS, "2026-10-25 00:30"),  # overlap: first occurrence
        ("2026-10-25 03:00", PARIS, "2026-10-25 02:00"),
        ("2027-03-28 03:30", PARIS, "2027-03-28 01:30"),
        ("2026-12-03 14:00", MONTREAL, "2026-12-03 19:00"),
        ("2026-11-01 01:30", MONTREAL, "2026-11-01 05:30"),  # overlap: EDT first
        ("2026-12-03 14:00", "UTC", "2026-12-03 14:00"),
    ],
)
def test_to_utc(local: str, tz: str, expected: str) -> None:
    result = to_utc(wall(local), tz)
    assert result == utc(expected)
    assert result.tzinfo is UTC


def test_to_utc_ignores_a_given_fold() -> None:
    second = wall("2026-10-25 02:30").replace(fold=1)
    assert to_utc(second, PARIS) == utc("2026-10-25 00:30")


@pytest.mark.parametrize(
    ("local", "tz", "suggestion"),
    [
        ("2027-03-28 02:30", PARIS, "2027-03-28 01:30"),
        ("2027-03-28 02:00", PARIS, "2027-03-28 01:00"),
        ("2026-03-29 02:30", PARIS, "2026-03-29 01:30"),
        ("2027-03-14 02:30", MONTREAL, "2027-03-14 07:30"),
    ],
)
def test_to_utc_in_a_gap(local: str, tz: str, suggestion: str) -> None:
    with pytest.raises(WhenError) as caught:
        to_utc(wall(local), tz)
    assert caught.value.reason == "nonexistent"
    assert caught.value.detail == {"suggestion": utc(suggestion), "local": wall(local)}


def test_to_utc_wants_a_naive_wall_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc(utc("2026-12-03 14:00"), PARIS)


# --- local_series --------------------------------------------------------------------------


WEEK = timedelta(days=7)


@pytest.mark.parametrize(
    ("first", "tz", "expected"),
    [
        # 18:00 Paris across the March change: 17:00 UTC, then 16:00 UTC.
        ("2027-03-18 17:00", PARIS, ["2027-03-18 17:00", "2027-03-25 17:00", "2027-04-01 16:00"]),
        # 18:00 Paris across the October change: 16:00 UTC, then 17:00 UTC.
        ("2026-10-15 16:00", PARIS, ["2026-10-15 16:00", "2026-10-22 16:00", "2026-10-29 17:00"]),
        # 18:00 Montreal across its March change (14 March 2027): 23:00 UTC, then 22:00 UTC.
        (
            "2027-03-04 23:00",
            MONTREAL,
            ["2027-03-04 23:00", "2027-03-11 23:00", "2027-03-18 22:00"],
        ),
        # ... and its November change (1 November 2026): 22:00 UTC, then 23:00 UTC.
        (
            "2026-10-22 22:00",
            MONTREAL,
            ["2026-10-22 22:00", "2026-10-29 22:00", "2026-11-05 23:00"],
        ),
    ],
)
def test_weekly_series_keep_the_local_wall_time(first: str, tz: str, expected: list[str]) -> None:
    series = local_series(utc(first), 3, WEEK, tz)
    assert series == [utc(text) for text in expected]
    assert all(instant.tzinfo is UTC for instant in series)
    assert len({instant.astimezone(ZoneInfo(tz)).time() for instant in series}) == 1


def test_series_every_two_weeks_from_parsed_inputs() -> None:
    first = when("2027-03-18 18:00")
    series = local_series(first, 4, parse_every("quinzaine"), PARIS)
    assert series == [
        utc("2027-03-18 17:00"),
        utc("2027-04-01 16:00"),
        utc("2027-04-15 16:00"),
        utc("2027-04-29 16:00"),
    ]


def test_series_first_may_be_in_any_zone() -> None:
    first = utc("2027-03-18 17:00").astimezone(timezone(timedelta(hours=-5)))
    assert local_series(first, 2, WEEK, PARIS) == [
        utc("2027-03-18 17:00"),
        utc("2027-03-25 17:00"),
    ]


@pytest.mark.parametrize("count", [0, 1])
def test_short_series(count: int) -> None:
    assert (
        local_series(utc("2027-03-18 17:00"), count, WEEK, PARIS)
        == [utc("2027-03-18 17:00")][:count]
    )


def test_series_through_a_spring_gap() -> None:
    daily_at_half_past_two = utc("2027-03-26 01:30")  # 02:30 Paris
    with pytest.raises(WhenError) as caught:
        local_series(daily_at_half_past_two, 3, timedelta(days=1), PARIS)
    assert caught.value.reason == "nonexistent"
    assert caught.value.detail == {
        "suggestion": utc("2027-03-28 01:30"),
        "local": wall("2027-03-28 02:30"),
        "index": 2,
    }


def test_series_stopping_before_the_gap_is_fine() -> None:
    daily_at_half_past_two = utc("2027-03-26 01:30")
    assert len(local_series(daily_at_half_past_two, 2, timedelta(days=1), PARIS)) == 2


def test_series_in_the_autumn_overlap_take_the_first_occurrence() -> None:
    daily_at_half_past_two = utc("2026-10-24 00:30")  # 02:30 CEST
    assert local_series(daily_at_half_past_two, 3, timedelta(days=1), PARIS) == [
        utc("2026-10-24 00:30"),
        utc("2026-10-25 00:30"),
        utc("2026-10-26 01:30"),
    ]


@pytest.mark.parametrize(
    ("first", "count", "every"),
    [
        (wall("2027-03-18 18:00"), 3, WEEK),
        (utc("2027-03-18 17:00"), -1, WEEK),
        (utc("2027-03-18 17:00"), 3, timedelta(0)),
        (utc("2027-03-18 17:00"), 3, -WEEK),
    ],
)
def test_series_bad_arguments(first: datetime, count: int, every: timedelta) -> None:
    with pytest.raises(ValueError, match=r"must|needs"):
        local_series(first, count, every, PARIS)


# --- parse_every ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("14j", 14),
        ("14 j", 14),
        ("14 jours", 14),
        ("1 jour", 1),
        ("1j", 1),
        ("2sem", 14),
        ("2 sem", 14),
        ("2 semaines", 14),
        ("1 semaine", 7),
        ("7d", 7),
        ("7 days", 7),
        ("1 day", 1),
        ("2w", 14),
        ("2 weeks", 14),
        ("1 week", 7),
        ("hebdo", 7),
        ("Hebdo", 7),
        ("hebdomadaire", 7),
        ("weekly", 7),
        ("WEEKLY", 7),
        ("quinzaine", 14),
        ("fortnightly", 14),
        ("  2   Semaines ", 14),
        ("tous les 14 jours", 14),
        ("toutes les 2 semaines", 14),
        ("toutes les deux semaines", 14),
        ("chaque semaine", 7),
        ("every 2 weeks", 14),
        ("every week", 7),
        ("every other week", 14),
        ("15 jours", 15),
        ("366j", 366),
        ("52 semaines", 364),
    ],
)
def test_parse_every(text: str, days: int) -> None:
    assert parse_every(text) == timedelta(days=days)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "14",
        "j",
        "semaine",
        "0j",
        "0 semaine",
        "367j",
        "53 semaines",
        "1.5 semaines",
        "-7j",
        "2 mois",
        "14 heures",
        "14h",
        "deux semaines",
        "biweekly",
        "hebdo hebdo",
        "14j" + " " * 200,
    ],
)
def test_parse_every_refuses(text: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_every(text)
    assert caught.value.reason == "unparseable"
    assert caught.value.detail == {"text": text}


# --- parse_when and parse_day: days that mean nothing usable -------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "day", "suggestion"),
    [
        ("fr", "26/11 10h", "2026-11-26", "2027-11-26"),
        ("fr", "26 novembre 11h", "2026-11-26", "2027-11-26"),
        ("fr", "25/11 14h", "2026-11-25", "2027-11-25"),
        ("en", "November 1 2pm", "2026-11-01", "2027-11-01"),
    ],
)
def test_a_day_just_passed_is_refused_with_next_year_offered(
    lang: str, text: str, day: str, suggestion: str
) -> None:
    error = refusal(text, lang)
    assert error.reason == "past_day"
    assert error.detail["day"] == date.fromisoformat(day)
    assert error.detail["suggestion"] == date.fromisoformat(suggestion)
    assert isinstance(error.detail["suggestion_at"], datetime)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", "31/02 14h"),
        ("fr", "31/02"),
        ("fr", "30/02/2027 10h"),
        ("fr", "31/04 10h"),
        ("fr", "32/01 10h"),
        ("fr", "0/01 10h"),
        ("fr", "2026-13-01 10h"),
        ("fr", "2026-02-30 10:00"),
        ("fr", "35 décembre 14h"),
        ("en", "13/13 2pm"),
        ("en", "31/02 2pm"),
        ("en", "February 30 2pm"),
    ],
)
def test_impossible_dates_are_named(lang: str, text: str) -> None:
    assert refusal(text, lang).reason == "no_such_date"


@pytest.mark.parametrize(
    ("lang", "text", "year"),
    [("fr", "9999-12-30 14h", 9999), ("en", "12/30/9999 2pm", 9999), ("fr", "1/1/1500 10h", 1500)],
)
def test_absurd_years_are_refused(lang: str, text: str, year: int) -> None:
    error = refusal(text, lang)
    assert error.reason == "year_out_of_range"
    assert error.detail["year"] == year


@pytest.mark.parametrize(
    ("lang", "text", "typed", "weekday_day"),
    [
        ("fr", "vendredi 10/12 14h", "2026-12-10", "2026-12-11"),
        ("fr", "lundi 10 décembre à 14h", "2026-12-10", "2026-12-07"),
        ("en", "friday December 10 2pm", "2026-12-10", "2026-12-11"),
    ],
)
def test_a_weekday_that_contradicts_the_date_gives_both_readings(
    lang: str, text: str, typed: str, weekday_day: str
) -> None:
    error = refusal(text, lang)
    assert error.reason == "weekday_mismatch"
    assert error.detail["day"] == date.fromisoformat(typed)
    assert error.detail["weekday_day"] == date.fromisoformat(weekday_day)
    assert error.detail["day_at"] == utc(f"{typed} 13:00")


TODAY = date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("fr", "demain", "2026-12-04"),
        ("fr", "vendredi", "2026-12-04"),
        ("fr", "jeudi", "2026-12-03"),
        ("fr", "le 15 décembre", "2026-12-15"),
        ("fr", "15/12", "2026-12-15"),
        ("fr", "15/01", "2027-01-15"),
        ("fr", "dans 2 semaines", "2026-12-17"),
        ("en", "tomorrow", "2026-12-04"),
        ("en", "friday.", "2026-12-04"),
        ("en", "December 15th", "2026-12-15"),
        ("en", "2026-12-15", "2026-12-15"),
        # the end of a month: its last day, the first one still to come
        ("fr", "fin du mois", "2026-12-31"),
        ("fr", "à la fin du mois", "2026-12-31"),
        ("fr", "fin décembre", "2026-12-31"),
        ("fr", "fin janvier", "2027-01-31"),
        ("fr", "fin de février", "2027-02-28"),
        ("fr", "fin d'avril", "2027-04-30"),
        ("fr", "fin novembre", "2027-11-30"),
        ("fr", "fin févr. 2028", "2028-02-29"),
        ("en", "end of the month", "2026-12-31"),
        ("en", "end of March 2027", "2027-03-31"),
    ],
)
def test_due_days_in_words(lang: str, text: str, expected: str) -> None:
    assert parse_day(text, lang=lang, today=TODAY) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("lang", "text", "reason"),
    [
        ("fr", "01/12", "past_day"),
        ("fr", "31/02", "no_such_date"),
        ("fr", "vendredi 10/12", "weekday_mismatch"),
        ("fr", "9999-12-30", "year_out_of_range"),
        ("fr", "2026-12-01", "past"),
        ("fr", "demain 14h", "unparseable"),
        ("fr", "le comité", "unparseable"),
        ("fr", "fin novembre 2026", "past"),
        ("fr", "fin de semaine", "unparseable"),  # Friday or Sunday: not guessed
        ("fr", "fin du mois 2027", "unparseable"),
        ("en", "3/12", "ambiguous"),
        ("en", "friday 10/12/2026", "weekday_mismatch"),
        ("en", "the board", "unparseable"),
    ],
)
def test_due_days_that_cannot_be_used(lang: str, text: str, reason: str) -> None:
    with pytest.raises(WhenError) as caught:
        parse_day(text, lang=lang, today=TODAY)
    assert caught.value.reason == reason
