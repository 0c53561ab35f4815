"""Time box events of an open séance: warn the speaker, end a turn, end a phase — and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.protocol import PhaseMode
from bot.domain.seance import Seance

WARNING_SHARE = 0.8


class TimeboxKind(StrEnum):
    """The things a time box can call for."""

    TURN_WARNING = "turn_warning"
    TURN_END = "turn_end"
    PHASE_END = "phase_end"
    TURN_NUDGE = "turn_nudge"  # a turn on the open floor with no limit has run long


@dataclass(frozen=True, slots=True)
class Due:
    """One time box event and its instant."""

    kind: TimeboxKind
    at: datetime


def pending(seance: Seance, nudge: timedelta | None = None) -> list[Due]:
    """Time box events still to come for an open séance, earliest first (none while paused);
    `nudge`: after how long a turn without a limit on the open floor gets a private nudge."""
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
    open_floor = phase is not None and phase.mode is PhaseMode.QUEUE and not phase.turn_limit
    if turn is not None and open_floor and nudge and not turn.warned:
        out.append(Due(TimeboxKind.TURN_NUDGE, turn.started_at + turn.paused + nudge))
    if phase is not None and phase.planned and not phase.end_notified:
        out.append(Due(TimeboxKind.PHASE_END, phase.started_at + phase.paused + phase.planned))
    out.sort(key=lambda d: d.at)
    return out


def next_deadline(seance: Seance, nudge: timedelta | None = None) -> datetime | None:
    due = pending(seance, nudge)
    return due[0].at if due else None
