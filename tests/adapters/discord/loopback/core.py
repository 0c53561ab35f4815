# ruff: noqa: ASYNC109 (the waits here take explicit timeouts on purpose: a test must never hang)
"""The loopback's state and its waits: what the gateway, REST and test-facing parts share.

`wait_for` re-checks a predicate each time the loopback records something (a REST call, a gateway
frame, a connection change): nothing sleeps for a fixed time and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from tests.adapters.discord.loopback.model import (
    API_VERSION,
    DEFAULT_TIMEOUT,
    DISCORD_EPOCH_MS,
    INTERACTION_DEADLINE,
    Attachment,
    Channel,
    GatewayConnection,
    GatewaySession,
    Guild,
    Interaction,
    Json,
    Message,
    RestCall,
    User,
)

T = TypeVar("T")


class LoopbackCore:
    """The loopback's configuration, model and records, its URLs, ids, lookups and waits."""

    def __init__(
        self,
        *,
        bot_name: str = "Cercle",
        privileged_intents: int = 0,
        interaction_deadline: float | None = INTERACTION_DEADLINE,
        compress: bool = True,
        recommended_shards: int | None = None,
        max_concurrency: int = 1,
    ) -> None:
        """`privileged_intents`: those "enabled in the developer portal" (others get close 4014).
        `interaction_deadline`: seconds after delivery within which the first callback must come
        (else 404 Unknown interaction, as on Discord); None to disable.
        `compress`: honour `compress=zlib-stream` in the gateway URL (else plain text frames).
        `recommended_shards`: the `shards` of `GET /gateway/bot` (default: one per 1000 guilds);
        `max_concurrency`: its `session_start_limit.max_concurrency`."""
        self._next_id = 0
        self.token = f"loopback.{secrets.token_urlsafe(24)}"
        self.application_id = self.snowflake()
        self.bot_user = User(self.snowflake(), bot_name, bot=True)
        self.app_owner = User(self.snowflake(), "app-owner")
        self.privileged_intents = privileged_intents
        self.interaction_deadline = interaction_deadline
        self.compress = compress
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency

        # model
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.dm_channels: dict[int, Channel] = {}  # by recipient user id
        self.commands: dict[int | None, dict[tuple[int, str], Json]] = {}  # guild id/None → ...
        self.interactions: list[Interaction] = []
        self._interaction_ids: dict[int, Interaction] = {}  # found in O(1) during a burst
        self._interaction_tokens: dict[str, Interaction] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}

        # records
        self.calls: list[RestCall] = []
        self.unknown_routes: list[str] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: list[GatewaySession] = []  # every IDENTIFY, in order, ended ones too

        # faults a test switches on
        # channels whose message creation answers 503, as during an outage of their backend
        self.unavailable_channels: set[int] = set()
        # the next RESUME replays from this sequence number, even events the client got already
        # (Discord delivers events at least once)
        self.replay_on_resume_from: int | None = None

        self.port = 0
        self._condition = asyncio.Condition()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._runner: web.AppRunner | None = None
        self._writers: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """For `discord.http.Route.BASE`."""
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        """For `DiscordWebSocket.DEFAULT_GATEWAY` (as a yarl.URL)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    def snowflake(self) -> int:
        """A new id, increasing, with the current time in it as Discord's are."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._next_id = max(now, self._next_id + 1)
        return self._next_id

    # -- lookups ---------------------------------------------------------------------------

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with `user` (made on first use)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = Channel(self.snowflake(), "", None, type=1, recipients=[user])
            self.dm_channels[user.id] = channel
        return channel

    def channel(self, channel_id: int) -> Channel:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        for channel in self.dm_channels.values():
            if channel.id == channel_id:
                return channel
        raise LookupError(f"no channel {channel_id}")

    def message(self, message_id: int) -> Message:
        try:
            return self.messages[message_id]
        except KeyError:
            raise LookupError(f"no message {message_id}") from None

    def registered_commands(self, guild: Guild | None = None) -> list[Json]:
        """What the bot registered, globally (guild=None) or for `guild`."""
        return list(self.commands.get(guild.id if guild else None, {}).values())

    def _add_interaction(self, interaction: Interaction) -> None:
        self.interactions.append(interaction)
        self._interaction_ids[interaction.id] = interaction
        self._interaction_tokens[interaction.token] = interaction

    def _interaction_by_id(self, interaction_id: int) -> Interaction | None:
        return self._interaction_ids.get(interaction_id)

    def _interaction_by_token(self, token: str) -> Interaction | None:
        return self._interaction_tokens.get(token)

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = DEFAULT_TIMEOUT,
        *,
        what: str | None = None,
    ) -> T:
        """Wait until `predicate()` is truthy, re-checked each time the loopback records a REST
        call, a gateway frame or a connection change; return its value. Raises TimeoutError
        (saying what was awaited, with the last REST calls) after `timeout` seconds.

        The predicate should look at the loopback's records (messages, callbacks, calls): state
        inside the client changes after the loopback's last notification, so wait for that with
        the client's own events (`client.wait_for(...)`) instead."""
        result: Any = None

        def check() -> bool:
            nonlocal result
            result = predicate()
            return bool(result)

        try:
            async with asyncio.timeout(timeout), self._condition:
                await self._condition.wait_for(check)
        except TimeoutError:
            recent = ", ".join(str(call) for call in self.calls[-8:]) or "none"
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what or 'a condition'}; "
                f"last REST calls: {recent}; unknown routes: {self.unknown_routes}"
            ) from None
        return result  # type: ignore[no-any-return]

    async def wait_message(
        self,
        channel: Channel,
        predicate: Callable[[Message], bool] = lambda message: True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """The first message still in `channel` that satisfies `predicate`."""
        return await self.wait_for(
            lambda: next((m for m in channel.posted if predicate(m)), None),
            timeout,
            what=f"a message in #{channel.name}",
        )

    def calls_to(self, route: str) -> list[RestCall]:
        """Recorded calls to a route, e.g. "POST /channels/{channel_id}/messages"."""
        return [call for call in self.calls if call.route == route]

    @property
    def failed_calls(self) -> list[RestCall]:
        return [call for call in self.calls if call.status >= 400]

    async def _notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()
