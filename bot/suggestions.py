"""Suggestions while someone types a command's argument (Discord's autocomplete).

Adapters ask the core, never storage: the séances people can still act on (planned or open),
labelled with their date in the circle's language and zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.circle import CircleSettings
from bot.domain.seance import SeanceSummary
from bot.ports import Translator

LIMIT = 25  # Discord shows at most 25 suggestions


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One value to offer and how to show it."""

    value: int
    label: str


def seance_suggestions(
    tr: Translator, settings: CircleSettings, seances: Sequence[SeanceSummary], typed: str
) -> list[Suggestion]:
    """The séances whose number starts with what was typed, with their date."""
    lang, tz = settings.language, settings.timezone
    found: list[Suggestion] = []
    for seance in seances:
        if not str(seance.number).startswith(typed.strip()):
            continue
        start = seance.planned_at or seance.opened_at
        label = f"{seance.number} — {tr.datetime_text(lang, tz, start)}" if start else ""
        found.append(Suggestion(seance.number, label or str(seance.number)))
    return found[:LIMIT]
