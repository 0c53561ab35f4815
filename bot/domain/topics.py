"""Lean Coffee topics: the cases members proposed, discussed one at a time in vote order.

Each topic runs as a phase of its own (the open floor, with the topic's time box as the
phase's planned length), so the time keeper, the status and the recap treat it like any other
phase. Its key says which case it is (`sujet-3`); the phase that holds the topics while none is
running yet is `sujets`. When a topic's time box runs out, the people present vote with their
thumbs whether to give it a few more minutes: a strict majority of those present extends it;
as soon as such a majority can no longer be reached, the circle moves on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.cases import CaseProposal, CaseStatus
from bot.domain.refs import UserRef
from bot.domain.seance import PhaseRun, Seance

TOPICS_KEY = "sujets"  # the topics phase before (or without) a topic
TOPIC_PREFIX = "sujet-"


def topic_key(number: int) -> str:
    return f"{TOPIC_PREFIX}{number}"


def topic_number(phase: PhaseRun | None) -> int | None:
    """The case a topic phase discusses; None for any other phase."""
    if phase is None or not phase.key.startswith(TOPIC_PREFIX):
        return None
    tail = phase.key.removeprefix(TOPIC_PREFIX)
    return int(tail) if tail.isdigit() else None


def in_topics(phase: PhaseRun | None) -> bool:
    """Whether the running phase is the Lean Coffee's stretch of topics."""
    return phase is not None and (phase.key == TOPICS_KEY or topic_number(phase) is not None)


def agenda(cases: Iterable[CaseProposal]) -> list[CaseProposal]:
    """The topics still to discuss, most votes first, ties to the earliest proposed."""
    waiting = (c for c in cases if c.status is CaseStatus.OPEN)
    return sorted(waiting, key=lambda c: (-c.total, c.number))


class Verdict(StrEnum):
    """Where a thumbs vote stands."""

    OPEN = "open"  # not decided yet
    EXTEND = "extend"  # a strict majority of those present said yes
    MOVE_ON = "move_on"  # such a majority can no longer be reached


@dataclass(frozen=True, slots=True)
class Tally:
    """The thumbs vote on extending a topic: yes and no among `present` people."""

    yes: int
    no: int
    present: int

    @property
    def verdict(self) -> Verdict:
        if self.yes * 2 > self.present:
            return Verdict.EXTEND
        if self.no * 2 >= self.present:
            return Verdict.MOVE_ON
        return Verdict.OPEN


def tally(votes: dict[UserRef, bool], present: set[UserRef]) -> Tally:
    """Count the votes of the people present (someone who left does not decide)."""
    counted = [v for u, v in votes.items() if u in present]
    return Tally(sum(counted), len(counted) - sum(counted), max(len(present), 1))


def vote_round(seance: Seance) -> int:
    """Which thumbs vote of the séance is running: each topic's time box running out is one
    (the topic's place among the séance's phases and how long its box had grown)."""
    phase = seance.phase
    planned = int(phase.planned.total_seconds()) if phase and phase.planned else 0
    return len(seance.phases) * 1_000_000 + planned
