# ruff: noqa: ASYNC109 (the waits here take explicit timeouts on purpose: a test must never hang)
"""The loopback Discord's model: constants, the enums of API v10, and the world it holds.

Guilds → roles, channels (with permission overwrites), members; messages per channel with every
version they had; interactions with the callbacks and follow-ups they got; what the bot did on
the gateway (connections, sessions) and on REST (calls). Permissions are computed as Discord does
(owner, administrator, roles, @everyone/role/member overwrites). The `payload()` methods give the
JSON Discord would send for each object.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.adapters.discord.loopback.server import LoopbackDiscord

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
    MUTE_MEMBERS = 1 << 22
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
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8  # privileged
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15  # privileged
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25
    GUILD_SCHEDULED_EVENTS = 1 << 16


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


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def now() -> datetime:
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
    joined_at: datetime = field(default_factory=now)

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
            "joined_at": iso(self.joined_at),
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
    type: int = 0  # 0 text, 1 DM, 2 voice, 4 category, 5 announcement, 13 Stage
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
        # from the end: a channel's payload goes with every interaction, however long it is
        last = next((m for m in reversed(self.messages) if not m.deleted and not m.ephemeral), None)
        data: Json = {
            "id": str(self.id),
            "type": self.type,
            "last_message_id": str(last.id) if last else None,
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
            if self.type in (2, 13):  # voice and Stage channels
                data.update(bitrate=64000, user_limit=0, rtc_region=None)
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


@dataclass
class Poll:
    """A message poll: its answers (ids from 1), who voted for which, and whether it ended."""

    question: str
    answers: list[str]
    multiselect: bool
    expiry: datetime
    votes: dict[int, set[int]] = field(default_factory=dict)  # answer id -> user ids
    ended: bool = False

    def payload(self) -> Json:
        return {
            "question": {"text": self.question},
            "answers": [
                {"answer_id": i, "poll_media": {"text": text}}
                for i, text in enumerate(self.answers, start=1)
            ],
            "expiry": iso(self.expiry),
            "allow_multiselect": self.multiselect,
            "layout_type": 1,
            "results": {
                "is_finalized": self.ended,
                "answer_counts": [
                    {"id": i, "count": len(users), "me_voted": False}
                    for i, users in sorted(self.votes.items())
                    if users
                ],
            },
        }


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
    created_at: datetime = field(default_factory=now)
    edited_at: datetime | None = None
    deleted: bool = False
    versions: list[MessageVersion] = field(default_factory=list, repr=False)
    poll: Poll | None = None

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
        return [c["custom_id"] for c in walk_components(self.components) if "custom_id" in c]

    def component(self, custom_id: str) -> Json | None:
        for component in walk_components(self.components):
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
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at),
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
        if self.poll is not None:
            data["poll"] = self.poll.payload()
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


def walk_components(components: Sequence[Json]) -> Iterator[Json]:
    for component in components:
        yield component
        yield from walk_components(component.get("components") or [])
        if isinstance(component.get("accessory"), dict):
            yield component["accessory"]
