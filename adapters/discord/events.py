"""Planned séances in Discord's own events list (guild scheduled events).

Each planned séance gets an event in the circle's voice or Stage channel (`/cercle vocal`), or
else an external event pointing to the circle's channel: moved when the
séance moves, cancelled when it is cancelled, started and ended with it. The database is the
truth (`CercleCore.seance_events`): after a command that plans, moves, cancels, opens or closes
a séance, and when the bot opens or closes one by itself, the channel's events are brought in
line, one channel at a time, outside the interaction (a person never waits for it). What was
last set on each event is remembered, so an unchanged séance costs no request; after a restart
each event is read once.

Without the Manage Events permission Discord refuses: that is logged once per server and the
rest of Cercle works as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime

import discord

from bot.app import CercleCore
from bot.domain.refs import ChannelRef
from bot.domain.seance import SeanceStatus
from bot.effects import Effect, StatusView
from bot.native_events import SeanceEvent

log = logging.getLogger(__name__)

PLATFORM = "discord"
# Commands after which a channel's events may have to change.
CHANGES_SEANCES = frozenset(
    (
        "seance",
        "seance.planifier",
        "seance.cycle",
        "seance.deplacer",
        "seance.annuler",
        "seance.nontenue",
        "seance.fin",
    )
)
WANTED = {
    SeanceStatus.PLANNED: discord.EventStatus.scheduled,
    SeanceStatus.OPEN: discord.EventStatus.active,
    SeanceStatus.CLOSED: discord.EventStatus.completed,
    SeanceStatus.CANCELLED: discord.EventStatus.cancelled,
}
Shown = tuple[discord.EventStatus, datetime, datetime, str]


class EventMirror:
    """Keeps each circle's Discord events in line with its séances."""

    def __init__(self, core: CercleCore, client: discord.Client) -> None:
        self.core = core
        self.client = client
        self._shown: dict[str, Shown] = {}  # event id -> what was last set on it
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._denied: set[int] = set()  # servers that refused (no Manage Events), logged once
        self._seances: dict[str, int] = {}  # event id -> its séance, as last read
        self._read_guilds: set[int] = set()  # servers whose channels were all read once

    def notice(self, command: str | None, effects: Iterable[Effect]) -> None:
        """Look at what a command or a wake-up did; refresh the channels whose séances
        changed (planned, moved, cancelled, opened, closed)."""
        channels: set[int] = set()
        for effect in effects:
            if effect.channel.platform != PLATFORM or not effect.channel.id.isdigit():
                continue
            opened = isinstance(effect, StatusView) and (effect.closed or not effect.message_id)
            if opened or command in CHANGES_SEANCES:
                channels.add(int(effect.channel.id))
        for channel_id in channels:
            self.refresh(channel_id)

    def refresh(self, channel_id: int) -> None:
        """Bring the channel's events in line soon; one run at a time per channel."""
        running = self._tasks.get(channel_id)
        if running is not None and not running.done():
            self._again.add(channel_id)
            return
        self._tasks[channel_id] = asyncio.create_task(
            self._run(channel_id), name=f"discord-events-{channel_id}"
        )

    async def seance_of(self, guild: discord.Guild, event_id: str) -> int | None:
        """The séance an event of `guild` mirrors, None for an event Cercle did not make. After
        a restart the server's channels are read once (from the database, no Discord request)."""
        if event_id not in self._seances and guild.id not in self._read_guilds:
            self._read_guilds.add(guild.id)
            for channel in guild.text_channels:
                for wanted in await self.core.seance_events(ChannelRef(PLATFORM, str(channel.id))):
                    if wanted.event_id is not None:
                        self._seances.setdefault(wanted.event_id, wanted.seance_id)
        return self._seances.get(event_id)

    async def idle(self) -> None:
        """Wait until no refresh is running (tests, and a clean stop)."""
        while running := [t for t in self._tasks.values() if not t.done()]:
            await asyncio.wait(running)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, channel_id: int) -> None:
        while True:
            self._again.discard(channel_id)
            try:
                await self._sync(channel_id)
            except Exception:
                log.exception("discord events of channel %s could not be updated", channel_id)
            if channel_id not in self._again:
                return

    async def _sync(self, channel_id: int) -> None:
        channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if not isinstance(guild, discord.Guild) or guild.id in self._denied:
            return
        for wanted in await self.core.seance_events(ChannelRef(PLATFORM, str(channel_id))):
            if wanted.event_id is not None:
                self._seances[wanted.event_id] = wanted.seance_id
            try:
                await self._one(guild, channel, wanted)
            except discord.Forbidden:
                self._denied.add(guild.id)
                log.warning(
                    "Discord refused to manage events in server %s: give Cercle the "
                    "Manage Events permission to list planned séances there",
                    guild.id,
                )
                return
            except discord.HTTPException as error:
                log.warning("a Discord event could not be updated (%s)", error.status)

    async def _one(self, guild: discord.Guild, channel: object, wanted: SeanceEvent) -> None:
        status = WANTED[wanted.status]
        goal: Shown = (status, wanted.start, wanted.end, wanted.title)
        if wanted.event_id is None:
            if wanted.status is SeanceStatus.PLANNED and wanted.start > self.core.clock.now():
                event = await self._create(guild, channel, wanted)
                self._shown[str(event.id)] = goal
                self._seances[str(event.id)] = wanted.seance_id
                await self.core.record_native_event(wanted.seance_id, str(event.id))
            return
        if self._shown.get(wanted.event_id) == goal:
            return
        try:
            event = await guild.fetch_scheduled_event(int(wanted.event_id))
        except discord.NotFound:  # deleted on Discord: made again while still planned
            await self.core.record_native_event(wanted.seance_id, None)
            self._shown.pop(wanted.event_id, None)
            return
        event = await self._move(event, wanted, status)
        self._shown[wanted.event_id] = (event.status, *goal[1:])

    @staticmethod
    async def _create(
        guild: discord.Guild, channel: object, wanted: SeanceEvent
    ) -> discord.ScheduledEvent:
        """In the circle's voice or Stage channel when it has one, else pointing to its channel."""
        voice = guild.get_channel(int(wanted.voice_channel)) if wanted.voice_channel else None
        if isinstance(voice, discord.StageChannel | discord.VoiceChannel):
            # discord.py takes the event's kind (Stage or voice) from the channel's type
            return await guild.create_scheduled_event(
                name=wanted.title,
                start_time=wanted.start,
                end_time=wanted.end,
                channel=voice,
                privacy_level=discord.PrivacyLevel.guild_only,
                description=wanted.description[:1000],
            )
        location = getattr(channel, "jump_url", None) or f"#{getattr(channel, 'name', '')}"
        return await guild.create_scheduled_event(
            name=wanted.title,
            start_time=wanted.start,
            end_time=wanted.end,
            entity_type=discord.EntityType.external,
            location=location[:100],
            privacy_level=discord.PrivacyLevel.guild_only,
            description=wanted.description[:1000],
        )

    @staticmethod
    async def _move(
        event: discord.ScheduledEvent, wanted: SeanceEvent, status: discord.EventStatus
    ) -> discord.ScheduledEvent:
        """Take the event where the séance is, by the steps Discord allows."""
        scheduled = discord.EventStatus.scheduled
        if event.status is scheduled and status is scheduled:
            if (event.start_time, event.end_time, event.name) != (
                wanted.start,
                wanted.end,
                wanted.title,
            ):
                event = await event.edit(
                    name=wanted.title, start_time=wanted.start, end_time=wanted.end
                )
        elif event.status is scheduled and status is discord.EventStatus.cancelled:
            event = await event.cancel()
        elif event.status is scheduled and status is not scheduled:
            event = await event.start()
        if event.status is discord.EventStatus.active and status is discord.EventStatus.completed:
            event = await event.end()
        return event
