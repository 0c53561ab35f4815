"""Speaking equity: the fair share of a séance and the Gini coefficient of speaking times.

Equity is measured among participants: facilitators steer the séance and often speak without
taking a turn, so their turns would say little about how the floor was shared. When only
facilitators are present, everyone present counts.

Single-speaker phases (a case holder's exposé, contract and action plan) are the protocol, not
a share of the floor: the recap and the cycle report both count them apart, with
`floor_and_single_times`, so a case holder is never "over their share" for doing the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.protocol import PhaseMode
from bot.domain.refs import UserRef
from bot.domain.seance import Seance, TurnOutcome

Times = dict[UserRef, tuple[timedelta, int]]


def gini(values: Sequence[float]) -> float | None:
    """The Gini coefficient of non-negative values: 0 when all are equal, towards 1 when one
    person has everything; None when there is nobody or nobody has anything.

    G = Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² μ), computed from the sorted values in O(n log n):
    G = (2 Σᵢ i·x₍ᵢ₎) / (n Σ x) − (n + 1) / n, with i = 1..n over ascending values."""
    n = len(values)
    total = float(sum(values))
    if n == 0 or total <= 0:
        return None
    ranked = sorted(values)
    weighted = sum(i * x for i, x in enumerate(ranked, start=1))
    return max(0.0, (2.0 * weighted) / (n * total) - (n + 1) / n)


def fair_share(seconds: Sequence[float]) -> float | None:
    """What each would have had if the floor had been shared evenly: the mean."""
    return sum(seconds) / len(seconds) if seconds else None


def floor_and_single_times(seance: Seance, now: datetime) -> tuple[Times, Times]:
    """Speaking time per person on the shared floor, and apart, in single-speaker phases (a
    case holder's exposé is the protocol, not more than their share)."""
    if not any(p.mode is PhaseMode.SINGLE for p in seance.phases):
        return seance.speaking_times(now), {}
    single = {p.index for p in seance.phases if p.mode is PhaseMode.SINGLE}
    floor: Times = {}
    alone: Times = {}
    for turn in seance.turns:
        bucket = alone if turn.phase_index in single else floor
        spent, count = bucket.get(turn.user, (timedelta(0), 0))
        counted = 0 if turn.outcome is TurnOutcome.PASSED else 1
        bucket[turn.user] = (spent + turn.elapsed(now, seance.paused_since), count + counted)
    return floor, alone
