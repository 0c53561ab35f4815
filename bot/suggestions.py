"""Suggestions while someone types a command's argument (Discord's autocomplete).

Adapters ask the core, never storage: the séances people can still act on (planned or open),
newest first, labelled with their date in the circle's language and zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.refs import ChannelRef
from bot.ports import Translator, UnitOfWorkFactory

LIMIT = 25  # Discord shows at most 25 suggestions


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One value to offer and how to show it."""

    value: int
    label: str


async def seance_suggestions(
    uow_factory: UnitOfWorkFactory, tr: Translator, channel: ChannelRef, typed: str
) -> list[Suggestion]:
    """The circle's planned and open séances whose number starts with what was typed."""
    async with uow_factory() as uow:
        circle = await uow.circles.by_channel(channel)
        seances = await uow.seances.for_circle(circle.id) if circle else []
    if circle is None:
        return []
    lang, tz = circle.settings.language, circle.settings.timezone
    found: list[Suggestion] = []
    for seance in seances:
        if seance.status.value not in ("planned", "open"):
            continue
        if not str(seance.number).startswith(typed.strip()):
            continue
        start = seance.planned_at or seance.opened_at
        label = f"{seance.number} — {tr.datetime_text(lang, tz, start)}" if start else ""
        found.append(Suggestion(seance.number, label or str(seance.number)))
    return found[:LIMIT]
