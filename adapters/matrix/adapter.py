"""Cercle on Matrix: a matrix-nio client that turns room messages into core commands.

- Commands are text: `!tour` and `/tour` both work. Edits of old messages are ignored, and so
  are the bot's own messages, the backlog of its very first sync, and what a room said before
  the bot joined it.
- The sync token is saved only after a sync's events are handled, so commands sent while the
  bot was down (or crashed mid-way) are handled after a restart — never twice in a row of
  successful handling, never lost.
- Sends go through one queue, in order, retried with backoff; a status update that a newer one
  of the same séance replaces before it is sent is skipped (the live status is edited in place).
- Encrypted rooms work with matrix-nio's e2e support; keys live in the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MegolmEvent,
    ReactionEvent,
    RoomGetEventResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UnknownEvent,
    UploadResponse,
)
from nio.exceptions import OlmUnverifiedDeviceError

from adapters.config import MatrixConfig
from adapters.homes import matrix_home
from adapters.matrix.mentions import html_with_pills, mentions
from adapters.matrix.private import (
    hide_login_tokens,
    private_dir,
    private_file,
    private_tree,
    remember_secret,
)
from adapters.matrix.render import pill, pills_in, png_size, to_html
from adapters.matrix.rooms import ruling_creators
from bot.app import CercleCore
from bot.commands.parser import looks_like_command
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect, FilePost, RecapPost, Reply, StatusView
from bot.events import CommandEvent

log = logging.getLogger(__name__)

PLATFORM = "matrix"
FACILITATOR_POWER = 50
RAISED_HAND = "✋"
SYNC_TIMEOUT_MS = 30_000
MAX_REMEMBERED_EVENTS = 10_000
# Answers go out before the bot polls again: its own next long-poll would otherwise compete
# with them on the homeserver (measured: +10 ms per round trip). Bounded, so an outage of the
# homeserver never stops the bot from reading.
DRAIN_BEFORE_POLL_SECONDS = 2.0
SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": False}},
    "presence": {"types": []},
}
_REPLY_FALLBACK = re.compile(r"^(> .*\n)+\n", re.MULTILINE)


class _Client(AsyncClient):  # type: ignore[misc]  # nio ships no type information
    """nio's client, telling `on_retry` of each retry after a connection error or a timeout."""

    def __init__(self, *args: Any, on_retry: Callable[[int, float], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_retry = on_retry

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        wait = float(await super().get_timeout_retry_wait_time(got_timeouts))
        self._on_retry(got_timeouts, wait)
        return wait


@dataclass(slots=True)
class _Send:
    """One queued send; `status_key` lets a newer status replace an unsent older one."""

    action: Callable[[], Awaitable[bool]]
    status_key: tuple[str, int] | None = None
    version: int = 0


class MatrixAdapter:
    """Runs one Matrix account for Cercle."""

    platform = PLATFORM
    capabilities = frozenset({"edits", "reactions", "files", "html"})

    def __init__(self, core: CercleCore, config: MatrixConfig, data_dir: Path) -> None:
        self.core = core
        self.config = config
        self.dir = data_dir / "matrix"
        self.ready = asyncio.Event()
        self.reconnects = 0
        self._queue: asyncio.Queue[_Send] = asyncio.Queue()
        self._unfinished = 0  # queued or being sent
        self._status_versions: dict[tuple[str, int], int] = {}
        self._status_text: dict[tuple[str, int], str] = {}
        self._status_event: dict[tuple[str, int], str] = {}
        self._bot_events: dict[str, bool] = {}
        self._room_creators: dict[str, frozenset[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._claim = self._claim_folder()
        self.client = self._make_client()

    # -- session ---------------------------------------------------------------------------

    def _claim_folder(self) -> IO[str]:
        """The data folder holds one account's session, sync position and keys, for one
        process: another instance using it (or another account) would corrupt them."""
        private_dir(self.dir)
        claim = private_file(self.dir / "account").open("a+", encoding="utf-8")
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            claim.close()
            raise RuntimeError(
                f"{self.dir} is used by another running instance: give each instance "
                "its own data_dir"
            ) from None
        claim.seek(0)
        owner = claim.read().strip()
        if owner and owner != self.config.user_id:
            claim.close()
            raise RuntimeError(
                f"{self.dir} holds the session of {owner}, not {self.config.user_id}: give "
                "each Matrix account its own data_dir"
            )
        if not owner:
            claim.write(self.config.user_id + "\n")
            claim.flush()
        return claim

    def _make_client(self) -> AsyncClient:
        private_dir(self.dir)
        store = private_dir(self.dir / "store")
        config = AsyncClientConfig(
            encryption_enabled=self.config.encryption,
            store_sync_tokens=False,
            max_limit_exceeded=None,  # on 429, wait as told and retry
            # On a connection error or a timeout, nio sends the same request again (a message
            # keeps its transaction id, so the homeserver cannot post it twice), for ever, waiting
            # at most retry_max_seconds in between; each attempt counts as a reconnection.
            max_timeouts=None,
            max_timeout_retry_wait_time=self.config.retry_max_seconds,
            request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        return _Client(
            self.config.homeserver,
            self.config.user_id,
            device_id=self._session().get("device_id", self.config.device_id),
            store_path=str(store),
            config=config,
            on_retry=self._reconnecting,
        )

    def _reconnecting(self, attempt: int, wait: float) -> None:
        self.reconnects += 1
        log.warning("matrix connection lost (attempt %d); retrying in %.1f s", attempt, wait)

    def _session_file(self) -> Path:
        return self.dir / "session.json"

    def _session(self) -> dict[str, str]:
        try:
            data = json.loads(self._session_file().read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_session(self, data: dict[str, str]) -> None:
        path = private_file(self._session_file())
        path.write_text(json.dumps(data), "utf-8")

    async def login(self) -> None:
        """Use the token from the environment, or a saved session, or log in with a password."""
        client = self.client
        saved = self._session()
        if self.config.access_token:
            client.restore_login(
                self.config.user_id,
                saved.get("device_id", self.config.device_id),
                self.config.access_token,
            )
        elif saved.get("access_token"):
            client.restore_login(self.config.user_id, saved["device_id"], saved["access_token"])
        else:
            assert self.config.password is not None
            hide_login_tokens()
            response = await client.login(self.config.password, device_name="Cercle")
            if not isinstance(response, LoginResponse):
                raise RuntimeError(f"Matrix login failed: {getattr(response, 'message', '')}")
            remember_secret(response.access_token)
            self._save_session(
                {"device_id": response.device_id, "access_token": response.access_token}
            )
        if self.config.encryption and client.should_upload_keys:
            await client.keys_upload()
        private_tree(self.dir / "store")  # the key store nio just opened

    def _token_file(self) -> Path:
        return self.dir / "sync_token"

    def _load_token(self) -> str | None:
        try:
            token = self._token_file().read_text("utf-8").strip()
        except OSError:
            return None
        return token or None

    def _save_token(self, token: str) -> None:
        tmp = private_file(self._token_file().with_suffix(".tmp"))
        tmp.write_text(token, "utf-8")
        tmp.replace(self._token_file())

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Log in, take the first sync as the starting point, then handle syncs until stopped."""
        await self.login()
        self._tasks.append(asyncio.create_task(self._sender(), name="matrix-sender"))
        since = self._load_token()
        full_state = False
        if since is None:
            first = await self._sync_retrying(
                None, poll_ms=0, full_state=True, sync_filter=_first_sync_filter()
            )
            await self._accept_invites(first)
            self._save_token(first.next_batch)
            since = first.next_batch
        else:
            self.client.next_batch = since
            # nio keeps no room state across runs: without it, members would have no names and
            # no power levels. The first sync brings every room's whole state with what was missed.
            full_state = True
        self.ready.set()
        log.info("matrix adapter ready as %s", self.config.user_id)
        while not self._stopping.is_set():
            response = await self._sync_retrying(
                since, poll_ms=SYNC_TIMEOUT_MS, full_state=full_state
            )
            full_state = False
            await self._accept_invites(response)
            await self._handle_rooms(response)
            await self._drained(DRAIN_BEFORE_POLL_SECONDS)
            self._save_token(response.next_batch)
            since = response.next_batch
            await self._maintain_keys()

    async def _drained(self, bound: float) -> None:
        """Wait (at most `bound` seconds) until every queued send is done.

        asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow the task's own
        cancellation when the inner wait completes at the same moment."""
        if self._unfinished == 0:
            return
        waiter = asyncio.ensure_future(self._queue.join())
        try:
            await asyncio.wait({waiter}, timeout=bound)
        finally:
            waiter.cancel()

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Send what is queued (within a bound), then close the connection."""
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), flush_seconds)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()
        self._claim.close()  # the folder is free for the next process

    async def _sync_retrying(
        self,
        since: str | None,
        *,
        poll_ms: int,
        full_state: bool = False,
        sync_filter: dict[str, Any] = SYNC_FILTER,
    ) -> SyncResponse:
        delay = 0.5
        while True:
            try:
                response = await self.client.sync(
                    timeout=poll_ms, since=since, full_state=full_state, sync_filter=sync_filter
                )
            except (OSError, TimeoutError) as error:
                response = None
                reason = type(error).__name__
            else:
                reason = getattr(response, "message", "")
            if isinstance(response, SyncResponse):
                return response
            self.reconnects += 1
            log.warning("matrix sync failed (%s); retrying in %.1f s", reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max_seconds)

    async def _maintain_keys(self) -> None:
        client = self.client
        if not self.config.encryption or client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    # -- incoming --------------------------------------------------------------------------

    def _inviter_allowed(self, sender: str) -> bool:
        allowed = self.config.allowed_inviters
        if not allowed:
            return True
        server = sender.partition(":")[2]
        return sender in allowed or server in allowed

    async def _accept_invites(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.invite.items():
            inviter = next(
                (
                    e.sender
                    for e in info.invite_state
                    if isinstance(e, InviteMemberEvent) and e.state_key == self.config.user_id
                ),
                None,
            )
            if inviter is None or not self._inviter_allowed(inviter):
                log.info("invitation to %s not accepted (inviter not allowed)", room_id)
                continue
            result = await self.client.join(room_id)
            if isinstance(result, JoinError):
                log.warning("could not join %s: %s", room_id, result.message)

    async def _handle_rooms(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            start = 0
            for index, event in enumerate(events):
                if (
                    isinstance(event, RoomMemberEvent)
                    and event.state_key == self.config.user_id
                    and event.membership == "join"
                    and (event.prev_membership or "") != "join"
                ):
                    start = index + 1  # what came before the bot joined is not for it
            for event in events[start:]:
                await self._handle_event(room_id, event)

    async def _handle_event(self, room_id: str, event: Any) -> None:
        log.debug("event %s in %s", type(event).__name__, room_id)
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.config.user_id:
            return
        if isinstance(event, RoomMessageText):
            content = event.source.get("content", {})
            if content.get("m.relates_to", {}).get("rel_type") == "m.replace":
                return  # an edit: the command was handled (or not) when first sent
            body = _REPLY_FALLBACK.sub("", event.body or "", count=1)
            if not looks_like_command(body):
                return
            formatted = event.formatted_body or ""
            await self._command(room_id, sender, body, pills_in(formatted))
        elif isinstance(event, ReactionEvent):
            await self._reaction(room_id, sender, event.key, event.reacts_to)
        elif isinstance(event, UnknownEvent) and event.type == "m.reaction":
            relates = event.source.get("content", {}).get("m.relates_to", {})
            await self._reaction(room_id, sender, relates.get("key", ""), relates.get("event_id"))
        elif isinstance(event, MegolmEvent):
            log.warning("could not decrypt an event in %s; asking for its key", room_id)
            with contextlib.suppress(Exception):
                await self.client.request_room_key(event)

    async def _reaction(self, room_id: str, sender: str, key: str, target: str | None) -> None:
        """✋ on the live status of the room's open séance means /tour; on anything else it is
        only a reaction."""
        if not key.startswith(RAISED_HAND) or not target:
            return
        if target not in self._status_event.values():
            channel = ChannelRef(PLATFORM, room_id)
            if target != await self.core.status_message_of(channel):
                return
        await self._command(room_id, sender, "/tour", {})

    def _remember_sent(self, event_id: str) -> None:
        if len(self._bot_events) > MAX_REMEMBERED_EVENTS:
            self._bot_events.clear()
        self._bot_events[event_id] = True

    async def _sent_by_bot(self, room_id: str, event_id: str) -> bool:
        """Whether the reacted-to message is the bot's: known if sent since start, else asked
        of the homeserver (a failed lookup is not remembered, so it is asked again)."""
        if event_id in self._bot_events:
            return self._bot_events[event_id]
        response = await self.client.room_get_event(room_id, event_id)
        if not isinstance(response, RoomGetEventResponse):
            log.warning("could not look up %s in %s", event_id, room_id)
            return False
        mine = bool(response.event.sender == self.config.user_id)
        self._bot_events[event_id] = mine
        return mine

    async def _command(self, room_id: str, sender: str, body: str, pills: dict[str, str]) -> None:
        room = self.client.rooms.get(room_id)
        text = body.strip()
        for name, user_id in pills.items():
            if name and name in text:
                text = text.replace(name, user_id, 1)
        level = room.power_levels.get_user_level(sender) if room else 0
        if sender in await self._creators(room_id):
            level = max(level, 100)  # creators outrank every power level (room version 12)
        display = room.user_name(sender) if room else None

        def resolve(token: str) -> UserRef | None:
            return self._resolve(room_id, token)

        event = CommandEvent(
            channel=ChannelRef(PLATFORM, room_id),
            author=UserRef(PLATFORM, sender),
            author_name=str(display or sender),
            text=text,
            platform_facilitator=level >= FACILITATOR_POWER,
            platform_knows_roles=True,
            resolve_user=resolve,
            home=matrix_home(self.config.user_id),
        )
        outcome = await self.core.handle(event)
        log.debug(
            "command %s in %s: refused=%s, level=%s",
            outcome.command,
            room_id,
            outcome.refused,
            level,
        )
        await self.deliver(outcome.effects)

    async def _creators(self, room_id: str) -> frozenset[str]:
        """The creators who outrank power levels (room version 12 and later; nobody in older
        rooms), read once from the room's state."""
        if room_id not in self._room_creators:
            response = await self.client.room_get_state(room_id)
            events = getattr(response, "events", None)
            create = next(
                (
                    e
                    for e in events or []
                    if isinstance(e, dict) and e.get("type") == "m.room.create"
                ),
                None,
            )
            if create is None:
                return frozenset()  # not cached: asked again next time
            self._room_creators[room_id] = ruling_creators(create)
        return self._room_creators[room_id]

    def _resolve(self, room_id: str, token: str) -> UserRef | None:
        token = token.rstrip(",.;:")
        if token.startswith("@") and ":" in token:
            return UserRef(PLATFORM, token)
        wanted = token.removeprefix("@").casefold()
        room = self.client.rooms.get(room_id)
        if not wanted or room is None:
            return None
        found = [
            uid
            for uid, user in room.users.items()
            if wanted in ((user.display_name or "").casefold(), uid[1:].split(":")[0].casefold())
        ]
        return UserRef(PLATFORM, found[0]) if len(found) == 1 else None

    # -- outgoing --------------------------------------------------------------------------

    async def deliver(self, effects: list[Effect]) -> None:
        """Queue what the core asks to post; the sender task sends it in order."""
        for effect in effects:
            if effect.channel.platform != PLATFORM:
                continue
            room_id = effect.channel.id
            if isinstance(effect, Reply):
                if effect.confidential:
                    # for that person alone (drift notes, a report): their direct room
                    if effect.to is not None:
                        self._enqueue(_Send(self._direct_text(effect.to.id, effect.text)))
                    continue
                content = self._reply_content(room_id, effect)
                self._enqueue(_Send(self._sender_of(room_id, content)))
            elif isinstance(effect, RecapPost):
                if effect.private:
                    # an approval draft: to that facilitator alone, in a direct room
                    if effect.to is not None:
                        self._enqueue(_Send(self._direct_recap(effect.to.id, effect)))
                    continue
                html = effect.html or to_html(effect.markdown)
                self._enqueue(_Send(self._sender_of(room_id, _message(effect.markdown, html))))
                if effect.chart is not None:
                    self._enqueue(_Send(self._image_sender(room_id, effect)))
            elif isinstance(effect, StatusView):
                self._queue_status(room_id, effect)
            elif isinstance(effect, FilePost):
                if effect.private and effect.to is not None:
                    self._enqueue(_Send(self._direct_file(effect.to.id, effect)))
                elif not effect.private:
                    self._enqueue(_Send(self._file_sender(room_id, effect)))

    def _enqueue(self, job: _Send) -> None:
        self._unfinished += 1
        self._queue.put_nowait(job)

    def _names(self, room_id: str, users: tuple[UserRef, ...]) -> dict[str, str]:
        room = self.client.rooms.get(room_id)
        out: dict[str, str] = {}
        for user in users:
            if user.platform == PLATFORM:
                out[user.id] = (room.user_name(user.id) if room else None) or user.id
        return out

    def _reply_content(self, room_id: str, reply: Reply) -> dict[str, Any]:
        people = reply.mentions + ((reply.to,) if reply.private and reply.to else ())
        names = self._names(room_id, people)
        body = reply.text
        if reply.private and reply.to is not None and reply.to.id in names:
            name = names[reply.to.id]
            body = f"{name}: {body}"
            others = {k: v for k, v in names.items() if k != reply.to.id}
            html = pill(reply.to.id, name) + ": " + html_with_pills(reply.text, others)
        else:
            html = html_with_pills(reply.text, names)
        content = _message(body, html)
        content["m.mentions"] = mentions(names)
        return content

    def _sender_of(self, room_id: str, content: dict[str, Any]) -> Callable[[], Awaitable[bool]]:
        tx_id = uuid.uuid4().hex  # the same on every retry: the homeserver posts it once

        async def send() -> bool:
            return await self._send(room_id, content, tx_id) is not None

        return send

    def _queue_status(self, room_id: str, view: StatusView) -> None:
        key = (room_id, view.seance_id)
        if view.message_id and key not in self._status_event:
            self._status_event[key] = view.message_id
        if self._status_text.get(key) == view.text:
            return
        self._status_text[key] = view.text
        version = self._status_versions.get(key, 0) + 1
        self._status_versions[key] = version
        tx_id = uuid.uuid4().hex

        async def send() -> bool:
            original = self._status_event.get(key)
            html = to_html(view.text)
            if original is None:
                content = _message(view.text, html)
                content["m.mentions"] = {}
                event_id = await self._send(room_id, content, tx_id)
                if event_id is None:
                    return False
                if not event_id:
                    return True  # refused for good
                self._status_event[key] = event_id
                self._bot_events[event_id] = True
                await self.core.record_status_message(view.seance_id, event_id)
                return True
            content = _message("* " + view.text, "* " + html)
            content["m.new_content"] = _message(view.text, html)
            content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original}
            content["m.mentions"] = {}
            return await self._send(room_id, content, tx_id) is not None

        self._enqueue(_Send(send, status_key=key, version=version))

    async def _direct_room(self, user_id: str) -> str | None:
        """The bot's direct room with a person (created once, remembered in the data dir)."""
        path = self.dir / "direct_rooms.json"
        try:
            rooms = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            rooms = {}
        if user_id in rooms:
            return str(rooms[user_id])
        response = await self.client.room_create(
            is_direct=True,
            invite=[user_id],
            preset=RoomPreset.trusted_private_chat,
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
            if self.config.encryption
            else [],
        )
        room_id = getattr(response, "room_id", None)
        if not room_id:
            log.warning("could not open a direct room with %s", user_id)
            return None
        rooms[user_id] = room_id
        private_file(path).write_text(json.dumps(rooms), "utf-8")
        return str(room_id)

    def _direct_recap(self, user_id: str, recap: RecapPost) -> Callable[[], Awaitable[bool]]:
        tx_id = uuid.uuid4().hex

        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            if room_id is None:
                return False
            content = _message(recap.markdown, recap.html or to_html(recap.markdown))
            return await self._send(room_id, content, tx_id) is not None

        return send

    def _direct_text(self, user_id: str, text: str) -> Callable[[], Awaitable[bool]]:
        tx_id = uuid.uuid4().hex

        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            if room_id is None:
                return False
            return await self._send(room_id, _message(text, to_html(text)), tx_id) is not None

        return send

    def _direct_file(self, user_id: str, post: FilePost) -> Callable[[], Awaitable[bool]]:
        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            return room_id is not None and await self._file_sender(room_id, post)()

        return send

    def _image_sender(self, room_id: str, recap: RecapPost) -> Callable[[], Awaitable[bool]]:
        """The recap's chart as an m.image, its text alternative as the body."""
        assert recap.chart is not None
        chart = recap.chart
        tx_id = uuid.uuid4().hex

        async def send() -> bool:
            room = self.client.rooms.get(room_id)
            encrypted = bool(room and room.encrypted and self.config.encryption)
            response, keys = await self.client.upload(
                io.BytesIO(chart.png),
                content_type="image/png",
                filename=chart.filename,
                encrypt=encrypted,
                filesize=len(chart.png),
            )
            if not isinstance(response, UploadResponse):
                return False
            content: dict[str, Any] = {
                "msgtype": "m.image",
                "body": chart.alt,  # names people: it mentions nobody
                "filename": chart.filename,
                "info": {"mimetype": "image/png", "size": len(chart.png), **png_size(chart.png)},
                "m.mentions": mentions(),
            }
            if encrypted and keys:
                content["file"] = {"url": response.content_uri, **keys}
            else:
                content["url"] = response.content_uri
            return await self._send(room_id, content, tx_id) is not None

        return send

    def _file_sender(self, room_id: str, post: FilePost) -> Callable[[], Awaitable[bool]]:
        caption_tx, file_tx = uuid.uuid4().hex, uuid.uuid4().hex

        async def send() -> bool:
            room = self.client.rooms.get(room_id)
            encrypted = bool(room and room.encrypted and self.config.encryption)
            response, keys = await self.client.upload(
                io.BytesIO(post.content),
                content_type=post.media_type,
                filename=post.filename,
                encrypt=encrypted,
                filesize=len(post.content),
            )
            if not isinstance(response, UploadResponse):
                log.warning("upload of %s failed: %s", post.filename, response)
                return False
            content: dict[str, Any] = {
                "msgtype": "m.file",
                "body": post.filename,
                "info": {"mimetype": post.media_type, "size": len(post.content)},
                "m.mentions": mentions(),
            }
            if encrypted and keys:
                content["file"] = {"url": response.content_uri, **keys}
            else:
                content["url"] = response.content_uri
            if post.caption:
                caption = _message(post.caption, to_html(post.caption))
                await self._send(room_id, caption, caption_tx)
            return await self._send(room_id, content, file_tx) is not None

        return send

    async def _sender(self) -> None:
        """Send queued messages one by one; retry with backoff, never drop a transient one."""
        while True:
            job = await self._queue.get()
            try:
                if job.status_key and self._status_versions.get(job.status_key) != job.version:
                    continue  # a newer status of the same séance is queued
                delay = 0.5
                while not await job.action():
                    log.warning("matrix send failed; retrying in %.1f s", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.config.retry_max_seconds)
            except Exception:
                log.exception("matrix send failed for good")
            finally:
                self._unfinished -= 1
                self._queue.task_done()

    async def _send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str | None:
        """One m.room.message; the event id, or None on a transient failure."""
        room = self.client.rooms.get(room_id)
        try:
            if room is not None and room.encrypted and self.config.encryption:
                await self._maintain_keys()
                self._trust(room_id)
            response = await self.client.room_send(
                room_id,
                "m.room.message",
                content,
                tx_id=tx_id,
                ignore_unverified_devices=self.config.trust_devices == "all",
            )
        except OlmUnverifiedDeviceError as error:
            log.warning("new unverified device in %s: %s (blacklisted)", room_id, error)
            self.client.blacklist_device(error.device)
            return None
        except (OSError, TimeoutError) as error:
            log.warning("matrix send to %s failed: %s", room_id, type(error).__name__)
            return None
        if isinstance(response, RoomSendResponse):
            self._remember_sent(str(response.event_id))
            return str(response.event_id)
        status = getattr(response, "status_code", "") or ""
        if str(status).startswith("M_FORBIDDEN") or status in ("M_NOT_FOUND", "M_UNKNOWN_TOKEN"):
            log.error("matrix refused a message to %s: %s", room_id, status)
            return ""  # permanent: not retried
        log.warning("matrix send to %s failed: %s", room_id, getattr(response, "message", ""))
        return None

    def _trust(self, room_id: str) -> None:
        """Trust on first use: the devices a person has when first seen are trusted."""
        if self.config.trust_devices != "tofu":
            return
        room = self.client.rooms.get(room_id)
        if room is None:
            return
        for user_id in room.users:
            devices = list(self.client.device_store.active_user_devices(user_id))
            known = any(d.verified for d in devices)
            for device in devices:
                if device.verified or device.blacklisted:
                    continue
                if known:
                    self.client.blacklist_device(device)
                else:
                    self.client.verify_device(device)

    # -- operations: read by adapters/metrics.py at each scrape ------------------------------

    name = PLATFORM

    def send_queue_length(self) -> int:
        """Messages queued or being sent (`reconnects` counts failed syncs and retries)."""
        return self._unfinished


def _first_sync_filter() -> dict[str, Any]:
    """SYNC_FILTER, made unique to this start.

    Synapse answers a sync request identical to one made in the last two minutes (same user,
    device, `since`, filter...) from a cache. Without this, a bot restarted without its sync token
    would get its previous initial sync back, with that sync's old token, and then handle every
    command the rooms received since then a second time. Excluding an account-data type that
    does not exist changes nothing else.
    """
    nonce = f"org.cercle.first_sync.{uuid.uuid4().hex}"
    return {**SYNC_FILTER, "account_data": {"not_types": [nonce]}}


def _message(body: str, html: str) -> dict[str, Any]:
    """A text message that mentions nobody (a reply with mentions sets its own)."""
    return {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": mentions(),
    }
