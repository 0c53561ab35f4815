"""Dates and times as people type them, in French or English, turned into UTC instants.

Everything here is pure: the current instant is passed in, and a wall time is always read in the
circle's IANA time zone, then converted to timezone-aware UTC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WhenReason = Literal[
    "unparseable",
    "missing_time",
    "ambiguous",
    "past",
    "nonexistent",
    "past_day",
    "weekday_mismatch",
    "no_such_date",
    "year_out_of_range",
]


class WhenError(ValueError):
    """Why a date could not be used. `reason` is one of: "unparseable", "missing_time",
    "ambiguous", "past", "nonexistent". `detail` holds values for the message:

    - unparseable, missing_time: {"text": the text as typed} (parse_when, parse_every);
    - ambiguous: {"candidates": (day-first reading, month-first reading)}, both UTC;
    - past: {"when": the UTC instant that is not after `now`};
    - nonexistent: {"suggestion": the same wall time shifted by the gap, as UTC,
      "local": the naive wall time that does not exist}, plus {"index": n} from local_series;
    - past_day: a day typed without a year that has just passed, {"day": that date this year,
      "suggestion": the same day next year (a date)}: never moved a year on silently;
    - weekday_mismatch: {"day": the date as typed, "weekday_day": the nearest date on the
      weekday typed}, both dates; parse_when adds each as an instant at the time typed
      (`day_at`, `weekday_day_at`, and `suggestion_at` for past_day);
    - no_such_date: {"text": the text as typed} (31/02);
    - year_out_of_range: {"year": the year typed} (too far back or ahead to mean anything).
    """

    reason: WhenReason
    detail: dict[str, object]

    def __init__(self, reason: WhenReason, detail: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = dict(detail or {})


# --- words ---------------------------------------------------------------------------------

_MONTHS: dict[str, int] = {
    # French
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
    # English
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}

_WEEKDAYS: dict[str, int] = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}

_FILLERS = frozenset({"a", "at", "le", "on", "the"})
_NEXT = frozenset({"prochain", "prochaine", "next"})
_THIS = frozenset({"ce", "cet", "cette", "this"})
# Parts of the day: they say which day ("ce soir", "demain matin") but never change the hour.
_PART_OF_DAY = frozenset({"matin", "soir", "apresmidi", "morning", "afternoon", "evening", "night"})
_RELATIVE_DAYS: dict[str, int] = {
    "aujourdhui": 0,
    "today": 0,
    "tonight": 0,
    "demain": 1,
    "tomorrow": 1,
    "apresdemain": 2,
    # understood so that they are refused as past, with the date, not as unreadable
    "hier": -1,
    "yesterday": -1,
}

# "18h 10" is ten past six, but in "18h 10/12" or "18h 10 décembre" the 10 is the day.
_NOT_A_DAY = (
    r"(?!\s?[/.-]\d|(?:er|re|st|nd|rd|th)?\s+(?:"
    + "|".join(sorted(_MONTHS, key=len, reverse=True))
    + r")\b)"
)
_TIME = re.compile(
    r"(?<![\w/.:-])(?:"
    r"(?P<h_hour>\d{1,2})\s?(?:h|heures?)(?:\s?(?P<h_min>\d{2})" + _NOT_A_DAY + r")?"
    r"|(?P<c_hour>\d{1,2}):(?P<c_min>\d{2})\s?(?P<c_ampm>[ap]\.?m\.?)?"
    r"|(?P<a_hour>\d{1,2})\s?(?P<a_ampm>[ap]\.?m\.?)"
    r"|(?P<word>midi|minuit|noon|midnight)"
    r")(?![\w])"
)
_IN_DAYS = re.compile(
    r"\b(?:dans|in) (?P<n>\d{1,5}) ?(?P<unit>jours?|j|days?|semaines?|sem|weeks?)(?![\w])"
)
_ISO_DATE = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})")
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?"
)
_DAY_MONTH = re.compile(
    r"(?P<d>\d{1,2})(?:er|re|st|nd|rd|th)? (?:of )?(?P<month>[a-z]+)(?: (?P<y>\d{4}))?"
)
_MONTH_DAY = re.compile(r"(?P<month>[a-z]+) (?P<d>\d{1,2})(?:st|nd|rd|th)?(?: (?P<y>\d{4}))?")
_EVERY = re.compile(
    r"(?:(?P<each>every|chaque|tous les|toutes les) ?)?(?P<n>\d{1,4})? ?"
    r"(?P<unit>j|jrs?|jours?|d|days?|sem|semaines?|w|wks?|weeks?)"
)
_EVERY_WORDS: dict[str, int] = {
    "hebdo": 7,
    "hebdomadaire": 7,
    "weekly": 7,
    "quinzaine": 14,
    "fortnightly": 14,
    "toutes les deux semaines": 14,
    "every other week": 14,
}
_MAX_EVERY_DAYS = 366
_MAX_OFFSET_DAYS = 3660
_YEARS_AHEAD = 8  # enough to reach the next 29 February
MAX_YEARS_AHEAD = 10  # a year typed further ahead than this is a typo (9999)
_JUST_PASSED = timedelta(days=92)  # a day without a year passed this recently: ask, do not roll
_MAX_TEXT = 200  # longer is not a date, and is not worth scanning


def _normalise(text: str) -> str:
    """Lower case, no accents, one space between words, multi-word day names as one token."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = plain.translate({ord("’"): "'", ord("‘"): "'", ord("ʼ"): "'", ord(","): " "})
    plain = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", plain)
    plain = re.sub(r"\baujourd\s?'?\s?hui\b", "aujourdhui", plain)
    plain = re.sub(r"\bapres[-\s]?demain\b", "apresdemain", plain)
    plain = re.sub(r"\b(?:the )?day after tomorrow\b", "apresdemain", plain)
    plain = re.sub(r"\bapres[-\s]?midi\b", "apresmidi", plain)
    return " ".join(plain.split())


