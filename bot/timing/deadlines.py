"""Time box events of an open séance: warn the speaker, end a turn, end a phase — and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.seance import Seance

WARNING_SHARE = 0.8


class TimeboxKind(StrEnum):
    """The three things a time box can call for."""

    TURN_WARNING = "turn_warning"
    TURN_END = "turn_end"
    PHASE_END = "phase_end"


@dataclass(frozen=True, slots=True)
class Due:
    """One time box event and its instant."""

    kind: TimeboxKind
    at: datetime


def pending(seance: Seance) -> list[Due]:
    """Time box events still to come for an open séance, earliest first (none while paused)."""
    if not seance.is_open or seance.is_paused:
        return []
    out: list[Due] = []
    phase, turn = seance.phase, seance.turn
    if turn is not None and phase is not None and phase.turn_limit:
        base = turn.started_at + turn.paused
        if not turn.warned:
            out.append(Due(TimeboxKind.TURN_WARNING, base + phase.turn_limit * WARNING_SHARE))
        if not turn.overrun_notified:
            out.append(Due(TimeboxKind.TURN_END, base + phase.turn_limit))
    if phase is not None and phase.planned and not phase.end_notified:
        out.append(Due(TimeboxKind.PHASE_END, phase.started_at + phase.paused + phase.planned))
    out.sort(key=lambda d: d.at)
    return out


def next_deadline(seance: Seance) -> datetime | None:
    due = pending(seance)
    return due[0].at if due else None
