"""Instants as a confirmation restates them: the date written out and the time zone it is read
in ("jeudi 10 décembre 2026 à 14:00 (heure de Paris)"), so nobody plans in the wrong zone."""

from __future__ import annotations

from datetime import datetime

from bot.ports import Translator
from bot.timing.places import city_of

_VOWELS = tuple("aeiouyàâéèêëîïôûAEIOUYÀÂÉÈÊËÎÏÔÛ")


def zone_label(tr: Translator, lang: str, zone: str) -> str:
    """`heure de Paris`, `heure d'Abidjan`, `Montreal time`, `UTC`."""
    if zone in ("UTC", "Etc/UTC", "GMT"):
        return tr.text(lang, "time.zone_utc")
    city = city_of(zone, lang)
    key = "time.zone_of_vowel" if city.startswith(_VOWELS) else "time.zone_of"
    return tr.text(lang, key, city=city)


def when_in_zone(tr: Translator, lang: str, zone: str, instant: datetime) -> str:
    """The instant written out in the circle's zone, followed by which zone that is."""
    when = tr.datetime_text(lang, zone, instant)
    return tr.text(lang, "time.when_in_zone", when=when, zone=zone_label(tr, lang, zone))
