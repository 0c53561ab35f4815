"""Séance numbers follow the calendar: "séance 2/4" is the second of the cycle by date.

Numbers are what people type (`/excuse 2`), so they must mean the same thing to everyone:
planning a séance before another, opening an extra one or cancelling one renumbers the rest,
and cancelled séances, numbered after all the others, leave no gap."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bot.domain.seance import Seance, SeanceStatus

_UNDATED = datetime.max.replace(tzinfo=UTC)


def _when(seance: Seance) -> datetime:
    return seance.planned_at or seance.opened_at or _UNDATED


def renumber(seances: Iterable[Seance]) -> int:
    """Number the séances 1..n by date (cancelled ones last); returns n."""
    everything = sorted(seances, key=lambda s: s.number)
    live = sorted(
        (s for s in everything if s.status is not SeanceStatus.CANCELLED),
        key=lambda s: (_when(s), s.number),
    )
    cancelled = [s for s in everything if s.status is SeanceStatus.CANCELLED]
    for number, seance in enumerate(live + cancelled, start=1):
        if seance.number != number:
            seance.number = number
    return len(everything)
