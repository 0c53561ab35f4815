"""Access levels, ordered so that a check is a comparison."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """What a person may do in a circle; a higher level may do all a lower one may."""

    ANYONE = 0
    PARTICIPANT = 1
    FACILITATOR = 2
