# ruff: noqa: ASYNC109 (the waits here take explicit timeouts on purpose: a test must never hang)
"""A loopback Discord: a small fake of Discord's API v10 on 127.0.0.1, for the real discord.py.

Tests run the unmodified discord.py client against it: point `discord.http.Route.BASE` at
`LoopbackDiscord.api_base` and `DiscordWebSocket.DEFAULT_GATEWAY` at `.gateway_url` (the
`discord_client_factory` fixture does both). The loopback then plays Discord:

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
  how many shards to run (`recommended_shards`);
- **REST**: the routes a slash-command bot uses (gateway info, users, application, command sync,
  interaction callbacks, follow-ups, webhook and channel messages, files) with Discord's answers
  and errors. Any other route answers 404 and is listed in `unknown_routes`;
- **model**: guilds → roles, channels (with permission overwrites), members; messages per channel
  with every version they had; registered commands; interactions with the callbacks and
  follow-ups they got. Permissions are computed as Discord does (owner, administrator, roles,
  @everyone/role/member overwrites).

Tests act as users with `send_slash` and `click`, which build the INTERACTION_CREATE that Discord
would send (from the command the bot registered, so option types and ids are real) to the
session(s) of the guild's shard (`Interaction.sessions`, `.connections`), and wait with
`wait_for`, which re-checks a predicate each time the loopback records something. Nothing sleeps
for a fixed time and every wait has a timeout.

Sections: constants · model · the LoopbackDiscord class (lifecycle, building the world, acting as
users, waiting, gateway, REST) · payload validation helpers.
"""

from __future__ import annotations

import asyncio
import enum
import json
import re
import secrets
import socket
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

T = TypeVar("T")
Json = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000
HEARTBEAT_INTERVAL_MS = 41_250
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
INTERACTION_DEADLINE = 3.0  # seconds Discord gives a bot to answer an interaction
DEFAULT_TIMEOUT = 5.0
SHARD_SHIFT = 22  # a guild is on shard (guild id >> 22) % shard count
GUILDS_PER_SHARD = 1000  # Discord recommends about one shard per 1000 guilds
SESSION_START_LIMIT = 1000  # IDENTIFYs a bot may make per day
SESSION_START_RESET_MS = 24 * 60 * 60 * 1000
CLIENT_CLOSE_CODES = (1000, 1001)  # a client closing with these ends its session (no RESUME)


