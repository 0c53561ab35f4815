# ruff: noqa: ASYNC109 (the waits here take explicit timeouts on purpose: a test must never hang)
"""The loopback's gateway: the websocket a bot connects to, its sessions and their dispatches.

- **gateway** (websocket): HELLO, IDENTIFY → READY + one GUILD_CREATE per guild, heartbeat ACKs,
  dispatches with increasing sequence numbers, RESUME → replay of the missed events + RESUMED,
  zlib-stream compression when the client asks for it (discord.py does by default), privileged
  intents refused with close code 4014 unless allowed;
- **shards**: any number of concurrent sessions. An IDENTIFY with `shard: [id, count]` gets
  READY, GUILD_CREATEs and dispatches only for the guilds of that shard
  (`(guild_id >> 22) % count == id`; DMs go to shard 0), one without `shard` gets everything.
  Each session has its own sequence numbers and RESUMEs on its own; a client closing its socket
  with 1000/1001 ends its session, as on Discord. Two sessions may claim the same shard (a
  misconfiguration Discord allows): both then get that shard's events. `GET /gateway/bot` says
  how many shards to run (`recommended_shards`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import zlib
from collections.abc import Callable

from aiohttp import WSMsgType, web

from tests.adapters.discord.loopback.core import LoopbackCore
from tests.adapters.discord.loopback.model import (
    API_VERSION,
    CLIENT_CLOSE_CODES,
    DEFAULT_TIMEOUT,
    HEARTBEAT_INTERVAL_MS,
    PRIVILEGED_INTENTS,
    Channel,
    GatewayConnection,
    GatewaySession,
    Guild,
    Intent,
    Json,
    Message,
    iso,
)


class Gateway(LoopbackCore):
    """The gateway side: connections, sessions (one per IDENTIFY), dispatches and RESUMEs."""

    # -- sessions --------------------------------------------------------------------------

    async def drop_connection(
        self, code: int = 4000, *, hold: bool = False, shard: int | None = None
    ) -> None:
        """Close the bot's gateway socket(s) with a resumable `code`, as when Discord drops them:
        every live session's, or with `shard` only those of that shard id.

        The client reconnects to `resume_gateway_url` and sends RESUME; events dispatched in the
        meantime are replayed. With `hold=True`, reconnections wait until `allow_reconnect()`, so
        a test can make things happen while the bot is surely offline."""
        sessions = self.live_sessions(shard)
        if not sessions:
            raise RuntimeError("no gateway connection to drop")
        if hold:
            self._gateway_open.clear()
        for session in sessions:
            connection, session.connection = session.connection, None
            assert connection is not None
            await connection.ws.close(code=code, message=b"loopback dropped the connection")

    def allow_reconnect(self) -> None:
        self._gateway_open.set()

    def live_sessions(self, shard: int | None = None) -> list[GatewaySession]:
        """The sessions on an open socket (identified or resumed); with `shard`, of that id."""
        return [
            session
            for session in self.sessions
            if session.live and (shard is None or session.shard_id == shard)
        ]

    def sessions_for(self, guild: Guild | int | None) -> list[GatewaySession]:
        """The sessions, live or waiting for a RESUME, that get `guild`'s events (None: DMs)."""
        guild_id = guild.id if isinstance(guild, Guild) else guild
        return [s for s in self.sessions if not s.ended and s.covers(guild_id)]

    @property
    def connected(self) -> bool:
        """Whether a gateway session is live (identified or resumed) on an open socket."""
        return bool(self.live_sessions())

    @property
    def resumes(self) -> int:
        return sum(1 for connection in self.connections if connection.kind == "resume")

    async def wait_connected(
        self, timeout: float = DEFAULT_TIMEOUT, *, shard: int | None = None
    ) -> None:
        """Until a session is live (with `shard`: one of that shard id)."""
        what = "a live gateway session" + (f" for shard {shard}" if shard is not None else "")
        await self.wait_for(lambda: self.live_sessions(shard), timeout, what=what)

    # -- gateway ---------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        await self._gateway_open.wait()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        query = dict(request.query)
        connection = GatewayConnection(request.path, query, ws)
        if self.compress and query.get("compress") == "zlib-stream":
            connection.compressor = zlib.compressobj()
        self.connections.append(connection)
        writer = asyncio.create_task(self._write(connection))
        self._writers.add(writer)
        writer.add_done_callback(self._writers.discard)
        self._send(connection, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(connection, json.loads(frame.data))
                await self._notify()
        finally:
            connection.closed = True
            connection.close_code = ws.close_code
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                if ws.close_code in CLIENT_CLOSE_CODES:
                    session.ended = True  # a clean close: Discord invalidates the session
            connection.queue.put_nowait(None)
            await self._notify()
        return ws

    async def _write(self, connection: GatewayConnection) -> None:
        """The one task that writes to a connection, so frames go out in order."""
        while (frame := await connection.queue.get()) is not None:
            text = json.dumps(frame, separators=(",", ":"))
            try:
                if connection.compressor is not None:
                    compressor = connection.compressor
                    chunk = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
                    await connection.ws.send_bytes(chunk)
                else:
                    await connection.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
            if frame.get("s") is not None:
                connection.sent.append(frame["s"])
            if frame.get("t") == "INTERACTION_CREATE":
                interaction = self._interaction_by_id(int(frame["d"]["id"]))
                if interaction is not None:
                    if interaction.delivered_at is None:
                        interaction.delivered_at = time.monotonic()
                    interaction.connections.append(connection)
                await self._notify()

    def _send(self, connection: GatewayConnection, frame: Json) -> None:
        connection.queue.put_nowait(frame)

    async def _on_frame(self, connection: GatewayConnection, frame: Json) -> None:
        connection.received.append(frame)
        op, data = frame.get("op"), frame.get("d")
        if op == 1:  # heartbeat
            self._send(connection, {"op": 11})
        elif op == 2:  # identify
            await self._identify(connection, data or {})
        elif op == 6:  # resume
            await self._resume(connection, data or {})
        elif op == 8:  # request guild members
            self._members_chunk(connection, data or {})
        elif op in (3, 4):  # presence / voice state updates: accepted, ignored
            pass
        else:
            await connection.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, connection: GatewayConnection, data: Json) -> None:
        if connection.session is not None:
            await connection.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None:
            valid = (
                isinstance(shard, list)
                and len(shard) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) for n in shard)
                and 0 <= shard[0] < shard[1]
            )
            if not valid:
                await connection.ws.close(code=4010, message=b"Invalid shard.")
                return
            shard = list(shard)
        connection.kind = "identify"
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self.sessions.append(session)
        self._attach(session, connection)
        guilds = [guild for guild in self.guilds.values() if session.covers(guild.id)]
        ready: Json = {
            "v": API_VERSION,
            "user": self.bot_user.payload() | {"verified": True, "mfa_enabled": False},
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url,
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["loopback"],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self._send_event(session, "READY", ready)
        for guild in guilds:
            self._send_event(session, "GUILD_CREATE", self._guild_create(guild, session))

    def _attach(self, session: GatewaySession, connection: GatewayConnection) -> None:
        connection.session = session
        session.connection = connection
        session.connections.append(connection)

    async def _resume(self, connection: GatewayConnection, data: Json) -> None:
        session = next((s for s in self.sessions if s.id == data.get("session_id")), None)
        if session is None or session.ended:
            self._send(connection, {"op": 9, "d": False})  # invalid session: identify again
            return
        if data.get("token") != self.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        previous = session.connection
        if previous is not None and previous is not connection:
            session.connection = None
            await previous.ws.close(code=4000)
        connection.kind = "resume"
        seen = int(data.get("seq") or 0)
        if self.replay_on_resume_from is not None:
            seen = min(seen, self.replay_on_resume_from - 1)
            self.replay_on_resume_from = None
        for frame in session.events:
            if frame["s"] > seen:
                connection.replayed.append(frame["s"])
                self._send(connection, frame)
        self._attach(session, connection)
        self._send_event(session, "RESUMED", {"_trace": ["loopback"]})

    def _members_chunk(self, connection: GatewayConnection, data: Json) -> None:
        """The answer to a REQUEST_GUILD_MEMBERS, on the session that asked, for its guilds."""
        session = connection.session
        guild = self.guilds.get(int(data.get("guild_id", 0)))
        if session is None or guild is None or not session.covers(guild.id):
            return
        wanted = {int(i) for i in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        members = [
            m
            for m in guild.members.values()
            if (m.id in wanted if wanted else m.user.username.lower().startswith(query))
        ]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": [member.payload() for member in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(i) for i in wanted - {m.id for m in members}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._send_event(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _dispatch(
        self,
        event: str,
        data: Json | Callable[[GatewaySession], Json],
        *,
        guild_id: int | None,
        intent: int | None = None,
    ) -> int | None:
        """Send a DISPATCH (op 0) about `guild_id` (None: a DM) to every session of its shard,
        or keep it for a RESUME's replay; `data` may be made per session.

        Returns the first sequence number (None if no session gets it)."""
        sent = self._fan_out(event, data, guild_id=guild_id, intent=intent)
        return sent[0][1] if sent else None

    def _fan_out(
        self,
        event: str,
        data: Json | Callable[[GatewaySession], Json],
        *,
        guild_id: int | None,
        intent: int | None = None,
    ) -> list[tuple[GatewaySession, int]]:
        sent = []
        for session in self.sessions_for(guild_id):
            if intent is not None and not session.intents & intent:
                continue
            payload = data(session) if callable(data) else data
            sent.append((session, self._send_event(session, event, payload)))
        return sent

    def _send_event(self, session: GatewaySession, event: str, data: Json) -> int:
        """One DISPATCH on one session: sent now if it is live, replayed on RESUME otherwise."""
        session.sequence += 1
        frame = {"op": 0, "t": event, "s": session.sequence, "d": data}
        session.events.append(frame)
        if session.connection is not None:
            self._send(session.connection, frame)
        return session.sequence

    @staticmethod
    def _guild_id(channel: Channel) -> int | None:
        return channel.guild.id if channel.guild is not None else None

    def _guild_create(self, guild: Guild, session: GatewaySession) -> Json:
        intents = session.intents
        everyone = list(guild.members.values())
        # Without the presences intent Discord only sends the bot itself (and voice members).
        members = everyone if intents & Intent.GUILD_PRESENCES else [guild.bot_member]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": guild.locale,
            "features": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "max_members": 500_000,
            "application_id": None,
            "joined_at": iso(guild.bot_member.joined_at),
            "large": len(everyone) >= 250,
            "unavailable": False,
            "lazy": True,
            "member_count": len(everyone),
            "roles": [role.payload() for role in guild.roles.values()],
            "channels": [
                {k: v for k, v in c.payload().items() if k != "guild_id"}
                for c in guild.channels.values()
            ],
            "members": [member.payload() for member in members],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "incidents_data": None,
        }

    def _message_intent(self, channel: Channel) -> int:
        return int(Intent.DIRECT_MESSAGES if channel.guild is None else Intent.GUILD_MESSAGES)

    def _message_event(self, message: Message) -> Json:
        data = message.payload()
        guild = message.channel.guild
        if guild is not None and message.webhook_id is None and message.author.id in guild.members:
            data["member"] = guild.members[message.author.id].payload(with_user=False)
        return data

    def _message_dispatch(self, event: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE for a message everyone sees (ephemeral ones send none)."""
        if not message.ephemeral:
            self._dispatch(
                event,
                self._message_event(message),
                guild_id=self._guild_id(message.channel),
                intent=self._message_intent(message.channel),
            )
