"""The floor, as a voice or Stage channel should follow it.

A circle that names a voice channel (`/cercle vocal`) gets a `FloorSpeaker` effect next to each
status update of its open séance: the core says who speaks and who spoke before, the adapter
turns that into its platform's voice rules. Nothing here knows a platform.
"""

from __future__ import annotations

from bot.domain.circle import Circle
from bot.domain.refs import UserRef
from bot.domain.seance import Seance
from bot.effects import FloorSpeaker


def floor_speaker(circle: Circle, seance: Seance) -> list[FloorSpeaker]:
    """The floor of `seance` for the circle's voice channel; nothing when it has none."""
    voice = circle.settings.voice_channel
    if voice is None:
        return []
    speaker = seance.speaker if seance.is_open else None
    previous: UserRef | None = None
    for turn in reversed(seance.turns):
        if turn.user != speaker:
            previous = turn.user
            break
    return [
        FloorSpeaker(
            circle.channel,
            voice,
            speaker,
            previous,
            strict=circle.settings.voice_strict,
            keep=tuple(m.user for m in circle.facilitators() if m.active),
            closed=not seance.is_open,
        )
    ]
