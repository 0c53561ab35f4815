"""Discord's "Interested" on a séance's event, as an RSVP (the rules are in bot/interest.py).

Discord sends GUILD_SCHEDULED_EVENT_USER_ADD and _REMOVE (the guild_scheduled_events intent, one
of the default intents). discord.py turns them into `on_scheduled_event_user_add` only for a user
and an event it holds in its cache, which a bot without the privileged members intent mostly
does not: the click of a member who never used the bot would be lost. So the adapter reads these
two dispatches as they arrive (`on_socket_raw_receive`, which needs the client's
`enable_debug_events`), with a plain text test before any JSON parsing, so the other frames cost
next to nothing.

Each change is handled once: its id is the gateway session and sequence number that carried it,
so the same dispatch replayed by a RESUME is recognised by the core, while the same click made
again later is a new change. The session of each shard is read from its READY.

A mark that changes an answer comes back with the RSVP message rebuilt (bot/interest.py); the
adapter delivers it like any effect the core sends outside an interaction (`deliver`).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from adapters.discord.events import EventMirror
from bot.app import CercleCore
from bot.domain.refs import UserRef
from bot.effects import Effect
from bot.interest import InterestEvent
from bot.partition import shard_of

log = logging.getLogger(__name__)

PLATFORM = "discord"
ADDED, REMOVED = "GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE"
_WANTED = ("GUILD_SCHEDULED_EVENT_USER_", '"READY"')


class InterestListener:
    """Hands marks of interest on Cercle's events to the core."""

    def __init__(
        self,
        core: CercleCore,
        client: discord.Client,
        events: EventMirror,
        deliver: Callable[[list[Effect]], Awaitable[None]],
    ) -> None:
        self.core = core
        self.client = client
        self.events = events
        self.deliver = deliver  # the adapter's: effects sent outside an interaction
        self.results: Counter[str] = Counter()  # what the marks did, for tests and metrics
        self._sessions: dict[int, str] = {}  # shard id -> its gateway session

    async def on_socket_raw_receive(self, message: Any) -> None:
        if not isinstance(message, str) or not any(w in message for w in _WANTED):
            return
        frame = json.loads(message)
        kind, data = frame.get("t"), frame.get("d") or {}
        if kind == "READY":
            shard = data.get("shard") or [0, 1]
            self._sessions[int(shard[0])] = str(data.get("session_id"))
        elif kind in (ADDED, REMOVED):
            try:
                await self._mark(data, frame.get("s"), interested=kind == ADDED)
            except Exception:
                log.exception("a mark of interest on a Discord event could not be recorded")

    async def _mark(self, data: dict[str, Any], sequence: object, *, interested: bool) -> None:
        guild = self.client.get_guild(int(data["guild_id"]))
        if guild is None:
            return
        event_id = str(data["guild_scheduled_event_id"])
        seance_id = await self.events.seance_of(guild, event_id)
        if seance_id is None:
            self.results["not_ours"] += 1
            return
        shard = shard_of(guild.id, self.client.shard_count or 1)
        session = self._sessions.get(shard, "-")
        change = InterestEvent(
            seance_id,
            event_id,
            UserRef(PLATFORM, str(data["user_id"])),
            interested,
            f"{PLATFORM}:interest:{session}:{sequence}",
        )
        outcome = await self.core.native_interest(change)
        self.results[outcome.result.value] += 1
        await self.deliver(outcome.effects)