class Permission(enum.IntFlag):
    """Discord permission bits (the ones a chat bot meets)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_PERMISSIONS = int(
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
)
DM_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.USE_APPLICATION_COMMANDS
)


class Intent(enum.IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1  # privileged
    GUILD_PRESENCES = 1 << 8  # privileged
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15  # privileged


PRIVILEGED_INTENTS = int(Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT)


class InteractionType(enum.IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(enum.IntEnum):
    PONG = 1
    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8
    MODAL = 9


class MessageFlag(enum.IntFlag):
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


EPHEMERAL = int(MessageFlag.EPHEMERAL)
LOADING = int(MessageFlag.LOADING)
SETTABLE_FLAGS = int(
    MessageFlag.SUPPRESS_EMBEDS
    | MessageFlag.EPHEMERAL
    | MessageFlag.SUPPRESS_NOTIFICATIONS
    | MessageFlag.IS_COMPONENTS_V2
)

# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11
SELECT_TYPES = {3, 5, 6, 7, 8}  # string, user, role, mentionable, channel selects


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _now() -> datetime:
    return datetime.now(UTC)


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard that receives a guild's events; DMs (no guild) go to shard 0."""
    return 0 if guild_id is None else (guild_id >> SHARD_SHIFT) % shard_count


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False)
class Role:
    id: int
    guild: Guild = field(repr=False)
    name: str
    permissions: int = 0
    position: int = 0
    bot_id: int | None = None  # set on a bot's managed role

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.bot_id is not None,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False)
class Member:
    user: User
    guild: Guild = field(repr=False)
    roles: list[Role] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=_now)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return self.user.mention

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> Json:
        data: Json = {
            "roles": [str(role.id) for role in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": _iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "avatar_decoration_data": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class Overwrite:
    target_id: int
    type: int  # 0 = role, 1 = member
    allow: int = 0
    deny: int = 0

    def payload(self) -> Json:
        return {
            "id": str(self.target_id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(eq=False)
class Channel:
    id: int
    name: str
    guild: Guild | None = field(repr=False)  # None for a DM
    type: int = 0  # 0 text, 1 DM, 2 voice, 4 category, 5 announcement
    position: int = 0
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipients: list[User] = field(default_factory=list)  # DM only
    messages: list[Message] = field(default_factory=list, repr=False)  # all, in order

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def posted(self) -> list[Message]:
        """Messages still there (not deleted), oldest first, ephemeral ones included."""
        return [message for message in self.messages if not message.deleted]

    @property
    def last_message(self) -> Message | None:
        posted = self.posted
        return posted[-1] if posted else None

    def payload(self, *, permissions: int | None = None) -> Json:
        visible = [m for m in self.messages if not m.deleted and not m.ephemeral]
        data: Json = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": str(visible[-1].id) if visible else None,
            "flags": 0,
        }
        if self.type == 1:
            data["recipients"] = [user.payload() for user in self.recipients]
        else:
            data.update(
                name=self.name,
                position=self.position,
                permission_overwrites=[o.payload() for o in self.overwrites.values()],
                parent_id=None,
                topic=self.topic,
                nsfw=False,
                rate_limit_per_user=0,
            )
            if self.guild is not None:
                data["guild_id"] = str(self.guild.id)
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(eq=False)
class Guild:
    id: int
    name: str
    locale: str = "en-US"
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    owner_id: int = 0
    bot_id: int = 0

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    @property
    def owner(self) -> Member:
        return self.members[self.owner_id]

    @property
    def bot_member(self) -> Member:
        return self.members[self.bot_id]

    def channel(self, name: str) -> Channel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise LookupError(f"no channel #{name} in {self.name}")

    def role(self, name: str) -> Role:
        for role in self.roles.values():
            if role.name == name:
                return role
        raise LookupError(f"no role {name!r} in {self.name}")

    def member(self, who: User | int | str) -> Member:
        for member in self.members.values():
            if who in (member.user, member.user.id, member.user.username):
                return member
        raise LookupError(f"{who!r} is not a member of {self.name}")

    def base_permissions(self, member: Member) -> int:
        """Guild-level permissions: owner, then @everyone and roles, administrator = all."""
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        permissions = self.everyone.permissions
        for role in member.roles:
            permissions |= role.permissions
        if permissions & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return permissions

    def permissions_in(self, channel: Channel, member: Member) -> int:
        """Channel permissions, as Discord computes them from the overwrites."""
        permissions = self.base_permissions(member)
        if permissions == ALL_PERMISSIONS:
            return ALL_PERMISSIONS
        everyone = channel.overwrites.get(self.id)
        if everyone is not None:
            permissions = (permissions & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role in member.roles:
            overwrite = channel.overwrites.get(role.id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        permissions = (permissions & ~deny) | allow
        own = channel.overwrites.get(member.id)
        if own is not None and own.type == 1:
            permissions = (permissions & ~own.deny) | own.allow
        if not permissions & Permission.VIEW_CHANNEL:
            return 0
        return permissions


@dataclass(eq=False)
class Attachment:
    id: int
    filename: str
    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"
    description: str | None = None
    url: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        return data


@dataclass(frozen=True)
class MessageVersion:
    """One state a message had (as posted, then after each edit)."""

    content: str
    embeds: list[Json]
    components: list[Json]
    attachments: list[Attachment]
    flags: int
    at: datetime


@dataclass(eq=False)
class Message:
    id: int
    channel: Channel = field(repr=False)
    author: User
    content: str = ""
    embeds: list[Json] = field(default_factory=list)
    components: list[Json] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    webhook_id: int | None = None  # the application id for interaction messages
    interaction: Interaction | None = field(default=None, repr=False)  # what it answers
    allowed_mentions: Json | None = None
    mentions: list[User] = field(default_factory=list)
    reference_id: int | None = None
    created_at: datetime = field(default_factory=_now)
    edited_at: datetime | None = None
    deleted: bool = False
    versions: list[MessageVersion] = field(default_factory=list, repr=False)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred ("thinking…") answer not yet filled in."""
        return bool(self.flags & LOADING)

    @property
    def edits(self) -> list[MessageVersion]:
        """The versions after the first one: one per edit."""
        return self.versions[1:]

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in _walk_components(self.components) if "custom_id" in c]

    def component(self, custom_id: str) -> Json | None:
        for component in _walk_components(self.components):
            if component.get("custom_id") == custom_id:
                return component
        return None

    def snapshot(self) -> None:
        self.versions.append(
            MessageVersion(
                self.content,
                json.loads(json.dumps(self.embeds)),
                json.loads(json.dumps(self.components)),
                list(self.attachments),
                self.flags,
                self.edited_at or self.created_at,
            )
        )

    def payload(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": _iso(self.created_at),
            "edited_timestamp": _iso(self.edited_at),
            "tts": False,
            "mention_everyone": False,
            "mentions": [user.payload() for user in self.mentions],
            "mention_roles": [],
            "attachments": [attachment.payload() for attachment in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
            data["application_id"] = str(self.webhook_id)
        if self.interaction is not None:
            interaction = self.interaction
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
            if interaction.type == InteractionType.APPLICATION_COMMAND:
                data["interaction_metadata"]["name"] = interaction.command_name
                data["interaction"] = {
                    "id": str(interaction.id),
                    "type": interaction.type,
                    "name": interaction.command_name,
                    "user": interaction.user.payload(),
                }
        if self.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": str(self.reference_id),
                "channel_id": str(self.channel.id),
            }
        if self.channel.guild is not None:
            data["guild_id"] = str(self.channel.guild.id)
        return data


@dataclass
class Callback:
    """One interaction callback the bot sent (POST /interactions/{id}/{token}/callback)."""

    type: int
    data: Json
    attachments: list[Attachment]
    at: float

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def content(self) -> str | None:
        return self.data.get("content")


@dataclass(eq=False)
class Interaction:
    """An interaction a test started, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user: User
    member: Member | None = field(repr=False)
    channel: Channel = field(repr=False)
    data: Json
    loopback: LoopbackDiscord = field(repr=False)
    message: Message | None = field(default=None, repr=False)  # whose component was used
    payload: Json = field(default_factory=dict, repr=False)  # the INTERACTION_CREATE `d`
    sequence: int = 0  # the gateway `s` that carried it
    callbacks: list[Callback] = field(default_factory=list)
    response: Message | None = None  # what `@original` points at
    followups: list[Message] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    delivered_at: float | None = None
    late_callbacks: int = 0  # callbacks refused because they came after the deadline
    sessions: list[GatewaySession] = field(default_factory=list, repr=False)  # dispatched to
    connections: list[GatewayConnection] = field(default_factory=list, repr=False)  # written on

    @property
    def command_name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def callback(self) -> Callback | None:
        return self.callbacks[0] if self.callbacks else None

    @property
    def ephemeral(self) -> bool:
        return self.callback is not None and self.callback.ephemeral

    async def wait_callback(self, timeout: float = DEFAULT_TIMEOUT) -> Callback:
        """The bot's first callback to this interaction."""
        return await self.loopback.wait_for(
            lambda: self.callback, timeout, what=f"a callback to interaction {self.describe()}"
        )

    async def wait_response(self, timeout: float = DEFAULT_TIMEOUT) -> Message:
        """The `@original` message, once it is no longer a "thinking…" placeholder."""
        return await self.loopback.wait_for(
            lambda: self.response if self.response and not self.response.loading else None,
            timeout,
            what=f"a response message to interaction {self.describe()}",
        )

    async def wait_followups(
        self, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Message]:
        return await self.loopback.wait_for(
            lambda: list(self.followups) if len(self.followups) >= count else None,
            timeout,
            what=f"{count} follow-up(s) to interaction {self.describe()}",
        )

    def describe(self) -> str:
        if self.type == InteractionType.MESSAGE_COMPONENT:
            return f"click {self.data.get('custom_id')!r} by {self.user.username}"
        return f"/{self.command_name} by {self.user.username}"


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RestCall:
    """One REST request the bot made, and the loopback's answer."""

    method: str
    path: str  # after /api/v10
    route: str | None  # e.g. "POST /channels/{channel_id}/messages"; None for an unknown route
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    status: int
    response: Any
    at: float

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"


@dataclass(eq=False)
class GatewayConnection:
    """One websocket connection the client opened, and what happened on it."""

    path: str
    query: dict[str, str]
    ws: web.WebSocketResponse = field(repr=False)
    kind: str | None = None  # "identify" or "resume" once the client said which
    replayed: list[int] = field(default_factory=list)  # sequence numbers replayed on RESUME
    received: list[Json] = field(default_factory=list)  # frames the client sent
    sent: list[int] = field(default_factory=list)  # sequence numbers delivered
    close_code: int | None = None
    closed: bool = False
    queue: asyncio.Queue[Json | None] = field(default_factory=asyncio.Queue, repr=False)
    compressor: Any = field(default=None, repr=False)
    session: GatewaySession | None = field(default=None, repr=False)  # identified or resumed

    @property
    def shard(self) -> list[int] | None:
        return self.session.shard if self.session is not None else None


@dataclass(eq=False)
class GatewaySession:
    """One gateway session (an IDENTIFY), across the connections that RESUMEd it."""

    id: str
    intents: int
    shard: list[int] | None  # [shard id, shard count]; None: every guild
    sequence: int = 0
    events: list[Json] = field(default_factory=list, repr=False)  # every dispatch, for RESUMEs
    connection: GatewayConnection | None = field(default=None, repr=False)  # the live one
    connections: list[GatewayConnection] = field(default_factory=list, repr=False)
    ended: bool = False  # the client closed it (1000/1001): it can no longer be resumed

    @property
    def live(self) -> bool:
        return not self.ended and self.connection is not None

    @property
    def shard_id(self) -> int | None:
        return self.shard[0] if self.shard is not None else None

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session gets the events of `guild_id` (None: DMs)."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return shard_of(guild_id, shard_count) == shard_id

    def dispatched(self, event: str) -> list[Json]:
        """The `d` of every `event` dispatched to this session, in order."""
        return [frame["d"] for frame in self.events if frame["t"] == event]


class ApiError(Exception):
    """An error answer, as Discord shapes them: {"message", "code"[, "errors"]}."""

    def __init__(self, status: int, code: int, message: str, errors: Json | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: Json = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


@dataclass
class _Route:
    method: str
    pattern: str
    handler: Callable[[_Request], Awaitable[tuple[int, Any]]]
    auth: bool = True
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern) + "$")


@dataclass
class _Request:
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[UploadedFile]

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(404, 0, "404: Not Found") from None


# ---------------------------------------------------------------------------------------------
# The loopback
# ---------------------------------------------------------------------------------------------


class LoopbackDiscord:
    """Discord's API v10 on 127.0.0.1: a gateway websocket, REST routes and a model to assert on.

    Build the world (`add_guild`, `add_member`, ...) before or after the bot connects; act as a
    user with `send_slash` and `click`; wait with `wait_for` (or the `Interaction.wait_*`
    helpers); assert on `guild.channels[...].messages`, `interactions`, `calls`, `commands`,
    `unknown_routes`, `connections` and `sessions` (one per IDENTIFY, with its shard).
    """

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
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}

        # records
        self.calls: list[RestCall] = []
        self.unknown_routes: list[str] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: list[GatewaySession] = []  # every IDENTIFY, in order, ended ones too

        self.port = 0
        self._condition = asyncio.Condition()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._runner: web.AppRunner | None = None
        self._writers: set[asyncio.Task[None]] = set()
        self._routes = self._rest_routes()

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

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/resume", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self._gateway_open.set()
        for connection in self.connections:
            if not connection.closed:
                await connection.ws.close(code=1001)
        for writer in list(self._writers):
            writer.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def snowflake(self) -> int:
        """A new id, increasing, with the current time in it as Discord's are."""
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._next_id = max(now, self._next_id + 1)
        return self._next_id

    # -- building the world ----------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        user_id: int | None = None,
        global_name: str | None = None,
        locale: str = "en-US",
        bot: bool = False,
    ) -> User:
        user = User(user_id or self.snowflake(), username, global_name, bot=bot, locale=locale)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Loopback",
        *,
        channels: Sequence[str] = ("general",),
        guild_id: int | None = None,
        locale: str = "en-US",
        everyone_permissions: int = EVERYONE_PERMISSIONS,
        bot_permissions: int = 0,
    ) -> Guild:
        """A guild with @everyone, an owner (a member named "owner"), the bot (a member with its
        managed role, holding `bot_permissions` on top of @everyone's) and text `channels`."""
        guild = Guild(guild_id or self.snowflake(), name, locale)
        guild.roles[guild.id] = Role(guild.id, guild, "@everyone", everyone_permissions)
        owner = self.add_user("owner")
        guild.owner_id = owner.id
        guild.members[owner.id] = Member(owner, guild)
        bot_role = Role(self.snowflake(), guild, self.bot_user.username, bot_permissions, 1)
        bot_role.bot_id = self.bot_user.id
        guild.roles[bot_role.id] = bot_role
        guild.bot_id = self.bot_user.id
        guild.members[self.bot_user.id] = Member(self.bot_user, guild, [bot_role])
        for channel_name in channels:
            self._new_channel(guild, channel_name, 0)
        self.guilds[guild.id] = guild
        self._dispatch(
            "GUILD_CREATE",
            lambda session: self._guild_create(guild, session),
            guild_id=guild.id,
            intent=Intent.GUILDS,
        )
        return guild

    def add_channel(
        self, guild: Guild, name: str, *, type: int = 0, topic: str | None = None
    ) -> Channel:
        channel = self._new_channel(guild, name, type, topic)
        self._dispatch("CHANNEL_CREATE", channel.payload(), guild_id=guild.id, intent=Intent.GUILDS)
        return channel

    def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        role = Role(self.snowflake(), guild, name, int(permissions), len(guild.roles))
        guild.roles[role.id] = role
        self._dispatch(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild.id), "role": role.payload()},
            guild_id=guild.id,
            intent=Intent.GUILDS,
        )
        return role

    def add_member(
        self,
        guild: Guild,
        user: User | str,
        *,
        roles: Sequence[Role] = (),
        permissions: int = 0,
        nick: str | None = None,
        locale: str = "en-US",
    ) -> Member:
        """Add `user` (a User, or a username for a new one) to `guild`. `permissions`, when
        given, come from a role of their own named "<username> permissions"."""
        if isinstance(user, str):
            user = self.add_user(user, locale=locale)
        member_roles = list(roles)
        if permissions:
            member_roles.append(self.add_role(guild, f"{user.username} permissions", permissions))
        member = Member(user, guild, member_roles, nick)
        guild.members[user.id] = member
        data = member.payload() | {"guild_id": str(guild.id)}
        self._dispatch("GUILD_MEMBER_ADD", data, guild_id=guild.id, intent=Intent.GUILD_MEMBERS)
        return member

    def set_permissions(
        self, channel: Channel, target: Role | Member | User, *, allow: int = 0, deny: int = 0
    ) -> None:
        """A permission overwrite on `channel` for a role or a member (both 0 removes it)."""
        kind = 0 if isinstance(target, Role) else 1
        if allow or deny:
            channel.overwrites[target.id] = Overwrite(target.id, kind, int(allow), int(deny))
        else:
            channel.overwrites.pop(target.id, None)
        guild_id = channel.guild.id if channel.guild is not None else None
        self._dispatch("CHANNEL_UPDATE", channel.payload(), guild_id=guild_id, intent=Intent.GUILDS)

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

    def post_message(self, user: User | Member, channel: Channel, content: str) -> Message:
        """A user posts a plain message (the bot gets MESSAGE_CREATE, with the content only if it
        has the message content intent, is mentioned, or it is a DM, as on Discord)."""
        user = user.user if isinstance(user, Member) else user
        message = self._new_message(channel, user, content=content)

        def event(session: GatewaySession) -> Json:
            data = self._message_event(message)
            readable = (
                session.intents & Intent.MESSAGE_CONTENT
                or channel.guild is None
                or self.bot_user in message.mentions
            )
            if not readable:
                data.update(content="", embeds=[], attachments=[], components=[])
            return data

        self._dispatch(
            "MESSAGE_CREATE",
            event,
            guild_id=self._guild_id(channel),
            intent=self._message_intent(channel),
        )
        return message

    def _new_channel(self, guild: Guild, name: str, type: int, topic: str | None = None) -> Channel:
        channel = Channel(self.snowflake(), name, guild, type, len(guild.channels), topic)
        guild.channels[channel.id] = channel
        return channel

    # -- acting as users -------------------------------------------------------------------

    async def send_slash(
        self,
        user: User | Member,
        channel: Channel,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        locale: str | None = None,
    ) -> Interaction:
        """`user` runs `/command` in `channel`, as Discord's client would send it.

        `command` is the path as typed: "echo", or "circle settings rename" for a subcommand in
        a group. `options` maps option names to values: str/int/float/bool, or for user, role,
        channel and mentionable options a User/Member/Role/Channel (or its id), for attachment
        options an Attachment or a (filename, bytes) pair. The command must be registered (guild
        commands of the channel's guild first, then global ones) and the option names, types,
        choices and required ones must match it: a mismatch raises here, as Discord's UI would not
        let it through. Raises PermissionError if the user may not use the command there."""
        user_obj, member = self._who(user, channel)
        root, *path = command.split()
        registered = self._find_command(channel, root, 1)
        self._check_command_access(registered, member, channel)
        data: Json = {"id": registered["id"], "name": root, "type": 1}
        if "guild_id" in registered:
            data["guild_id"] = registered["guild_id"]
        resolved: Json = {}
        definitions: list[Json] = registered.get("options") or []
        container = data
        for name in path:
            definition = next(
                (o for o in definitions if o["name"] == name and o["type"] in (1, 2)), None
            )
            if definition is None:
                raise LookupError(f"/{command}: no subcommand {name!r} under {container['name']!r}")
            child: Json = {"name": name, "type": definition["type"], "options": []}
            container.setdefault("options", []).append(child)
            container = child
            definitions = definition.get("options") or []
        if any(o["type"] in (1, 2) for o in definitions):
            names = [o["name"] for o in definitions]
            raise LookupError(f"/{command} needs a subcommand: one of {names}")
        built = self._build_options(definitions, options or {}, resolved, channel, member)
        if built or container is not data:
            container["options"] = built
        if resolved:
            data["resolved"] = resolved
        return self._create_interaction(
            InteractionType.APPLICATION_COMMAND, user_obj, member, channel, data, locale=locale
        )

    async def click(
        self,
        user: User | Member,
        message_id: int | Message,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
        locale: str | None = None,
    ) -> Interaction:
        """`user` clicks the button (or picks `values` in the select) `custom_id` on a message."""
        message = message_id if isinstance(message_id, Message) else self.message(message_id)
        if message.deleted:
            raise LookupError(f"message {message.id} was deleted")
        user_obj, member = self._who(user, message.channel)
        if (
            message.ephemeral
            and message.interaction is not None
            and message.interaction.user.id != user_obj.id
        ):
            raise PermissionError(f"{user_obj.username} cannot see ephemeral message {message.id}")
        component = message.component(custom_id)
        if component is None:
            raise LookupError(
                f"no component {custom_id!r} on message {message.id}: {message.custom_ids()}"
            )
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: Json = {"custom_id": custom_id, "component_type": component["type"]}
        if "id" in component:
            data["id"] = component["id"]
        if component["type"] in SELECT_TYPES:
            picked = list(values or [])
            _check_select(component, picked)
            data["values"] = picked
        elif values is not None:
            raise ValueError(f"component {custom_id!r} is not a select")
        return self._create_interaction(
            InteractionType.MESSAGE_COMPONENT,
            user_obj,
            member,
            message.channel,
            data,
            message=message,
            locale=locale,
        )

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

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], T],
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

    async def wait_connected(
        self, timeout: float = DEFAULT_TIMEOUT, *, shard: int | None = None
    ) -> None:
        """Until a session is live (with `shard`: one of that shard id)."""
        what = "a live gateway session" + (f" for shard {shard}" if shard is not None else "")
        await self.wait_for(lambda: self.live_sessions(shard), timeout, what=what)

    def calls_to(self, route: str) -> list[RestCall]:
        """Recorded calls to a route, e.g. "POST /channels/{channel_id}/messages"."""
        return [call for call in self.calls if call.route == route]

    @property
    def failed_calls(self) -> list[RestCall]:
        return [call for call in self.calls if call.status >= 400]

    async def _notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()

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
            "joined_at": _iso(guild.bot_member.joined_at),
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

    # -- interactions (building what Discord sends) ----------------------------------------

    def _who(self, user: User | Member, channel: Channel) -> tuple[User, Member | None]:
        if isinstance(user, Member):
            user = user.user
        if channel.guild is None:
            if user not in channel.recipients:
                raise PermissionError(f"{user.username} is not in DM channel {channel.id}")
            return user, None
        member = channel.guild.members.get(user.id)
        if member is None:
            raise PermissionError(f"{user.username} is not a member of {channel.guild.name}")
        if not channel.guild.permissions_in(channel, member) & Permission.VIEW_CHANNEL:
            raise PermissionError(f"{user.username} cannot see #{channel.name}")
        return user, member

    def _permissions(self, channel: Channel, member: Member | None) -> int:
        if channel.guild is None or member is None:
            return DM_PERMISSIONS
        return channel.guild.permissions_in(channel, member)

    def _find_command(self, channel: Channel, name: str, type: int) -> Json:
        guild = channel.guild
        scopes: list[int | None] = [guild.id, None] if guild is not None else [None]
        for scope in scopes:
            command = self.commands.get(scope, {}).get((type, name))
            if command is None:
                continue
            if scope is None and not _usable_in(command, 0 if guild else 1):
                continue
            return command
        where = f"in {guild.name}" if guild else "in DMs"
        raise LookupError(f"no command /{name} registered {where}")

    def _check_command_access(self, command: Json, member: Member | None, channel: Channel) -> None:
        if member is None or channel.guild is None:
            return
        permissions = self._permissions(channel, member)
        if not permissions & Permission.USE_APPLICATION_COMMANDS:
            raise PermissionError(f"{member.user.username} may not use commands in #{channel.name}")
        required = command.get("default_member_permissions")
        if required is None:
            return
        base = channel.guild.base_permissions(member)
        if base & Permission.ADMINISTRATOR:
            return
        if int(required) == 0 or base & int(required) != int(required):
            raise PermissionError(
                f"/{command['name']} needs permissions {required}; "
                f"{member.user.username} has {base}"
            )

    def _build_options(
        self,
        definitions: list[Json],
        values: Mapping[str, Any],
        resolved: Json,
        channel: Channel,
        member: Member | None,
    ) -> list[Json]:
        by_name = {definition["name"]: definition for definition in definitions}
        built = []
        for name, value in values.items():
            if name not in by_name:
                raise ValueError(f"no option {name!r}; options are {list(by_name)}")
            if value is None:
                continue
            definition = by_name[name]
            wire = self._option_value(definition, value, resolved, channel, member)
            built.append({"name": name, "type": definition["type"], "value": wire})
        given = {option["name"] for option in built}
        missing = [d["name"] for d in definitions if d.get("required") and d["name"] not in given]
        if missing:
            raise ValueError(f"missing required option(s) {missing}")
        return built

    def _option_value(
        self, definition: Json, value: Any, resolved: Json, channel: Channel, member: Member | None
    ) -> Any:
        kind, name = definition["type"], definition["name"]
        if kind == STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name!r} takes a string, not {value!r}")
            low, high = definition.get("min_length", 0), definition.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise ValueError(f"option {name!r}: length must be within {low}..{high}")
        elif kind == INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name!r} takes an integer, not {value!r}")
        elif kind == NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"option {name!r} takes a number, not {value!r}")
        elif kind == BOOLEAN and not isinstance(value, bool):
            raise TypeError(f"option {name!r} takes a boolean, not {value!r}")
        if kind in (INTEGER, NUMBER):
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"option {name!r}: {value} is outside {low}..{high}")
        if kind in (STRING, INTEGER, NUMBER, BOOLEAN):
            choices = definition.get("choices")
            if choices and value not in [choice["value"] for choice in choices]:
                raise ValueError(f"option {name!r}: {value!r} is not one of the choices")
            return value
        if kind == ATTACHMENT:
            if isinstance(value, tuple):
                value = self._new_attachment(channel, str(value[0]), bytes(value[1]))
            if not isinstance(value, Attachment):
                raise TypeError(f"option {name!r} takes an Attachment or (filename, bytes)")
            resolved.setdefault("attachments", {})[str(value.id)] = value.payload()
            return str(value.id)
        target = self._resolve_target(value)
        if kind == USER and not isinstance(target, User):
            raise TypeError(f"option {name!r} takes a user, not {value!r}")
        if kind == ROLE and not isinstance(target, Role):
            raise TypeError(f"option {name!r} takes a role, not {value!r}")
        if kind == MENTIONABLE and not isinstance(target, User | Role):
            raise TypeError(f"option {name!r} takes a user or a role, not {value!r}")
        if kind == CHANNEL:
            if not isinstance(target, Channel):
                raise TypeError(f"option {name!r} takes a channel, not {value!r}")
            allowed = definition.get("channel_types")
            if allowed and target.type not in allowed:
                raise ValueError(f"option {name!r}: channel type {target.type} not in {allowed}")
            permissions = self._permissions(target, member)
            entry = {
                k: v
                for k, v in target.payload(permissions=permissions).items()
                if k in ("id", "name", "type", "permissions", "parent_id", "flags", "guild_id")
            }
            resolved.setdefault("channels", {})[str(target.id)] = entry
        elif isinstance(target, Role):
            resolved.setdefault("roles", {})[str(target.id)] = target.payload()
        elif isinstance(target, User):
            resolved.setdefault("users", {})[str(target.id)] = target.payload()
            guild = channel.guild
            if guild is not None and target.id in guild.members:
                other = guild.members[target.id]
                resolved.setdefault("members", {})[str(target.id)] = other.payload(
                    with_user=False, permissions=guild.permissions_in(channel, other)
                )
        return str(target.id)

    def _resolve_target(self, value: Any) -> User | Role | Channel:
        if isinstance(value, Member):
            return value.user
        if isinstance(value, User | Role | Channel):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if value in self.users:
                return self.users[value]
            for guild in self.guilds.values():
                if value in guild.roles:
                    return guild.roles[value]
            return self.channel(value)
        raise TypeError(f"cannot resolve {value!r} to a user, role or channel")

    def _create_interaction(
        self,
        type: int,
        user: User,
        member: Member | None,
        channel: Channel,
        data: Json,
        *,
        message: Message | None = None,
        locale: str | None = None,
    ) -> Interaction:
        if not self.sessions_for(self._guild_id(channel)):
            where = f"guild {channel.guild.name}" if channel.guild is not None else "DMs"
            raise RuntimeError(
                f"no bot session gets the events of {where} (none identified on its shard): "
                "nothing would receive it"
            )
        interaction = Interaction(
            self.snowflake(),
            f"itk.{secrets.token_urlsafe(32)}",
            int(type),
            user,
            member,
            channel,
            data,
            self,
            message=message,
        )
        guild = channel.guild
        bot_member = guild.bot_member if guild is not None else None
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": interaction.type,
            "data": data,
            "token": interaction.token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": channel.payload(permissions=self._permissions(channel, member)),
            "app_permissions": str(self._permissions(channel, bot_member)),
            "locale": locale or user.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None and member is not None:
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=member.payload(permissions=guild.permissions_in(channel, member)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=user.payload(), authorizing_integration_owners={"0": "0"}, context=1
            )
        if message is not None:
            payload["message"] = message.payload()
        interaction.payload = payload
        self.interactions.append(interaction)
        sent = self._fan_out("INTERACTION_CREATE", payload, guild_id=self._guild_id(channel))
        interaction.sessions = [session for session, _ in sent]
        interaction.sequence = sent[0][1]
        return interaction

    def _interaction_by_id(self, interaction_id: int) -> Interaction | None:
        return next((i for i in reversed(self.interactions) if i.id == interaction_id), None)

    def _interaction_by_token(self, token: str) -> Interaction | None:
        return next((i for i in reversed(self.interactions) if i.token == token), None)

    # -- messages --------------------------------------------------------------------------

    def _new_attachment(
        self,
        channel: Channel,
        filename: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        description: str | None = None,
    ) -> Attachment:
        if len(data) > ATTACHMENT_SIZE_LIMIT:
            raise ApiError(413, 40005, "Request entity too large")
        attachment_id = self.snowflake()
        url = f"{self.base_url}/attachments/{channel.id}/{attachment_id}/{filename}"
        attachment = Attachment(attachment_id, filename, data, content_type, description, url)
        self.attachments[attachment.id] = attachment
        return attachment

    def _new_message(
        self,
        channel: Channel,
        author: User,
        *,
        content: str = "",
        interaction: Interaction | None = None,
        type: int = 0,
        flags: int = 0,
    ) -> Message:
        message = Message(
            self.snowflake(), channel, author, content=content, type=type, flags=flags
        )
        if interaction is not None:
            message.interaction = interaction
            message.webhook_id = self.application_id
        message.mentions = self._mentions(content)
        message.snapshot()
        channel.messages.append(message)
        self.messages[message.id] = message
        return message

    def _mentions(self, content: str) -> list[User]:
        ids = dict.fromkeys(int(i) for i in re.findall(r"<@!?(\d+)>", content))
        return [self.users[i] for i in ids if i in self.users]

    def _apply(
        self, message: Message, body: Json, files: list[UploadedFile], *, creating: bool
    ) -> None:
        """Apply a create/edit body (content, embeds, components, attachments, flags)."""
        _check_message_body(body, message.flags | int(body.get("flags") or 0))
        if "content" in body:
            message.content = body["content"] or ""
            message.mentions = self._mentions(message.content)
        if "embeds" in body:
            message.embeds = body["embeds"] or []
        if "components" in body:
            message.components = body["components"] or []
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if body.get("flags") is not None:
            flags = int(body["flags"])
            if creating:
                message.flags |= flags & SETTABLE_FLAGS
            else:  # only embed suppression can change on an edit
                suppress = int(MessageFlag.SUPPRESS_EMBEDS)
                message.flags = (message.flags & ~suppress) | (flags & suppress)
        uploads = {}
        for upload in files:
            match = re.fullmatch(r"files\[(\d+)\]", upload.field) or re.fullmatch(
                r"file(\d*)", upload.field
            )
            uploads[match.group(1) if match else upload.field] = upload
        if "attachments" in body and body["attachments"] is not None:
            kept_ids = {str(entry.get("id")) for entry in body["attachments"]}
            attachments = [a for a in message.attachments if str(a.id) in kept_ids]
            for entry in body["attachments"]:
                upload = uploads.pop(str(entry.get("id")), None)
                if upload is not None:
                    attachments.append(self._from_upload(message.channel, upload, entry))
            message.attachments = attachments
        message.attachments += [self._from_upload(message.channel, u, {}) for u in uploads.values()]
        if not creating:
            message.edited_at = _now()
        empty = not (message.content or message.embeds or message.components or message.attachments)
        if empty and not message.loading:
            raise ApiError(400, 50006, "Cannot send an empty message")
        if not creating:
            message.snapshot()
        elif message.versions:
            message.versions[-1] = _first_version(message)

    def _fill_in(self, message: Message, body: Json, files: list[UploadedFile]) -> None:
        """Edit a message (a deferred answer stops "thinking…" on its first edit)."""
        was_loading = message.loading
        message.flags &= ~LOADING
        try:
            self._apply(message, body, files, creating=False)
        except ApiError:
            message.flags |= LOADING if was_loading else 0
            raise
        self._message_dispatch("MESSAGE_UPDATE", message)

    def _from_upload(self, channel: Channel, upload: UploadedFile, entry: Json) -> Attachment:
        return self._new_attachment(
            channel,
            entry.get("filename") or upload.filename,
            upload.data,
            upload.content_type,
            entry.get("description"),
        )

    # -- REST ------------------------------------------------------------------------------

    def _rest_routes(self) -> list[_Route]:
        app = "/applications/{application_id}"
        hook = "/webhooks/{application_id}/{token}"
        return [
            _Route("GET", "/gateway", self._get_gateway, auth=False),
            _Route("GET", "/gateway/bot", self._get_gateway_bot),
            _Route("GET", "/users/@me", self._get_me),
            _Route("POST", "/users/@me/channels", self._create_dm),
            _Route("GET", "/users/{user_id}", self._get_user),
            _Route("GET", "/oauth2/applications/@me", self._get_application),
            _Route("GET", f"{app}/commands", self._get_commands),
            _Route("PUT", f"{app}/commands", self._put_commands),
            _Route("POST", f"{app}/commands", self._post_command),
            _Route("DELETE", f"{app}/commands/{{command_id}}", self._delete_command),
            _Route("GET", f"{app}/guilds/{{guild_id}}/commands", self._get_commands),
            _Route("PUT", f"{app}/guilds/{{guild_id}}/commands", self._put_commands),
            _Route("POST", f"{app}/guilds/{{guild_id}}/commands", self._post_command),
            _Route(
                "DELETE", f"{app}/guilds/{{guild_id}}/commands/{{command_id}}", self._delete_command
            ),
            _Route(
                "POST",
                "/interactions/{interaction_id}/{token}/callback",
                self._interaction_callback,
                auth=False,
            ),
            _Route("POST", hook, self._create_followup, auth=False),
            _Route("GET", f"{hook}/messages/{{message_id}}", self._get_hook_message, auth=False),
            _Route("PATCH", f"{hook}/messages/{{message_id}}", self._edit_hook_message, auth=False),
            _Route(
                "DELETE", f"{hook}/messages/{{message_id}}", self._delete_hook_message, auth=False
            ),
            _Route("GET", "/channels/{channel_id}", self._get_channel),
            _Route("GET", "/channels/{channel_id}/messages", self._list_messages),
            _Route("POST", "/channels/{channel_id}/messages", self._create_message),
            _Route("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            _Route("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            _Route("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            _Route("POST", "/channels/{channel_id}/typing", self._typing),
            _Route("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]

    async def _rest(self, request: web.Request) -> web.Response:
        prefix = f"/api/v{API_VERSION}"
        path = request.path[len(prefix) :] if request.path.startswith(prefix) else request.path
        query = dict(request.query)
        route: _Route | None = None
        params: dict[str, str] = {}
        status, body, files, payload = 404, None, [], None
        for candidate in self._routes:
            match = candidate.regex.match(path)
            if match and candidate.method == request.method and request.path.startswith(prefix):
                route, params = candidate, match.groupdict()
                break
        try:
            body, files = await _read_body(request)
            if route is None:
                self.unknown_routes.append(f"{request.method} {path}")
                raise ApiError(404, 0, "404: Not Found")
            if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            status, payload = await route.handler(_Request(params, query, body, files))
        except ApiError as error:
            status, payload = error.status, error.body
        self.calls.append(
            RestCall(
                request.method,
                path,
                f"{route.method} {route.pattern}" if route else None,
                query,
                body,
                files,
                status,
                payload,
                time.monotonic(),
            )
        )
        await self._notify()
        return _response(status, payload)

    async def _download(self, request: web.Request) -> web.Response:
        attachment = self.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None:
            return _response(404, {"message": "404: Not Found", "code": 0})
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})

    # gateway

    async def _get_gateway(self, request: _Request) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, request: _Request) -> tuple[int, Any]:
        shards = self.recommended_shards or max(1, -(-len(self.guilds) // GUILDS_PER_SHARD))
        return 200, {
            "url": self.gateway_url,
            "shards": shards,
            "session_start_limit": {
                "total": SESSION_START_LIMIT,
                "remaining": max(0, SESSION_START_LIMIT - len(self.sessions)),
                "reset_after": SESSION_START_RESET_MS,
                "max_concurrency": self.max_concurrency,
            },
        }

    # users and application

    async def _get_me(self, request: _Request) -> tuple[int, Any]:
        return 200, self.bot_user.payload() | {"verified": True, "mfa_enabled": False}

    async def _get_user(self, request: _Request) -> tuple[int, Any]:
        user = self.users.get(request.int_param("user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, user.payload()

    async def _create_dm(self, request: _Request) -> tuple[int, Any]:
        user = self.users.get(int((request.body or {}).get("recipient_id", 0)))
        if user is None:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return 200, self.dm_channel(user).payload()

    async def _get_member(self, request: _Request) -> tuple[int, Any]:
        guild = self._guild(request)
        member = guild.members.get(request.int_param("user_id"))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, member.payload()

    async def _get_application(self, request: _Request) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.app_owner.payload(),
            "team": None,
            "bot": self.bot_user.payload(),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    # commands

    def _command_scope(self, request: _Request) -> int | None:
        if request.int_param("application_id") != self.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in request.params:
            return None
        return self._guild(request).id

    async def _get_commands(self, request: _Request) -> tuple[int, Any]:
        return 200, list(self.commands.get(self._command_scope(request), {}).values())

    async def _put_commands(self, request: _Request) -> tuple[int, Any]:
        scope = self._command_scope(request)
        bodies = request.body
        if not isinstance(bodies, list):
            raise ApiError(400, 50035, "Invalid Form Body")
        errors: Json = {}
        for index, body in enumerate(bodies):
            error = _command_errors(body)
            if error:
                errors[str(index)] = error
        names = [(b.get("type", 1), b.get("name")) for b in bodies]
        if len(set(names)) != len(names):
            errors["_errors"] = [{"code": "APPLICATION_COMMANDS_DUPLICATE_NAME", "message": "dup"}]
        if errors:
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        old = self.commands.get(scope, {})
        self.commands[scope] = {}
        for body in bodies:
            self._store_command(scope, body, old)
        return 200, list(self.commands[scope].values())

    async def _post_command(self, request: _Request) -> tuple[int, Any]:
        scope = self._command_scope(request)
        body = request.body or {}
        errors = _command_errors(body)
        if errors:
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        existing = self.commands.setdefault(scope, {})
        created = (body.get("type", 1), body.get("name")) not in existing
        return (201 if created else 200), self._store_command(scope, body, existing)

    async def _delete_command(self, request: _Request) -> tuple[int, Any]:
        commands = self.commands.get(self._command_scope(request), {})
        for key, command in list(commands.items()):
            if command["id"] == request.params["command_id"]:
                del commands[key]
                return 204, None
        raise ApiError(404, 10063, "Unknown application command")

    def _store_command(
        self, scope: int | None, body: Json, previous: Mapping[tuple[int, str], Json]
    ) -> Json:
        kind = int(body.get("type", 1))
        key = (kind, str(body["name"]))
        old = previous.get(key)
        command: Json = {
            "id": old["id"] if old else str(self.snowflake()),
            "application_id": str(self.application_id),
            "version": str(self.snowflake()),
            "type": kind,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description", ""),
            "description_localizations": body.get("description_localizations"),
            "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True),
            "nsfw": body.get("nsfw", False),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
        }
        if body.get("options"):
            command["options"] = body["options"]
        if scope is not None:
            command["guild_id"] = str(scope)
        self.commands.setdefault(scope, {})[key] = command
        return command

    # interactions

    async def _interaction_callback(self, request: _Request) -> tuple[int, Any]:
        interaction = self._interaction_by_id(request.int_param("interaction_id"))
        if interaction is None or interaction.token != request.params["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        deadline, delivered = self.interaction_deadline, interaction.delivered_at
        if (
            deadline is not None
            and delivered is not None
            and time.monotonic() - delivered > deadline
        ):
            interaction.late_callbacks += 1
            raise ApiError(404, 10062, "Unknown interaction")
        body = request.body or {}
        kind = int(body.get("type", 0))
        data: Json = body.get("data") or {}
        allowed = {
            InteractionType.APPLICATION_COMMAND: {4, 5, 9},
            InteractionType.MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
            InteractionType.MODAL_SUBMIT: {4, 5, 6, 7},
            InteractionType.AUTOCOMPLETE: {8},
        }.get(InteractionType(interaction.type), set())
        if kind not in allowed:
            raise ApiError(
                400, 50035, "Invalid Form Body", _form_error(["type"], "BASE_TYPE_CHOICES")
            )
        message: Message | None = None
        channel = interaction.channel
        if kind in (CallbackType.CHANNEL_MESSAGE, CallbackType.DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0) & SETTABLE_FLAGS
            if kind == CallbackType.DEFERRED_CHANNEL_MESSAGE:
                flags = (flags & EPHEMERAL) | LOADING
            slash = interaction.type == InteractionType.APPLICATION_COMMAND
            message = self._new_message(
                channel,
                self.bot_user,
                interaction=interaction,
                type=20 if slash else 0,
                flags=flags,
            )
            try:
                self._apply(
                    message,
                    {k: v for k, v in data.items() if k != "flags"},
                    request.files,
                    creating=True,
                )
            except ApiError:
                self._forget(message)
                raise
            interaction.response = message
            self._message_dispatch("MESSAGE_CREATE", message)
        elif kind in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            message = interaction.message
            assert message is not None
            if kind == CallbackType.UPDATE_MESSAGE:
                self._apply(message, data, request.files, creating=False)
                self._message_dispatch("MESSAGE_UPDATE", message)
            interaction.response = message
        callback = Callback(
            kind, data, list(message.attachments) if message else [], time.monotonic()
        )
        interaction.callbacks.append(callback)
        answer: Json = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": kind == CallbackType.DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(message and message.ephemeral),
            }
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = str(message.id)
        resource: Json = {"type": kind}
        if message is not None and kind != CallbackType.DEFERRED_UPDATE_MESSAGE:
            resource["message"] = message.payload()
        answer["resource"] = resource
        return 200, answer

    def _hook_interaction(self, request: _Request) -> Interaction:
        interaction = self._interaction_by_token(request.params["token"])
        if interaction is None or request.int_param("application_id") != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        return interaction

    def _hook_message(self, interaction: Interaction, message_id: str) -> Message:
        if message_id == "@original":
            message = interaction.response
        else:
            candidates = [interaction.response, *interaction.followups]
            message = next(
                (m for m in candidates if m is not None and str(m.id) == message_id), None
            )
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _create_followup(self, request: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(request)
        if not interaction.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook")  # answer the interaction first
        body = request.body or {}
        original = interaction.response
        if original is not None and original.loading and not original.deleted:
            # The first follow-up after a deferred answer fills in the "thinking…" message.
            body = {k: v for k, v in body.items() if k != "flags"}
            self._fill_in(original, body, request.files)
            message = original
        else:
            message = self._new_message(
                interaction.channel,
                self.bot_user,
                interaction=interaction,
                flags=int(body.get("flags") or 0) & SETTABLE_FLAGS,
            )
            try:
                self._apply(
                    message,
                    {k: v for k, v in body.items() if k != "flags"},
                    request.files,
                    creating=True,
                )
            except ApiError:
                self._forget(message)
                raise
            self._message_dispatch("MESSAGE_CREATE", message)
        interaction.followups.append(message)
        if request.query.get("wait") in ("1", "true", "True"):
            return 200, message.payload()
        return 204, None

    async def _get_hook_message(self, request: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(request)
        return 200, self._hook_message(interaction, request.params["message_id"]).payload()

    async def _edit_hook_message(self, request: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(request)
        message = self._hook_message(interaction, request.params["message_id"])
        self._fill_in(message, request.body or {}, request.files)
        return 200, message.payload()

    async def _delete_hook_message(self, request: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(request)
        message = self._hook_message(interaction, request.params["message_id"])
        self._delete(message)
        return 204, None

    # channels and messages

    def _guild(self, request: _Request) -> Guild:
        guild = self.guilds.get(request.int_param("guild_id"))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    def _channel(self, request: _Request) -> Channel:
        try:
            return self.channel(request.int_param("channel_id"))
        except LookupError:
            raise ApiError(404, 10003, "Unknown Channel") from None

    def _bot_permissions(self, channel: Channel) -> int:
        guild = channel.guild
        return DM_PERMISSIONS if guild is None else guild.permissions_in(channel, guild.bot_member)

    def _channel_message(self, request: _Request, channel: Channel) -> Message:
        message = self.messages.get(request.int_param("message_id"))
        if (
            message is None
            or message.deleted
            or message.ephemeral
            or message.channel is not channel
        ):
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        if not self._bot_permissions(channel) & Permission.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        return 200, channel.payload()

    async def _list_messages(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        needed = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel) & needed != needed:
            raise ApiError(403, 50001, "Missing Access")
        messages = [m for m in channel.posted if not m.ephemeral]
        if "before" in request.query:
            messages = [m for m in messages if m.id < int(request.query["before"])]
        if "after" in request.query:
            messages = [m for m in messages if m.id > int(request.query["after"])]
        limit = int(request.query.get("limit", 50))
        return 200, [m.payload() for m in reversed(messages)][:limit]

    async def _create_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        permissions = self._bot_permissions(channel)
        if not permissions & Permission.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if not permissions & Permission.SEND_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        if request.files and not permissions & Permission.ATTACH_FILES:
            raise ApiError(403, 50013, "Missing Permissions")
        body = request.body or {}
        flags = int(body.get("flags") or 0) & SETTABLE_FLAGS & ~EPHEMERAL
        message = self._new_message(channel, self.bot_user, flags=flags)
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            message.reference_id = int(reference["message_id"])
            message.type = 19
        try:
            self._apply(
                message,
                {k: v for k, v in body.items() if k != "flags"},
                request.files,
                creating=True,
            )
        except ApiError:
            self._forget(message)
            raise
        self._message_dispatch("MESSAGE_CREATE", message)
        return 200, message.payload()

    async def _get_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        needed = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel) & needed != needed:
            raise ApiError(403, 50001, "Missing Access")
        return 200, self._channel_message(request, channel).payload()

    async def _edit_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        message = self._channel_message(request, channel)
        if message.author.id != self.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._apply(message, request.body or {}, request.files, creating=False)
        self._message_dispatch("MESSAGE_UPDATE", message)
        return 200, message.payload()

    async def _delete_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        message = self._channel_message(request, channel)
        mine = message.author.id == self.bot_user.id
        if not mine and not self._bot_permissions(channel) & Permission.MANAGE_MESSAGES:
            raise ApiError(403, 50013, "Missing Permissions")
        self._delete(message)
        return 204, None

    async def _typing(self, request: _Request) -> tuple[int, Any]:
        self._channel(request)
        return 204, None

    def _delete(self, message: Message) -> None:
        message.deleted = True
        if not message.ephemeral:
            data: Json = {"id": str(message.id), "channel_id": str(message.channel.id)}
            if message.channel.guild is not None:
                data["guild_id"] = str(message.channel.guild.id)
            self._dispatch(
                "MESSAGE_DELETE",
                data,
                guild_id=self._guild_id(message.channel),
                intent=self._message_intent(message.channel),
            )

    def _forget(self, message: Message) -> None:
        """Undo `_new_message` for a message whose body was refused."""
        message.channel.messages.remove(message)
        del self.messages[message.id]


# ---------------------------------------------------------------------------------------------
# Helpers: HTTP bodies, validation as Discord does it
# ---------------------------------------------------------------------------------------------


def _response(status: int, payload: Any) -> web.Response:
    if status == 204 or payload is None:
        return web.Response(status=status)
    # Exactly "application/json": discord.py compares the header to that string.
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read()  # type: ignore[union-attr]
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(data)
            else:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                files.append(UploadedFile(name, part.filename or name, content_type, bytes(data)))
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _first_version(message: Message) -> MessageVersion:
    return _version(message, message.created_at)


def _version(message: Message, at: datetime | None = None) -> MessageVersion:
    return MessageVersion(
        message.content,
        json.loads(json.dumps(message.embeds)),
        json.loads(json.dumps(message.components)),
        list(message.attachments),
        message.flags,
        at or message.edited_at or message.created_at,
    )


def _walk_components(components: Sequence[Json]) -> Iterator[Json]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            yield component["accessory"]


def _usable_in(command: Json, context: int) -> bool:
    contexts = command.get("contexts")
    if contexts is not None:
        return context in contexts
    return context == 0 or command.get("dm_permission", True) is not False


def _check_select(component: Json, values: list[str]) -> None:
    low, high = component.get("min_values", 1), component.get("max_values", 1)
    if not low <= len(values) <= high:
        raise ValueError(f"select {component.get('custom_id')!r} takes {low}..{high} values")
    if component["type"] == 3:
        options = [option["value"] for option in component.get("options", [])]
        unknown = [value for value in values if value not in options]
        if unknown:
            raise ValueError(f"select {component.get('custom_id')!r} has no option {unknown}")


def _form_error(path: Sequence[str | int], code: str, message: str | None = None) -> Json:
    error: Json = {"_errors": [{"code": code, "message": message or code}]}
    for key in reversed(path):
        error = {str(key): error}
    return error


def _merge(into: Json, error: Json) -> None:
    for key, value in error.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value


_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


def _command_errors(body: Any) -> Json:
    """Discord's checks on a command: names, descriptions, option counts and order, nesting."""
    errors: Json = {}
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return _form_error(["name"], "BASE_TYPE_REQUIRED")
    kind = body.get("type", 1)
    if kind == 1:
        _check_named(body, [], errors)
        _check_options(body.get("options") or [], ["options"], errors, depth=0)
    else:  # user/message context menus: any name, no description
        if not 1 <= len(body["name"]) <= 32:
            _merge(errors, _form_error(["name"], "BASE_TYPE_BAD_LENGTH"))
        if body.get("description"):
            _merge(errors, _form_error(["description"], "APPLICATION_COMMAND_DESCRIPTION_INVALID"))
    return errors


def _check_named(item: Json, path: list[str | int], errors: Json) -> None:
    name = str(item.get("name", ""))
    if not _NAME.match(name) or name != name.lower():
        _merge(errors, _form_error([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME"))
    description = item.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        _merge(errors, _form_error([*path, "description"], "BASE_TYPE_BAD_LENGTH"))


def _check_options(options: list[Json], path: list[str | int], errors: Json, *, depth: int) -> None:
    if len(options) > 25:
        _merge(errors, _form_error(path, "BASE_TYPE_MAX_LENGTH"))
    subcommands = [o for o in options if o.get("type") in (1, 2)]
    if subcommands and len(subcommands) != len(options):
        _merge(errors, _form_error(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
    seen_optional = False
    names = set()
    for index, option in enumerate(options):
        here: list[str | int] = [*path, index]
        _check_named(option, here, errors)
        if option.get("name") in names:
            _merge(errors, _form_error(here, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"))
        names.add(option.get("name"))
        kind = option.get("type")
        if (kind == 2 and depth > 0) or (kind == 1 and depth > 1):
            _merge(errors, _form_error(here, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
        if kind in (1, 2):
            children = option.get("options") or []
            if kind == 2 and any(child.get("type") != 1 for child in children):
                _merge(errors, _form_error(here, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
            _check_options(children, [*here, "options"], errors, depth=depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                _merge(errors, _form_error(here, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"))
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if len(choices) > 25:
            _merge(errors, _form_error([*here, "choices"], "BASE_TYPE_MAX_LENGTH"))


_EMBED_LIMITS = {"title": 256, "description": 4096}


def _check_message_body(body: Json, flags: int) -> None:
    """Discord's limits on what a message holds: 2000 characters, 10 embeds, 5 rows of 5."""
    content = body.get("content")
    if isinstance(content, str) and len(content) > 2000:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            _form_error(["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."),
        )
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise ApiError(
            400, 50035, "Invalid Form Body", _form_error(["embeds"], "BASE_TYPE_MAX_LENGTH")
        )
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                error = _form_error(["embeds", index, key], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            error = _form_error(["embeds", index, "fields"], "BASE_TYPE_MAX_LENGTH")
            raise ApiError(400, 50035, "Invalid Form Body", error)
        for position, item in enumerate(fields):
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            total += len(name) + len(value)
            if len(name) > 256 or len(value) > 1024:
                error = _form_error(["embeds", index, "fields", position], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
    if total > 6000:
        raise ApiError(
            400, 50035, "Invalid Form Body", _form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED")
        )
    components = body.get("components") or []
    is_v2 = flags & MessageFlag.IS_COMPONENTS_V2
    if not is_v2:
        if len(components) > 5:
            raise ApiError(
                400, 50035, "Invalid Form Body", _form_error(["components"], "BASE_TYPE_MAX_LENGTH")
            )
        for index, row in enumerate(components):
            if len(row.get("components") or []) > 5:
                error = _form_error(["components", index, "components"], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
    custom_ids = [c["custom_id"] for c in _walk_components(components) if "custom_id" in c]
    if len(custom_ids) != len(set(custom_ids)) or any(len(i) > 100 for i in custom_ids):
        error = _form_error(["components"], "COMPONENT_CUSTOM_ID_DUPLICATED")
        raise ApiError(400, 50035, "Invalid Form Body", error)
