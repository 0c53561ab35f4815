"""A cycle as people describe it: "4 2sem jeudi 14h", or "4 séances toutes les deux semaines à
partir du jeudi 10 décembre 14h", split into how many séances, how often, and the first date.

The short form is what the help shows; the long form is what a newcomer types first. Both give
the same three parts; what is missing is reported (None), so the handler can say what to add
with the person's own words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

_NUMBERS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "douze": 12,
    "quinze": 15,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fifteen": 15,
}
_NUMBER = r"\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
_UNIT = r"jours?|j|semaines?|sem|days?|d|weeks?|wks?|w"
_SEANCES = r"seances?|sessions?|rencontres?|reunions?|meetings?|fois"

_COUNT_WORD = re.compile(rf"\b(?P<n>{_NUMBER})\s*(?:{_SEANCES})\b")
_LEADING_COUNT = re.compile(rf"^\s*(?P<n>{_NUMBER})\b(?!\s*(?:h\b|:|/|\.|-|(?:{_UNIT})\b))")
_EVERY_PHRASE = re.compile(
    rf"\b(?:toutes? les|tous les|chaque|every|une fois par|once a|par|per)\s+"
    rf"(?:(?P<n>{_NUMBER}|other|autre)\s*)?(?P<unit>{_UNIT})\b"
)
_EVERY_SHORT = re.compile(rf"(?<!dans )(?<!in )(?<![\w/.:-])(?P<n>\d{{1,3}})\s?(?P<unit>{_UNIT})\b")
_EVERY_WORDS = {
    "hebdomadaire": 7,
    "hebdo": 7,
    "weekly": 7,
    "quinzaine": 14,
    "fortnightly": 14,
    "biweekly": 14,
}
_EVERY_WORD = re.compile(
    r"\b(?:une fois par |toutes les |a )?(?P<w>" + "|".join(_EVERY_WORDS) + r")\b"
)
_WEEKDAYS = (
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
# "tous les mardis", "chaque jeudi", "les lundis", "every Tuesday", "on Tuesdays": once a week
_EVERY_WEEKDAY = re.compile(
    rf"\b(?:(?:tous les|chaque|every)\s+(?P<day>{_WEEKDAYS})s?"
    rf"|(?:les\s+|on\s+)?(?P<days>{_WEEKDAYS})s)\b"
)
# "pendant 6 semaines", "sur 12 semaines", "for 6 weeks": how long the cycle lasts
_SPAN = re.compile(
    rf"\b(?:pendant|durant|sur|for|over)\s+(?P<n>{_NUMBER})\s*"
    r"(?P<unit>semaines?|sem|weeks?|wks?|jours?|days?|mois|months?)\b"
)
_FILLERS = re.compile(
    r"\b(?:a partir du|a partir de|a partir d|des le|debut|en commencant|commencant|"
    r"starting on|starting|beginning|from|premiere seance|first session|premiere|first|"
    r"un cycle de|a cycle of|cycle de|cycle|le premier|the first|du)\b"
)


@dataclass(frozen=True, slots=True)
class CycleWords:
    """What a cycle's description said: each part is None when it was not found."""

    count: int | None
    every: timedelta | None
    when: str


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS.get(word, 0)


def _days(n: str | None, unit: str) -> int:
    if n == "quinze" and unit[0] == "j":
        return 14  # "tous les quinze jours" is every two weeks
    count = 2 if n in ("other", "autre") else _number(n) if n else 1
    return count * 7 if unit[0] in "sw" else count


def _fold_char(c: str) -> str:
    plain = "".join(x for x in unicodedata.normalize("NFKD", c) if not unicodedata.combining(x))
    plain = plain.casefold()
    return plain if len(plain) == 1 else c


class _Words:
    """The description folded for matching (`plain`) beside the words as typed (`typed`), one
    character for one, so what is left for the date keeps the person's accents."""

    def __init__(self, text: str) -> None:
        typed = " ".join(text.replace(",", " ").replace("’", "'").split())
        self.typed = re.sub(r"\b([dD])'", r"\1 ", typed)
        self.plain = "".join(_fold_char(c) for c in self.typed)

    def cut(self, found: re.Match[str]) -> None:
        start, end = found.span()
        blank = " " * (end - start)
        self.plain = self.plain[:start] + blank + self.plain[end:]
        self.typed = self.typed[:start] + blank + self.typed[end:]

    def keep_only(self, found: re.Match[str], group: str) -> None:
        """Blank the match but for `group`'s word, as typed, in the singular."""
        start, end = found.span()
        word_start, word_end = found.span(group)
        word = self.typed[word_start:word_end]
        kept = word.rjust(end - start)
        self.plain = self.plain[:start] + kept.casefold() + self.plain[end:]
        self.typed = self.typed[:start] + kept + self.typed[end:]


def read_cycle(text: str) -> CycleWords:
    """The count, the interval and the first date's words in a cycle's description."""
    words = _Words(text)
    count: int | None = None
    every: int | None = None
    span_days: int | None = None  # "pendant 6 semaines"; months are not a number of séances
    found = _SPAN.search(words.plain)
    if found is not None:
        unit = found["unit"]
        if not unit.startswith(("mois", "month")):
            span_days = _days(found["n"], unit)
        words.cut(found)
    weekly = _EVERY_WEEKDAY.search(words.plain)
    if weekly is not None:  # the weekday stays for the date: "mardi à 18h30"
        words.keep_only(weekly, "day" if weekly["day"] else "days")
    found = _EVERY_PHRASE.search(words.plain)
    if found is not None:
        every = _days(found["n"], found["unit"])
    else:
        found = _EVERY_WORD.search(words.plain)
        if found is not None:
            every = _EVERY_WORDS[found["w"]]
    if found is not None:
        words.cut(found)
    found = _COUNT_WORD.search(words.plain) or _LEADING_COUNT.search(words.plain)
    if found is not None:
        count = _number(found["n"])
        words.cut(found)
    if every is None:
        found = _EVERY_SHORT.search(words.plain)
        if found is not None:
            every = _days(found["n"], found["unit"])
            words.cut(found)
    if every is None and weekly is not None:
        every = 7
    if span_days:
        if count is None and every:
            count = span_days // every or None
        elif every is None and count and span_days % count == 0:
            every = span_days // count
    for filler in list(_FILLERS.finditer(words.plain)):
        words.cut(filler)
    when = " ".join(words.typed.split()).strip(" .;:-")
    return CycleWords(count or None, timedelta(days=every) if every else None, when)