# --- conversion ----------------------------------------------------------------------------


def _convert(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """The UTC instant of a naive wall time read with fold=0, and whether that wall time exists.

    In a spring-forward gap, fold=0 reads the wall time with the offset in force before the
    gap, which lands the same wall time shifted by the gap's length (02:30 -> 03:30 in Paris).
    """
    wall = wall.replace(fold=0)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    exists = instant.astimezone(zone).replace(tzinfo=None) == wall
    return instant, exists


def to_utc(local_naive: datetime, tz: str) -> datetime:
    """A local wall time to UTC; WhenError("nonexistent") in a DST gap (e.g. 02:30 on the last
    Sunday of March in Europe/Paris), with detail["suggestion"] = the same wall time one hour
    later (03:30) as UTC; in the autumn overlap take the first occurrence (fold=0)."""
    if local_naive.tzinfo is not None:
        raise ValueError("to_utc takes a naive local wall time")
    instant, exists = _convert(local_naive, ZoneInfo(tz))
    if not exists:
        raise WhenError(
            "nonexistent", {"suggestion": instant, "local": local_naive.replace(fold=0)}
        )
    return instant


def local_series(first: datetime, count: int, every: timedelta, tz: str) -> list[datetime]:
    """`count` instants (UTC) starting at `first`, each `every` later at the SAME LOCAL WALL TIME
    in `tz` (a weekly 18:00 Europe/Paris stays 18:00 local across the March and October clock
    changes). Raises WhenError("nonexistent", detail={"suggestion": ..., "local": ...,
    "index": n}) if one falls in a spring-forward gap.

    The first instant is kept exactly as given; the others take the first occurrence of their
    wall time in an autumn overlap."""
    if first.tzinfo is None:
        raise ValueError("local_series needs a timezone-aware first instant")
    if count < 0:
        raise ValueError("count must not be negative")
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    zone = ZoneInfo(tz)
    wall = first.astimezone(zone).replace(tzinfo=None)
    series: list[datetime] = []
    for index in range(count):
        if index == 0:
            series.append(first.astimezone(UTC))
            continue
        local = wall + every * index
        instant, exists = _convert(local, zone)
        if not exists:
            raise WhenError("nonexistent", {"suggestion": instant, "local": local, "index": index})
        series.append(instant)
    return series


# --- intervals -----------------------------------------------------------------------------


def parse_every(text: str) -> timedelta:
    """An interval for a cycle: '14j', '14 jours', '2sem', '2 semaines', '1 semaine', '7d', '2w',
    '2 weeks', '1 week', 'hebdo'/'weekly' (7 days), 'quinzaine'/'fortnightly' (14 days). Whole
    days only, 1..366; raises WhenError("unparseable") otherwise.

    Also: 'every 2 weeks', 'tous les 14 jours', 'chaque semaine', 'toutes les semaines',
    'hebdomadaire', 'toutes les deux semaines', 'every other week'. Digits are taken literally:
    '15 jours' is 15 days."""
    if len(text) > _MAX_TEXT:
        raise WhenError("unparseable", {"text": text})
    plain = _normalise(text).strip(" .")
    days: int | None = _EVERY_WORDS.get(plain)
    match = _EVERY.fullmatch(plain) if days is None else None
    if match is not None and (match.group("n") is not None or match.group("each") is not None):
        count = int(match.group("n") or "1")
        days = count * 7 if match.group("unit")[0] in "sw" else count
    if days is None or not 1 <= days <= _MAX_EVERY_DAYS:
        raise WhenError("unparseable", {"text": text})
    return timedelta(days=days)


# --- what day ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Offset:
    """A day counted from today: today, demain, dans 3 jours; `said` is False for a time alone."""

    days: int
    said: bool = True


@dataclass(frozen=True, slots=True)
class _Weekday:
    weekday: int
    next: bool


@dataclass(frozen=True, slots=True)
class _Calendar:
    """A day of a month; `numeric` when typed as digits (3/12), which English may swap."""

    day: int
    month: int
    year: int | None
    numeric: bool
    weekday: int | None = None  # a weekday typed beside the date, to check it


_Day = _Offset | _Weekday | _Calendar


def _calendar(core: str) -> _Calendar | None:
    if match := _ISO_DATE.fullmatch(core):
        return _Calendar(int(match["d"]), int(match["m"]), int(match["y"]), numeric=False)
    if match := _NUMERIC_DATE.fullmatch(core):
        year = match["y"]
        full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
        return _Calendar(int(match["a"]), int(match["b"]), full_year, numeric=True)
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        match = pattern.fullmatch(core)
        if match and match["month"] in _MONTHS:
            year = match["y"]
            return _Calendar(
                int(match["d"]),
                _MONTHS[match["month"]],
                None if year is None else int(year),
                numeric=False,
            )
    return None


def _which_day(words: str) -> _Day | None:
    """What the words other than the time say about the day; None if they make no sense."""
    offset: int | None = None
    found = _IN_DAYS.search(words)
    if found is not None:
        unit = 7 if found["unit"][0] in "sw" else 1
        offset = int(found["n"]) * unit
        words = words[: found.start()] + " " + words[found.end() :]
    weekday: int | None = None
    is_next = False
    part_of_day = False
    core: list[str] = []
    for raw in words.split():
        token = raw.strip(".;:!?")
        if not token or token in _FILLERS or token in _THIS:
            continue
        if token in _WEEKDAYS:
            if weekday is not None:
                return None
            weekday = _WEEKDAYS[token]
        elif token in _NEXT:
            if is_next:
                return None
            is_next = True
        elif token in _PART_OF_DAY:
            part_of_day = True
        elif token in _RELATIVE_DAYS:
            if offset is not None:
                return None
            offset = _RELATIVE_DAYS[token]
        else:
            core.append(token)
    if core:
        # A weekday beside a full date ("mardi 3 décembre") must agree with it (checked later).
        if offset is not None or is_next:
            return None
        found_day = _calendar(" ".join(core))
        if found_day is not None and weekday is not None:
            found_day = replace(found_day, weekday=weekday)
        return found_day
    if weekday is not None:
        return None if offset is not None else _Weekday(weekday, is_next)
    if is_next:
        return None
    if offset is not None:
        return _Offset(offset) if offset <= _MAX_OFFSET_DAYS else None
    return _Offset(0, said=part_of_day)  # "ce soir", or only filler words (a time alone)


# --- what time -----------------------------------------------------------------------------


def _ampm(hour: int, marker: str) -> int | None:
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if marker.startswith("p") else 0)


