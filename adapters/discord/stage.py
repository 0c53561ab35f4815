"""The floor in a circle's voice or Stage channel, without the bot ever joining the call.

The core sends `FloorSpeaker` with every status update of a circle that has a voice channel
(`/cercle vocal`). Here it becomes Discord's own voice rules:

- in a **Stage**, whoever has the floor is made a speaker and the one before goes back to the
  audience; a hand raised on the Stage ("request to speak") is `/tour` for that member;
- in a **voice** channel in strict mode, everyone but the speaker and the facilitators is
  server-muted; at the end everyone this bot muted speaks again, and someone who joins during
  the séance is muted on arrival.

Every change reads the voice states discord.py keeps (from the gateway), so an update that
changes nothing costs no request. Members who are not in the channel are left alone. Which
text channel a voice channel belongs to is learned from the effects, so a hand raised before
the first status update after a restart is not seen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import discord

from bot.domain.refs import UserRef
from bot.domain.voice import VoiceRoom
from bot.effects import FloorSpeaker

log = logging.getLogger(__name__)

PLATFORM = "discord"
_CHANNEL = re.compile(r"^<#(\d+)>$|^(\d+)$")
Voice = discord.VoiceChannel | discord.StageChannel
RaiseHand = Callable[[discord.Member, int], Awaitable[None]]


def _user_id(user: UserRef | None) -> int | None:
    if user is None or user.platform != PLATFORM or not user.id.isdigit():
        return None
    return int(user.id)


def find_room(guild: discord.Guild | None, typed: str) -> VoiceRoom | None:
    """A voice or Stage channel of `guild` as typed (`<#id>`, an id or its name)."""
    if guild is None:
        return None
    typed = typed.strip()
    match = _CHANNEL.match(typed)
    channel: object
    if match:
        channel = guild.get_channel(int(match.group(1) or match.group(2)))
    else:
        wanted = typed.removeprefix("#").casefold()
        channel = next((c for c in guild.channels if c.name.casefold() == wanted), None)
    if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        return None
    can_mute = channel.permissions_for(guild.me).mute_members
    return VoiceRoom(
        str(channel.id), channel.name, isinstance(channel, discord.StageChannel), can_mute
    )


class VoiceFloor:
    """Follows the floor in circles' voice and Stage channels."""

    def __init__(self, client: discord.Client, raise_hand: RaiseHand) -> None:
        self.client = client
        self.raise_hand = raise_hand
        self._last: dict[int, FloorSpeaker] = {}  # voice channel id -> the latest floor
        self._muted: dict[int, set[int]] = {}  # voice channel id -> members this bot muted
        self._speakers: dict[int, set[int]] = {}  # Stage id -> members this bot made speak
        client.event(self.on_voice_state_update)

    async def apply(self, floor: FloorSpeaker) -> None:
        """Make the voice channel follow `floor` (a send job: Discord errors are the caller's)."""
        channel = await self._voice_channel(int(floor.voice_channel))
        if channel is None:
            return
        self._last[channel.id] = floor
        if isinstance(channel, discord.StageChannel):
            await self._stage(channel, floor)
        elif floor.strict or channel.id in self._muted:
            await self._strict(channel, floor)

    async def _voice_channel(self, channel_id: int) -> Voice | None:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(channel_id)
            except discord.NotFound:
                return None
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            log.warning("channel %s is no longer a voice channel", channel_id)
            return None
        return channel

    async def _stage(self, channel: discord.StageChannel, floor: FloorSpeaker) -> None:
        """The speaker on the Stage; whoever this bot brought up before (and the previous
        speaker) back to the audience. Moderators who speak on their own are left alone."""
        speaker = None if floor.closed else _user_id(floor.speaker)
        ours = self._speakers.setdefault(channel.id, set())
        back = (ours | {_user_id(floor.previous)}) - {speaker}
        for member in channel.members:
            voice = member.voice
            if member.bot or voice is None:
                continue
            if member.id == speaker and voice.suppress:
                await member.edit(suppress=False)
                ours.add(member.id)
            elif member.id in back and not voice.suppress:
                await member.edit(suppress=True)
            if member.id in back:
                ours.discard(member.id)

    async def _strict(self, channel: discord.VoiceChannel, floor: FloorSpeaker) -> None:
        muted = self._muted.setdefault(channel.id, set())
        keep = {_user_id(u) for u in (floor.speaker, *floor.keep)}
        for member in channel.members:
            if member.bot or member.voice is None:
                continue
            silence = floor.strict and not floor.closed and member.id not in keep
            if silence and not member.voice.mute:
                await member.edit(mute=True)
                muted.add(member.id)
            elif not silence and member.id in muted:
                await member.edit(mute=False)
                muted.discard(member.id)
        if not muted:
            del self._muted[channel.id]

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        channel = after.channel
        if channel is None or member.bot:
            return
        floor = self._last.get(channel.id)
        if floor is None or floor.closed:
            return
        try:
            if isinstance(channel, discord.StageChannel):
                raised = after.requested_to_speak_at is not None and after.suppress
                if raised and before.requested_to_speak_at != after.requested_to_speak_at:
                    await self.raise_hand(member, int(floor.channel.id))
            elif isinstance(channel, discord.VoiceChannel) and before.channel != channel:
                await self._strict(channel, floor)  # someone joined during the séance
        except Exception:
            log.exception("a voice change in channel %s could not be followed", channel.id)
