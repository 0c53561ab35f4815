"""Time zones as people name them: a city or a country ("Montréal", "Dakar", "Belgique") or an
IANA name typed loosely ("europe/paris"), turned into IANA zones.

People know where they live, not the tz database: a facilitator types `/cercle fuseau
Bruxelles`, not `Europe/Brussels`. French names and the places of French-speaking circles are
listed here; any other city the tz database names (Tokyo, New York) is found by the last part of
its zone name. A name that covers several zones (Canada) gives them all, for the person to pick.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from zoneinfo import available_timezones

MAX_PLACE = 60  # longer is no place name

_REGIONS = tuple(
    f"{region}/"
    for region in [
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    ]
)

_PARIS = "Europe/Paris"
_BRUSSELS = "Europe/Brussels"
_ZURICH = "Europe/Zurich"
_MONTREAL = "America/Montreal"


def _same(zones: tuple[str, ...], *names: str) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(names, zones)


# Folded names (see `fold_place`) → zones; several zones when the name is ambiguous.
_NAMED: dict[str, tuple[str, ...]] = {
    **_same(
        (_PARIS,),
        *("paris", "lyon", "marseille", "toulouse", "bordeaux", "lille", "nantes"),
        *("strasbourg", "nice", "rennes", "montpellier", "grenoble", "rouen", "tours"),
        *("dijon", "angers", "brest", "metz", "clermont ferrand", "france"),
    ),
    **_same((_BRUSSELS,), "bruxelles", "liege", "namur", "charleroi", "mons", "belgique"),
    **_same((_ZURICH,), "geneve", "lausanne", "berne", "neuchatel", "fribourg", "suisse"),
    **_same((_MONTREAL,), "montreal", "quebec", "laval", "sherbrooke", "gatineau", "saguenay"),
    "trois rivieres": (_MONTREAL,),
    "ottawa": ("America/Toronto",),
    "moncton": ("America/Moncton",),
    "canada": (
        "America/Halifax",
        "America/Toronto",
        "America/Winnipeg",
        "America/Edmonton",
        "America/Vancouver",
    ),
    **_same(
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
        *("etats unis", "usa", "us", "united states"),
    ),
    "londres": ("Europe/London",),
    "royaume uni": ("Europe/London",),
    "lisbonne": ("Europe/Lisbon",),
    "barcelone": ("Europe/Madrid",),
    "espagne": ("Europe/Madrid",),
    "italie": ("Europe/Rome",),
    "allemagne": ("Europe/Berlin",),
    "varsovie": ("Europe/Warsaw",),
    "athenes": ("Europe/Athens",),
    "luxembourg": ("Europe/Luxembourg",),
    "monaco": ("Europe/Monaco",),
    "senegal": ("Africa/Dakar",),
    "cote divoire": ("Africa/Abidjan",),
    "mali": ("Africa/Bamako",),
    "burkina faso": ("Africa/Ouagadougou",),
    "niger": ("Africa/Niamey",),
    "guinee": ("Africa/Conakry",),
    "lome": ("Africa/Lome",),
    "togo": ("Africa/Lome",),
    "cotonou": ("Africa/Porto-Novo",),
    "benin": ("Africa/Porto-Novo",),
    "yaounde": ("Africa/Douala",),
    "cameroun": ("Africa/Douala",),
    "gabon": ("Africa/Libreville",),
    "rdc": ("Africa/Kinshasa", "Africa/Lubumbashi"),
    "congo": ("Africa/Brazzaville", "Africa/Kinshasa", "Africa/Lubumbashi"),
    "tunisie": ("Africa/Tunis",),
    "alger": ("Africa/Algiers",),
    "algerie": ("Africa/Algiers",),
    "rabat": ("Africa/Casablanca",),
    "maroc": ("Africa/Casablanca",),
    "mauritanie": ("Africa/Nouakchott",),
    "tchad": ("Africa/Ndjamena",),
    "rwanda": ("Africa/Kigali",),
    "burundi": ("Africa/Bujumbura",),
    "madagascar": ("Indian/Antananarivo",),
    "maurice": ("Indian/Mauritius",),
    "beyrouth": ("Asia/Beirut",),
    "liban": ("Asia/Beirut",),
    "haiti": ("America/Port-au-Prince",),
    "martinique": ("America/Martinique",),
    "fort de france": ("America/Martinique",),
    "guadeloupe": ("America/Guadeloupe",),
    "pointe a pitre": ("America/Guadeloupe",),
    "guyane": ("America/Cayenne",),
    "reunion": ("Indian/Reunion",),
    "la reunion": ("Indian/Reunion",),
    "saint denis": ("Indian/Reunion", _PARIS),
    "saint pierre": ("Indian/Reunion", "America/Miquelon"),
    "mayotte": ("Indian/Mayotte",),
    "nouvelle caledonie": ("Pacific/Noumea",),
    "noumea": ("Pacific/Noumea",),
    "tahiti": ("Pacific/Tahiti",),
    "papeete": ("Pacific/Tahiti",),
    "polynesie": ("Pacific/Tahiti",),
    **_same(("UTC",), "utc", "gmt", "temps universel"),
}

# How a zone is called in French where its tz name says it otherwise.
_FRENCH_CITY = {
    _MONTREAL: "Montréal",
    _BRUSSELS: "Bruxelles",
    "Europe/London": "Londres",
    "Europe/Lisbon": "Lisbonne",
    "Europe/Athens": "Athènes",
    "Europe/Warsaw": "Varsovie",
    "Africa/Algiers": "Alger",
    "Africa/Lome": "Lomé",
    "Africa/Ndjamena": "N'Djaména",
    "Asia/Beirut": "Beyrouth",
    "Pacific/Noumea": "Nouméa",
    "Indian/Reunion": "La Réunion",
    "America/Port-au-Prince": "Port-au-Prince",
    "America/Martinique": "la Martinique",
    "America/Guadeloupe": "la Guadeloupe",
    "America/Cayenne": "Cayenne",
}

_DROP = re.compile(r"^(?:heure (?:de |d |du )?|fuseau (?:de |d |du )?)|(?: time(?: zone)?)$")


def fold_place(text: str) -> str:
    """`Montréal`, `montreal`, `Trois-Rivières`, `New_York` → `montreal`, `trois rivieres`,
    `new york`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"[-_'’.,]", " ", plain)
    return " ".join(plain.split())


@cache
def _by_last_part() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(_REGIONS):
            found.setdefault(fold_place(zone.rsplit("/", 1)[1]), []).append(zone)
    return {name: tuple(zones) for name, zones in found.items()}


@cache
def _by_full_name() -> dict[str, str]:
    return {fold_place(zone.replace("/", " ")): zone for zone in available_timezones()}


def zones_for(text: str) -> tuple[str, ...]:
    """Every IANA zone `text` may name: one for a known place or zone, several for a country
    with several zones, none when it names no place known here."""
    if not text or len(text) > MAX_PLACE:
        return ()
    exact = text.strip()
    if exact in available_timezones() and not exact.startswith(("/", ".")):
        return (exact,)
    folded = _DROP.sub("", fold_place(exact.replace("/", " "))).strip()
    if not folded:
        return ()
    if folded in _NAMED:
        return _NAMED[folded]
    if folded in _by_full_name():
        return (_by_full_name()[folded],)
    return _by_last_part().get(folded, ())


def city_of(zone: str, lang: str) -> str:
    """The place a zone is named after, as people say it: `Europe/Paris` → `Paris`."""
    if lang == "fr" and zone in _FRENCH_CITY:
        return _FRENCH_CITY[zone]
    return zone.rsplit("/", 1)[-1].replace("_", " ")
