"""The translator: message keys rendered from `.po` catalogs, dates in the circle's zone."""

from __future__ import annotations

import string
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

_DATETIME_PATTERN = {"fr": "EEEE d MMMM y 'à' HH:mm", "en": "EEEE d MMMM y 'at' HH:mm"}
_DATE_PATTERN = {"fr": "EEEE d MMMM y", "en": "EEEE d MMMM y"}


def load_catalog(lang: str) -> dict[str, str]:
    """Every key of one language's catalog, with its translation."""
    path = resources.files("bot.i18n").joinpath("locales", f"{lang}.po")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    messages: dict[str, str] = {}
    for message in catalog:
        if message.id and isinstance(message.id, str) and isinstance(message.string, str):
            messages[message.id] = message.string
    return messages


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class CatalogTranslator:
    """Renders keys like `turn.queued` with named values, in French or English."""

    def __init__(self) -> None:
        self._catalogs = {lang: load_catalog(lang) for lang in LANGUAGES}

    def languages(self) -> Sequence[str]:
        return LANGUAGES

    def has(self, lang: str, key: str) -> bool:
        return bool(self._catalogs.get(lang, {}).get(key))

    def keys(self, lang: str) -> set[str]:
        return set(self._catalogs[lang])

    def template(self, lang: str, key: str) -> str:
        catalog = self._catalogs.get(lang) or self._catalogs[DEFAULT_LANGUAGE]
        found = catalog.get(key) or self._catalogs[DEFAULT_LANGUAGE].get(key)
        return found or key

    def text(self, lang: str, key: str, /, **args: Any) -> str:
        template = self.template(lang, key)
        try:
            return template.format(**args)
        except (KeyError, IndexError, ValueError):
            return template

    def warm_up(self) -> None:
        # Babel reads each locale's data (days, months, units, plural rules, numbers) from
        # its pickles on first use: a few MB and tens of milliseconds the first command of the
        # day would otherwise pay, once per language.
        sample = datetime(2026, 1, 5, 18, 30, tzinfo=UTC)
        for lang in LANGUAGES:
            self.datetime_text(lang, "Europe/Paris", sample)
            self.day_text(lang, sample.date())
            self.time_text(lang, "Europe/Paris", sample)
            self.span_text(lang, timedelta(days=1, hours=1, minutes=1))
            Locale.parse(lang).plural_form(2)
            format_decimal(0.5, format="0.00", locale=lang)
            format_percent(0.5, locale=lang)

    def datetime_text(self, lang: str, tz: str, instant: datetime) -> str:
        pattern = _DATETIME_PATTERN.get(lang, _DATETIME_PATTERN[DEFAULT_LANGUAGE])
        return str(format_datetime(instant, pattern, tzinfo=ZoneInfo(tz), locale=lang))

    def day_text(self, lang: str, day: date) -> str:
        pattern = _DATE_PATTERN.get(lang, _DATE_PATTERN[DEFAULT_LANGUAGE])
        return str(format_date(day, pattern, locale=lang))

    def time_text(self, lang: str, tz: str, instant: datetime) -> str:
        return str(format_datetime(instant, "HH:mm", tzinfo=ZoneInfo(tz), locale=lang))

    def span_text(self, lang: str, span: timedelta) -> str:
        minutes = max(0, round(span.total_seconds() / 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        parts = [
            str(format_unit(value, unit, length="long", locale=lang)).replace("\xa0", " ")
            for value, unit in (
                (days, "duration-day"),
                (hours, "duration-hour"),
                (minutes, "duration-minute"),
            )
            if value
        ]
        if not parts:
            return str(format_unit(0, "duration-minute", length="long", locale=lang)).replace(
                "\xa0", " "
            )
        return " ".join(parts)

    def plural(self, lang: str, key: str, count: int, /, **args: object) -> str:
        form = Locale.parse(lang).plural_form(count)
        return self.text(lang, f"{key}.{'one' if form == 'one' else 'other'}", count=count, **args)

    def duration_text(self, lang: str, span: timedelta) -> str:
        """`1 h 05 min`, `3 min 07 s`, `45 s`: exact to the second, for speaking times."""
        seconds = max(0, round(span.total_seconds()))
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            return f"{hours} h {minutes:02d} min"
        if minutes:
            return f"{minutes} min {secs:02d} s"
        return f"{secs} s"
