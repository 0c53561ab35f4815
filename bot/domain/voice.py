"""A voice or Stage channel as the core sees it: enough to accept or refuse `/cercle vocal`.

The core never talks to a voice call; it only records which channel follows the floor and tells
the adapter when the floor changes hands (`bot.effects.FloorSpeaker`). What the platform knows
of a channel (is it a Stage, may the bot mute people there) comes from the adapter when a
facilitator names the channel, so a refusal is given at once and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VoiceRoom:
    """A platform voice channel: its id and name, whether it is a Stage, whether the bot may
    server-mute people there."""

    id: str
    name: str
    stage: bool
    can_mute: bool
