"""Speaking equity: the fair share of a séance and the Gini coefficient of speaking times.

Equity is measured among participants: facilitators steer the séance and often speak without
taking a turn, so their turns would say little about how the floor was shared. When only
facilitators are present, everyone present counts.
"""

from __future__ import annotations

from collections.abc import Sequence


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
