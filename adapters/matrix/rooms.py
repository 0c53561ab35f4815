"""Who may steer a circle in a Matrix room: power levels, and creators only where they rule.

In room version 12 the creators (`m.room.create`'s sender and `additional_creators`) outrank
every power level and cannot be demoted. In earlier versions a creator is an ordinary user
whose rights come from `m.room.power_levels` alone: a creator demoted there is a participant.
"""

from __future__ import annotations

from typing import Any

FIRST_VERSION_WITH_CREATOR_POWER = 12


def creators_outrank(room_version: str) -> bool:
    """Whether the creators of a room of this version outrank power levels."""
    if room_version.isdigit():
        return int(room_version) >= FIRST_VERSION_WITH_CREATOR_POWER
    return room_version.startswith("org.matrix.hydra")  # the test name of version 12's rules


def ruling_creators(create: dict[str, Any]) -> frozenset[str]:
    """The creators who outrank power levels, from the room's `m.room.create` event."""
    content = create.get("content", {})
    if not creators_outrank(str(content.get("room_version", "1"))):
        return frozenset()
    creators = {content.get("creator") or create.get("sender")}
    creators.update(content.get("additional_creators") or [])
    return frozenset(c for c in creators if isinstance(c, str))
