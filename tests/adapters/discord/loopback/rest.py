"""The loopback's REST API: the routes a slash-command bot uses, with Discord's answers and errors.

- **REST**: gateway info, users, application, command sync, interaction callbacks, follow-ups,
  webhook and channel messages, files. Any other route answers 404 and is listed in
  `unknown_routes`; every call is recorded in `calls`. Bodies are checked as Discord checks them
  (`validation`), messages keep every version they had.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from aiohttp import BodyPartReader, web

from tests.adapters.discord.loopback.gateway import Gateway
from tests.adapters.discord.loopback.model import (
    API_VERSION,
    ATTACHMENT_SIZE_LIMIT,
    DM_PERMISSIONS,
    EPHEMERAL,
    GUILDS_PER_SHARD,
    LOADING,
    SESSION_START_LIMIT,
    SESSION_START_RESET_MS,
    SETTABLE_FLAGS,
    ApiError,
    Attachment,
    Callback,
    CallbackType,
    Channel,
    Guild,
    Interaction,
    InteractionType,
    Json,
    Message,
    MessageFlag,
    MessageVersion,
    Permission,
    Poll,
    RestCall,
    UploadedFile,
    User,
    now,
)
from tests.adapters.discord.loopback.validation import (
    check_message_body,
    check_poll,
    command_errors,
    form_error,
)


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


class Rest(Gateway):
    """The REST side: the routes, and the messages they create, edit and delete."""

    @cached_property
    def _routes(self) -> list[_Route]:
        return self._rest_routes()

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
        check_message_body(body, message.flags | int(body.get("flags") or 0))
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
                upload = uploads.pop(str(entry.get("id")), None)  # type: ignore[arg-type]
                if upload is not None:
                    attachments.append(self._from_upload(message.channel, upload, entry))
            message.attachments = attachments
        message.attachments += [self._from_upload(message.channel, u, {}) for u in uploads.values()]
        if creating and body.get("poll") is not None:
            poll = body["poll"]
            check_poll(poll)
            message.poll = Poll(
                poll["question"]["text"],
                [a["poll_media"]["text"] for a in poll["answers"]],
                bool(poll.get("allow_multiselect")),
                now() + timedelta(hours=float(poll.get("duration", 24))),
            )
        if not creating:
            message.edited_at = now()
        parts = (message.content, message.embeds, message.components, message.attachments)
        empty = not any(parts) and message.poll is None
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
            _Route("POST", "/channels/{channel_id}/polls/{message_id}/expire", self._expire_poll),
            _Route("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]

    async def _rest(self, request: web.Request) -> web.Response:
        prefix = f"/api/v{API_VERSION}"
        path = request.path[len(prefix) :] if request.path.startswith(prefix) else request.path
        query = dict(request.query)
        route: _Route | None = None
        params: dict[str, str] = {}
        files: list[UploadedFile] = []
        status, body, payload = 404, None, None
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
            error = command_errors(body)
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
        errors = command_errors(body)
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
                400, 50035, "Invalid Form Body", form_error(["type"], "BASE_TYPE_CHOICES")
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
        if channel.id in self.unavailable_channels:
            raise ApiError(503, 0, "503: Service Unavailable")
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

    async def _expire_poll(self, request: _Request) -> tuple[int, Any]:
        """End a poll now (its author only), as its expiry would."""
        channel = self._channel(request)
        message = self._channel_message(request, channel)
        if message.author.id != self.bot_user.id:
            raise ApiError(403, 50013, "Missing Permissions")
        if message.poll is None:
            raise ApiError(400, 50035, "Invalid Form Body")
        if message.poll.ended:
            raise ApiError(400, 520001, "Poll expired")
        message.poll.ended = True
        self._message_dispatch("MESSAGE_UPDATE", message)
        return 200, message.payload()

    async def _get_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        needed = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel) & needed != needed:
            raise ApiError(403, 50001, "Missing Access")
        return 200, self._channel_message(request, channel).payload()

    async def _edit_message(self, request: _Request) -> tuple[int, Any]:
        channel = self._channel(request)
        if channel.id in self.unavailable_channels:  # an outage stops edits as well as posts
            raise ApiError(503, 0, "503: Service Unavailable")
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
            assert isinstance(part, BodyPartReader)
            data = await part.read()
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
