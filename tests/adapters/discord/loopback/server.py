"""`LoopbackDiscord`: the loopback as tests use it, its server, its world and its users.

Tests build the world (`add_guild`, `add_member`, ...) and act as users with `send_slash` and
`click`, which build the INTERACTION_CREATE that Discord would send (from the command the bot
registered, so option types and ids are real) to the session(s) of the guild's shard.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.adapters.discord.loopback.model import (
    ATTACHMENT,
    ATTACHMENT_SIZE_LIMIT,
    BOOLEAN,
    CHANNEL,
    DM_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    INTEGER,
    MENTIONABLE,
    NUMBER,
    ROLE,
    SELECT_TYPES,
    STRING,
    USER,
    Attachment,
    Channel,
    GatewaySession,
    Guild,
    Intent,
    Interaction,
    InteractionType,
    Json,
    Member,
    Message,
    Overwrite,
    Permission,
    Role,
    User,
)
from tests.adapters.discord.loopback.validation import check_select, usable_in
from tests.adapters.discord.loopback.voice import VoiceStates


class LoopbackDiscord(VoiceStates):
    """Discord's API v10 on 127.0.0.1: a gateway websocket, REST routes and a model to assert on.

    Build the world (`add_guild`, `add_member`, ...) before or after the bot connects; act as a
    user with `send_slash` and `click`; wait with `wait_for` (or the `Interaction.wait_*`
    helpers); assert on `guild.channels[...].messages`, `interactions`, `calls`, `commands`,
    `unknown_routes`, `connections` and `sessions` (one per IDENTIFY, with its shard).
    """

    # -- lifecycle -------------------------------------------------------------------------

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
        # Discord accepts any number of connections at once: a burst of 200 interactions opens
        # about as many, past the default listen backlog of 128 (a dropped SYN waits 1 s, 3 s…)
        await web.SockSite(self._runner, sock, backlog=1024).start()

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

    def vote_poll(
        self, user: User | Member, message: Message, answer_id: int, *, add: bool = True
    ) -> None:
        """`user` ticks (or unticks) an answer of a message poll: the bot gets
        MESSAGE_POLL_VOTE_ADD (or _REMOVE) with the polls intent, as on Discord. A single-choice
        poll moves the user's vote: the old answer's REMOVE comes first."""
        user, _ = self._who(user, message.channel)
        poll = message.poll
        if poll is None or poll.ended:
            raise ValueError("no open poll on that message")
        if not 1 <= answer_id <= len(poll.answers):
            raise ValueError(f"no answer {answer_id}")
        if add and not poll.multiselect:
            for other, voters in poll.votes.items():
                if other != answer_id and user.id in voters:
                    self.vote_poll(user, message, other, add=False)
        voters = poll.votes.setdefault(answer_id, set())
        if (user.id in voters) == add:
            return  # nothing changes: Discord sends nothing
        voters.add(user.id) if add else voters.discard(user.id)
        channel = message.channel
        data: Json = {
            "user_id": str(user.id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "answer_id": answer_id,
        }
        if channel.guild is not None:
            data["guild_id"] = str(channel.guild.id)
        intent = Intent.GUILD_MESSAGE_POLLS if channel.guild else Intent.DIRECT_MESSAGE_POLLS
        event = "MESSAGE_POLL_VOTE_ADD" if add else "MESSAGE_POLL_VOTE_REMOVE"
        self._dispatch(event, data, guild_id=self._guild_id(channel), intent=int(intent))

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
            check_select(component, picked)
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
            if scope is None and not usable_in(command, 0 if guild else 1):
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
        self._add_interaction(interaction)
        sent = self._fan_out("INTERACTION_CREATE", payload, guild_id=self._guild_id(channel))
        interaction.sessions = [session for session, _ in sent]
        interaction.sequence = sent[0][1]
        return interaction