def _take_time(plain: str) -> tuple[time | None, str, bool]:
    """The time of day in the text, the text without it, and False if a time was bad."""
    matches = list(_TIME.finditer(plain))
    if not matches:
        return None, plain, True
    if len(matches) > 1:
        return None, plain, False
    match = matches[0]
    rest = plain[: match.start()] + " " + plain[match.end() :]
    hour: int | None
    minute = 0
    if match["word"]:
        hour = 12 if match["word"] in ("midi", "noon") else 0
    elif match["h_hour"]:
        hour, minute = int(match["h_hour"]), int(match["h_min"] or "0")
    elif match["c_hour"]:
        hour, minute = int(match["c_hour"]), int(match["c_min"])
        if match["c_ampm"]:
            hour = _ampm(hour, match["c_ampm"])
    else:
        hour = _ampm(int(match["a_hour"]), match["a_ampm"])
    if hour is None or hour > 23 or minute > 59:
        return None, rest, False
    return time(hour, minute), rest, True


# --- the whole thing -----------------------------------------------------------------------


def _next_date(day: int, month: int, today: date, ok: Callable[[date], bool]) -> date | None:
    """The first valid `day`/`month` from this year on for which `ok` holds."""
    for year in range(today.year, today.year + _YEARS_AHEAD + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if ok(candidate):
            return candidate
    return None


def _one_day(
    day: int,
    month: int,
    year: int | None,
    today: date,
    ahead: Callable[[date], bool],
    text: str,
) -> date:
    """The date `day`/`month` (of `year`) means, or why it means nothing usable."""
    if year is not None:
        if not 1900 <= year <= today.year + MAX_YEARS_AHEAD:
            raise WhenError("year_out_of_range", {"year": year})
        try:
            return date(year, month, day)
        except ValueError:
            raise WhenError("no_such_date", {"text": text}) from None
    if _next_date(day, month, today, lambda _: True) is None:
        raise WhenError("no_such_date", {"text": text})
    try:
        this_year = date(today.year, month, day)
    except ValueError:  # 29 February: the next year that has one
        found = _next_date(day, month, today, ahead)
        assert found is not None
        return found
    if ahead(this_year):
        return this_year
    if today - this_year <= _JUST_PASSED:
        following = _next_date(day, month, date(today.year + 1, 1, 1), lambda _: True)
        raise WhenError("past_day", {"day": this_year, "suggestion": following})
    found = _next_date(day, month, today, ahead)
    assert found is not None
    return found


def calendar_days(
    which: _Calendar,
    lang: str,
    today: date,
    ahead: Callable[[date], bool] | None,
    text: str,
) -> list[date]:
    """The dates a calendar day can mean (two for an English numeric date read both ways);
    raises WhenError when none is usable. `ahead` says whether a date is still to come (by
    default: today or later)."""
    still_to_come = ahead or (lambda d: d >= today)
    readings = [(which.day, which.month)]
    if which.numeric and lang.lower().startswith("en") and which.day != which.month:
        readings.append((which.month, which.day))
    days: list[date] = []
    errors: list[WhenError] = []
    for day_number, month in readings:
        try:
            days.append(_one_day(day_number, month, which.year, today, still_to_come, text))
        except WhenError as error:
            errors.append(error)
    if not days:
        raise errors[0]
    if which.weekday is not None:
        agreeing = [d for d in days if d.weekday() == which.weekday]
        if not agreeing:
            typed = days[0]
            gap = (which.weekday - typed.weekday()) % 7
            nearest = typed + timedelta(days=gap if gap <= 3 else gap - 7)
            if not still_to_come(nearest):
                nearest += timedelta(days=7)
            raise WhenError("weekday_mismatch", {"day": typed, "weekday_day": nearest})
        days = agreeing
    return days


def calendar_day_of(text: str) -> tuple[int, int, int | None] | None:
    """Day, month and year (if typed) of a date typed alone (`10/12`, `2026-12-10`), else None:
    to find a séance by its date, past or to come."""
    if len(text) > _MAX_TEXT:
        return None
    found = _calendar(_normalise(text).strip(" .;:!?"))
    return (found.day, found.month, found.year) if found else None


_MONTH_END = re.compile(
    r"^(?:a la |at the |by the )?(?:fin|end)(?: (?:du|de la|de|of the|of)\b| d')? ?"
    r"(?P<month>mois|month|[a-z]+)\.?(?: (?P<y>\d{4}))?$"
)


def _month_end(plain: str, today: date) -> date | None:
    """`fin du mois` (this month's last day), `fin janvier`, `end of March 2027`: the last day
    of that month, the first one still to come; None for anything else."""
    found = _MONTH_END.match(plain)
    if found is None:
        return None
    word, year = found["month"], found["y"]
    if word in ("mois", "month"):
        if year is not None:
            return None
        month, first_year = today.month, today.year
    elif word in _MONTHS:
        month = _MONTHS[word]
        first_year = int(year) if year is not None else today.year
    else:
        return None
    for candidate_year in range(first_year, first_year + 2):
        following = date(candidate_year + month // 12, month % 12 + 1, 1)
        last = following - timedelta(days=1)
        if last >= today:
            return last
        if year is not None:
            raise WhenError("past", {"when": last})
    return None


def parse_day(text: str, *, lang: str, today: date) -> date:
    """A day as people type it for a due date (`demain`, `15/12`, `vendredi`, `le 15 décembre`,
    `dans 3 jours`), today or later; WhenError like `parse_when` otherwise (a time of day is not
    expected: `unparseable`)."""
    unparseable = WhenError("unparseable", {"text": text})
    if len(text) > _MAX_TEXT:
        raise unparseable
    plain = _normalise(text).strip(" .;:!?")
    month_end = _month_end(plain, today)
    if month_end is not None:
        return month_end
    clock, _, time_ok = _take_time(plain)
    which = _which_day(plain) if time_ok and clock is None else None
    if which is None or (isinstance(which, _Offset) and not which.said):
        raise unparseable
    try:
        if isinstance(which, _Calendar):
            days = calendar_days(which, lang, today, None, text)
            if len(days) > 1:
                raise WhenError("ambiguous", {"candidates": tuple(days)})
            day = days[0]
        elif isinstance(which, _Offset):
            day = today + timedelta(days=which.days)
        else:
            gap = (which.weekday - today.weekday()) % 7
            day = today + timedelta(days=gap + (7 if which.next and gap == 0 else 0))
    except OverflowError:
        raise unparseable from None
    if day < today:
        raise WhenError("past", {"when": day})
    return day


def parse_when(text: str, *, lang: str, tz: str, now: datetime) -> datetime:
    """What a French or English speaker types, in the circle's zone `tz`, as an aware UTC
    instant strictly after `now`.

    `lang` starting with "en" reads numeric dates both ways (ambiguous when both make sense);
    any other language reads them day first. Every other form is understood in both languages.
    """
    if now.tzinfo is None:
        raise ValueError("parse_when needs a timezone-aware now")
    zone = ZoneInfo(tz)
    unparseable = WhenError("unparseable", {"text": text})
    if len(text) > _MAX_TEXT:
        raise unparseable
    plain = _normalise(text)
    clock, rest, time_ok = _take_time(plain)
    if not time_ok:
        raise unparseable
    which = _which_day(rest)
    if which is None or (clock is None and isinstance(which, _Offset) and not which.said):
        raise unparseable
    today = now.astimezone(zone).date()
    try:
        return _resolve(which, clock, lang, zone, today, now, text)
    except OverflowError:
        raise unparseable from None


def _resolve(
    which: _Day,
    clock: time | None,
    lang: str,
    zone: ZoneInfo,
    today: date,
    now: datetime,
    text: str,
) -> datetime:
    def instant(day: date) -> tuple[datetime, bool]:
        return _convert(datetime.combine(day, clock or time()), zone)

    def ahead(day: date) -> bool:
        return instant(day)[0] > now

    def settle(day: date) -> datetime:
        moment, exists = instant(day)
        if moment <= now:
            raise WhenError("past", {"when": moment})
        if not exists:
            local = datetime.combine(day, clock or time())
            raise WhenError("nonexistent", {"suggestion": moment, "local": local})
        return moment

    # Which day(s) the words could mean, before knowing whether a time was given.
    if isinstance(which, _Calendar):
        try:
            days = calendar_days(which, lang, today, ahead if clock else None, text)
        except WhenError as error:
            # the readings offered, at the time typed (an instant each)
            for key in ("day", "suggestion", "weekday_day"):
                value = error.detail.get(key)
                if clock is not None and isinstance(value, date):
                    error.detail[key + "_at"] = instant(value)[0]
            raise
        if clock is None:
            raise WhenError("missing_time", {"text": text})
        if len(days) > 1:
            first, second = (instant(day)[0] for day in days)
            raise WhenError("ambiguous", {"candidates": (first, second)})
        return settle(days[0])
    if clock is None:
        raise WhenError("missing_time", {"text": text})
    if isinstance(which, _Offset):
        return settle(today + timedelta(days=which.days))
    gap = (which.weekday - today.weekday()) % 7
    if which.next and gap == 0:
        gap = 7
    day = today + timedelta(days=gap)
    if not which.next and not ahead(day):
        day += timedelta(days=7)
    return settle(day)
