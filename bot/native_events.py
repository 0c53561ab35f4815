"""Séances as a platform's own events (Discord's scheduled events), read from the database.

A platform that lists events natively mirrors each planned séance there: created when planned,
moved when moved, cancelled when cancelled, started and ended with the séance. The database is
the truth: an adapter reads the circle's séances here after any change and brings its events in
line, so a missed update is made good by the next one. The platform's event id is stored on the
séance (`native_event_id`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.circle import Circle
from bot.domain.prompts import expected_length
from bot.domain.protocol import ProtocolBook
from bot.domain.seance import Seance, SeanceStatus
from bot.ports import Translator

TITLE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class SeanceEvent:
    """What a platform event should say about one séance."""

    seance_id: int
    status: SeanceStatus
    start: datetime
    end: datetime
    title: str
    description: str
    event_id: str | None
    voice_channel: str | None = None  # the circle's voice or Stage channel, where it takes place


def seance_events(
    tr: Translator, protocols: ProtocolBook, circle: Circle, seances: Sequence[Seance]
) -> list[SeanceEvent]:
    """Every séance of `circle` that has a time, as an event."""
    lang = circle.settings.language
    length = expected_length(protocols.get(circle.settings.protocol))
    found: list[SeanceEvent] = []
    for seance in seances:
        start = seance.planned_at or seance.opened_at
        if start is None:
            continue
        title = tr.text(lang, "event.title", circle=circle.name, number=seance.number)
        description = tr.text(lang, "event.description", circle=circle.name)
        if seance.subject:
            description += "\n" + tr.text(lang, "event.subject", subject=seance.subject)
        found.append(
            SeanceEvent(
                seance.id,
                seance.status,
                start,
                seance.closed_at or start + length,
                title[:TITLE_LIMIT],
                description,
                seance.native_event_id,
                circle.settings.voice_channel,
            )
        )
    return found
