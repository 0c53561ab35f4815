"""Cercle on Matrix: a matrix-nio client that turns room messages into core commands.

- Commands are text: `!tour` and `/tour` both work. Edits of old messages are ignored, and so
  are the bot's own messages, the backlog of its very first sync, and what a room said before
  the bot joined it.
- The sync token is saved only after a sync's events are handled, so commands sent while the
  bot was down (or crashed mid-way) are handled after a restart, never lost; each command's
  event id is recorded with what it did, so one seen again after a crash is not handled twice.
- Sends go through one queue per room (adapters/delivery.py), in order, retried with backoff; a
  status update that a newer one of the same séance replaces before it is sent is skipped (the
  live status is edited in place). A room nio has not synced yet (a direct room just created,
  every room before the first sync after a start) is waited for, never given up. What the core
  stored in its outbox is marked delivered once the homeserver took it; what is left after a
  crash is posted after the first sync, under the same transaction ids (posted once).
- Encrypted rooms work with matrix-nio's e2e support; keys live in the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import itertools
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
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
    RedactionEvent,
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
from adapters.delivery import Job, Refused, SendQueues
from adapters.homes import matrix_home
from adapters.matrix import answers, polls
from adapters.matrix.live import LiveSender, answer_of
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
from bot.commands.parser import ParsedCommand, looks_like_command
from bot.direct import DirectMessage
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import (
    Effect,
    FilePost,
    LiveView,
    PollEnd,
    PollPost,
    RecapPost,
    Reply,
    StatusView,
)
from bot.events import CommandEvent
from bot.native_votes import PollVote
from bot.registry import COMMANDS

log = logging.getLogger(__name__)

PLATFORM = "matrix"
FACILITATOR_POWER = 50
RAISED_HAND = "✋"
# a reaction refused for these says nothing in the room: it was only a reaction (someone not in
# the circle, a thumbs on a vote already decided)
QUIET_REFUSALS = (None, "live.members_only", "topic.no_vote")
SYNC_TIMEOUT_MS = 30_000
# Answers go out before the bot polls again: its own next long-poll would otherwise compete
# with them on the homeserver (measured: +10 ms per round trip). Bounded, so an outage of the
# homeserver never stops the bot from reading.
DRAIN_BEFORE_POLL_SECONDS = 2.0
ROOM_WAIT_SECONDS = 30.0  # for a room to appear in a sync, before trying again
RECOVER_EVERY_SECONDS = 60.0  # the outbox is read again for anything left behind
SYNC_FILTER: dict[str, Any] = {
    "room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": False}},
    "presence": {"types": []},
}
# `!prepa <answer>` typed in a direct room is an answer; its subcommands are commands
_TYPED_PREPA = re.compile(
    r"^\s*[/!](?:prepa|prep|preparation)\b(?!\s+(?:dm|partager|share|prive|private|voir|show)\b)",
    re.IGNORECASE,
)
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
        self._queues = SendQueues(core.outbox, PLATFORM, config.retry_max_seconds)
        self._synced = asyncio.Condition()  # notified after each sync (rooms may have appeared)
        self._syncs = 0  # syncs done since the start
        self._status_text: dict[tuple[str, int], str] = {}
        self._status_event: dict[tuple[str, int], str] = {}
        self._room_creators: dict[str, frozenset[str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._claim = self._claim_folder()
        self._tx_salt = self._salt()
        self.client = self._make_client()
        # the RSVP question and the follow-up list, edited in place (adapters/matrix/live.py)
        self._live = LiveSender(core, self._queues, self._send, self._react, self._reply_content)

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

    def _salt(self) -> str:
        """Part of every transaction id: a message sent again after a restart keeps its id (the
        homeserver posts it once), and two databases used with one session never share one."""
        path = self.dir / "tx_salt"
        try:
            salt = path.read_text("utf-8").strip()
        except OSError:
            salt = ""
        if not salt:
            salt = uuid.uuid4().hex[:12]
            private_file(path).write_text(salt, "utf-8")
        return salt

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
        loop = asyncio.get_running_loop()
        await self._recover()  # what waits for a room is sent once a sync brings it
        recover_at = loop.time() + RECOVER_EVERY_SECONDS
        while not self._stopping.is_set():
            response = await self._sync_retrying(
                since, poll_ms=SYNC_TIMEOUT_MS, full_state=full_state
            )
            full_state = False
            async with self._synced:
                self._syncs += 1
                self._synced.notify_all()
            if loop.time() >= recover_at:
                recover_at = loop.time() + RECOVER_EVERY_SECONDS
                await self._recover()
            await self._accept_invites(response)
            await self._handle_rooms(response)
            await self._queues.drained(DRAIN_BEFORE_POLL_SECONDS)
            self._save_token(response.next_batch)
            since = response.next_batch
            await self._maintain_keys()

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Send what is queued (within a bound), then close the connection."""
        self._stopping.set()
        await self._queues.drained(flush_seconds)
        await self._queues.close()
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
            in_direct = self._direct_rooms().get(sender) == room_id
            if in_direct and (not looks_like_command(body) or _TYPED_PREPA.match(body)):
                await self._direct_message(room_id, sender, body, event.event_id)
                return
            if not looks_like_command(body):
                return
            formatted = event.formatted_body or ""
            await self._command(room_id, sender, body, pills_in(formatted), event.event_id)
        elif isinstance(event, ReactionEvent):
            await self._reaction(room_id, sender, event.key, event.reacts_to, event.event_id)
        elif isinstance(event, UnknownEvent) and event.type in polls.RESPONSE_TYPES:
            await self._poll_response(room_id, sender, event.type, event.source, event.event_id)
        elif isinstance(event, UnknownEvent) and event.type == "m.reaction":
            relates = event.source.get("content", {}).get("m.relates_to", {})
            key, target = relates.get("key", ""), relates.get("event_id")
            await self._reaction(room_id, sender, key, target, event.event_id)
        elif isinstance(event, RedactionEvent):
            await self._redaction(room_id, sender, event.redacts, event.event_id)
        elif isinstance(event, MegolmEvent):
            log.warning("could not decrypt an event in %s; asking for its key", room_id)
            with contextlib.suppress(Exception):
                await self.client.request_room_key(event)

    async def _poll_response(
        self, room_id: str, sender: str, kind: str, source: dict[str, Any], event_id: str
    ) -> None:
        """A response to a poll: the sender's whole selection, as votes (bot/native_votes)."""
        found = polls.read_response(kind, source.get("content") or {})
        if found is None:
            return
        poll_id, selected = found
        vote = PollVote(
            ChannelRef(PLATFORM, room_id),
            UserRef(PLATFORM, sender),
            poll_id,
            dict.fromkeys(selected, True),
            event_id=f"{PLATFORM}:{event_id}",
            whole=True,
        )
        await self.deliver(await self.core.poll_vote(vote))

    async def _direct_message(self, room_id: str, sender: str, body: str, event_id: str) -> None:
        """What a person writes in the bot's direct room with them: a preparation answer."""
        room = self.client.rooms.get(room_id)
        display = room.user_name(sender) if room else None
        direct = DirectMessage(
            ChannelRef(PLATFORM, room_id),
            UserRef(PLATFORM, sender),
            str(display or sender),
            body,
            event_id=f"{PLATFORM}:{event_id}",
        )
        outcome = await self.core.handle_direct(direct)
        if not outcome.duplicate:
            await self.deliver(outcome.effects)

    async def _reaction(
        self, room_id: str, sender: str, key: str, target: str | None, event_id: str
    ) -> None:
        """✋ on the live status of the room's open séance means /tour, 👍 / 👎 / 🤔 on an RSVP
        question answers it, 👍 / 👎 on a topic's thumbs vote is one (adapters/matrix/live.py);
        on anything else it is only a reaction."""
        if target and self._direct_rooms().get(sender) == room_id:
            await self._direct_reaction(room_id, sender, key, target, event_id)
            return
        answer = answer_of(key)
        if answer is not None and target:
            await self._live_reaction(room_id, sender, answer, target, event_id)
            return
        if not key.startswith(RAISED_HAND) or not target:
            return
        if target not in self._status_event.values():
            channel = ChannelRef(PLATFORM, room_id)
            if target != await self.core.status_message_of(channel):
                return
        await self._command(room_id, sender, "/tour", {}, event_id)

    async def _live_reaction(
        self, room_id: str, sender: str, answer: str, target: str, event_id: str
    ) -> None:
        """A reaction on a live message, members only: on an RSVP question `/presence <answer>
        <séance>`, on a topic's thumbs vote `/prolonger <answer>`; the edited message is the
        confirmation, so the "noted" reply is not posted in the room."""
        found = await self._live.target(room_id, target)
        if found is None:
            return  # not a live message: only a reaction
        if found.kind == "rsvp":
            spec = next(s for s in COMMANDS if s.key == "presence")
            command = ParsedCommand(spec, {"answer": answer, "number": found.number})
        elif found.kind == "topic_vote" and answer in ("yes", "no"):
            spec = next(s for s in COMMANDS if s.key == "prolonger")
            command = ParsedCommand(spec, {"answer": answer})
        else:
            return
        await self._command(room_id, sender, "/" + spec.fr, {}, event_id, command=command)

    async def _direct_reaction(
        self, room_id: str, sender: str, key: str, target: str, event_id: str
    ) -> None:
        """A reaction in the bot's direct room with `sender`: on a message of the bot's that
        offers answers (an action's reminder), that person's command in the circle's room."""
        if not any(key.startswith(emoji) for emoji in answers.REACTIONS.values()):
            return
        response = await self.client.room_get_event(room_id, target)
        event = getattr(response, "event", None)
        if event is None or getattr(event, "sender", None) != self.config.user_id:
            return  # not found, or not the bot's: only a reaction
        found = answers.answer_of(event.source.get("content") or {}, key)
        if found is None:
            return
        circle_room, command, number = found
        known = self.core.dispatcher.parser.by_key(command.replace(".", " "))
        if known is None:
            return
        spec, parent = known
        parsed = ParsedCommand(spec, {"number": number}, parent)
        text = "/" + command.replace(".", " ")
        await self._command(circle_room, sender, text, {}, event_id, command=parsed)

    async def _redaction(self, room_id: str, sender: str, redacts: str, event_id: str) -> None:
        """A reaction taken back: the answer it gave goes, if it still stands."""
        await self.deliver(await self._live.withdraw(room_id, sender, redacts, event_id))

    async def _command(
        self,
        room_id: str,
        sender: str,
        body: str,
        pills: dict[str, str],
        event_id: str,
        command: ParsedCommand | None = None,
    ) -> None:
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
            event_id=f"{PLATFORM}:{event_id}",
            command=command,
            members_only=command is not None,  # an answer given by a reaction
        )
        outcome = await self.core.handle(event)
        log.debug(
            "command %s in %s: refused=%s, level=%s",
            outcome.command,
            room_id,
            outcome.refused,
            level,
        )
        effects = outcome.effects
        if command is not None:
            # a reaction: its answer shows in the edited message; a refusal for someone not
            # in the circle is not posted in the room either (it was only a reaction)
            quiet = outcome.refused in QUIET_REFUSALS
            author = event.author
            dropped = [e for e in effects if quiet and isinstance(e, Reply) and e.to == author]
            effects = [e for e in effects if e not in dropped]
            await self.core.outbox.done(*dropped)
        await self.deliver(effects)

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
        """Queue what the core asks to post; each room's messages go out in order."""
        mine = [e for e in effects if e.channel.platform == PLATFORM]
        for effect in self.core.outbox.hold(mine):
            self._queue_effect(effect)

    async def _recover(self) -> None:
        """Post what an earlier run (or this one, on the way) left undelivered."""
        try:
            left = await self.core.outbox.recover(PLATFORM)
        except Exception:
            log.exception("could not read the outbox")
            return
        for effect in left:
            self._queue_effect(effect)

    def _queue_effect(self, effect: Effect) -> None:
        room_id = effect.channel.id
        tx = _tx_ids(self._tx_salt, effect)
        if isinstance(effect, Reply):
            if effect.confidential:
                # for that person alone (drift notes, a report): their direct room
                if effect.to is None:
                    self._queues.put(room_id, Job(_nothing, effect))
                    return
                if effect.answers:  # an action's reminder: answered with a reaction
                    action = self._direct_answers(effect.to.id, effect, tx)
                else:
                    action = self._direct_text(effect.to.id, effect.text, tx)
                self._queues.put(f"direct:{effect.to.id}", Job(action, effect))
                return
            content = self._reply_content(room_id, effect)
            self._queues.put(room_id, Job(self._sender_of(room_id, content, next(tx)), effect))
        elif isinstance(effect, RecapPost):
            if effect.private:
                # an approval draft: to that facilitator alone, in a direct room
                if effect.to is None:
                    self._queues.put(room_id, Job(_nothing, effect))
                    return
                action = self._direct_recap(effect.to.id, effect, tx)
                self._queues.put(f"direct:{effect.to.id}", Job(action, effect))
                return
            self._queues.put(room_id, Job(self._recap_sender(room_id, effect, tx), effect))
        elif isinstance(effect, StatusView):
            self._queue_status(room_id, effect, tx)
        elif isinstance(effect, PollPost):
            self._queues.put(room_id, Job(self._poll_sender(room_id, effect, next(tx)), effect))
        elif isinstance(effect, PollEnd):
            content = polls.end_content(effect.poll_ref, effect.text)
            send = self._sender_of(room_id, content, next(tx), polls.POLL_END)
            self._queues.put(room_id, Job(send, effect))
        elif isinstance(effect, LiveView):
            self._live.queue(effect, tx)
        elif isinstance(effect, FilePost):
            if effect.private and effect.to is not None:
                action = self._direct_file(effect.to.id, effect, tx)
                self._queues.put(f"direct:{effect.to.id}", Job(action, effect))
            elif not effect.private:
                self._queues.put(room_id, Job(self._file_sender(room_id, effect, tx), effect))
            else:
                self._queues.put(room_id, Job(_nothing, effect))

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

    def _sender_of(
        self, room_id: str, content: dict[str, Any], tx_id: str, kind: str = "m.room.message"
    ) -> Callable[[], Awaitable[bool]]:
        async def send() -> bool:
            return await self._send(room_id, content, tx_id, kind) is not None

        return send

    def _poll_sender(
        self, room_id: str, post: PollPost, tx_id: str
    ) -> Callable[[], Awaitable[bool]]:
        """An `m.poll.start` on the cases; its event id goes back to the core, whose votes
        it counts from then on."""
        content = polls.start_content(post.question, post.answers, post.max_selections)

        async def send() -> bool:
            event_id = await self._send(room_id, content, tx_id, polls.POLL_START)
            if event_id is None:
                return False
            await self.core.record_poll(post.circle_id, event_id)
            return True

        return send

    def _queue_status(self, room_id: str, view: StatusView, tx: Iterator[str]) -> None:
        key = (room_id, view.seance_id)
        if view.message_id and key not in self._status_event:
            self._status_event[key] = view.message_id
        if self._status_text.get(key) == view.text:
            self._queues.put(room_id, Job(_nothing, view))
            return
        self._status_text[key] = view.text
        version = self._queues.newer_status(key)
        first_tx, edit_tx = next(tx), next(tx)

        async def send() -> bool:
            original = self._status_event.get(key)
            html = to_html(view.text)
            if original is None:
                content = _message(view.text, html)
                content["m.mentions"] = {}
                event_id = await self._send(room_id, content, first_tx)
                if event_id is None:
                    return False
                self._status_event[key] = event_id
                await self.core.record_status_message(view.seance_id, event_id)
                return True
            content = _message("* " + view.text, "* " + html)
            content["m.new_content"] = _message(view.text, html)
            content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original}
            content["m.mentions"] = {}
            return await self._send(room_id, content, edit_tx) is not None

        self._queues.put(room_id, Job(send, view, status_key=key, version=version))

    def _direct_rooms(self) -> dict[str, str]:
        """Person → the bot's direct room with them, as remembered in the data dir."""
        try:
            rooms = json.loads((self.dir / "direct_rooms.json").read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in rooms.items()} if isinstance(rooms, dict) else {}

    async def _direct_room(self, user_id: str) -> str | None:
        """The bot's direct room with a person (created once, remembered in the data dir)."""
        path = self.dir / "direct_rooms.json"
        rooms = self._direct_rooms()
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

    def _direct_recap(
        self, user_id: str, recap: RecapPost, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        tx_id = next(tx)

        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            if room_id is None:
                return False
            content = _message(recap.markdown, recap.html or to_html(recap.markdown))
            return await self._send(room_id, content, tx_id) is not None

        return send

    def _direct_text(
        self, user_id: str, text: str, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        tx_id = next(tx)

        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            if room_id is None:
                return False
            return await self._send(room_id, _message(text, to_html(text)), tx_id) is not None

        return send

    def _direct_answers(
        self, user_id: str, reply: Reply, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        """A personal message with its answers as reactions the bot seeds under it
        (adapters/matrix/answers.py)."""
        tx_id = next(tx)
        seeds = [(key, next(tx)) for key, _ in answers.offered(reply.answers)]

        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            if room_id is None:
                return False
            content = _message(reply.text, to_html(reply.text))
            answers.with_answers(content, reply.channel.id, reply.answers)
            event_id = await self._send(room_id, content, tx_id)
            if event_id is None:
                return False
            for key, seed_tx in seeds:
                await self._react(room_id, event_id, key, seed_tx)
            return True

        return send

    def _direct_file(
        self, user_id: str, post: FilePost, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        async def send() -> bool:
            room_id = await self._direct_room(user_id)
            return room_id is not None and await self._file_sender(room_id, post, tx)()

        return send

    def _recap_sender(
        self, room_id: str, recap: RecapPost, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        """The recap, then its chart as an m.image (its text alternative as the body); sent
        again as a whole after a failure, the homeserver posts each part once (same tx ids)."""
        text_tx, image_tx = next(tx), next(tx)
        html = recap.html or to_html(recap.markdown)

        async def send() -> bool:
            if await self._send(room_id, _message(recap.markdown, html), text_tx) is None:
                return False
            chart = recap.chart
            if chart is None:
                return True
            uploaded = await self._upload(room_id, chart.png, "image/png", chart.filename)
            if uploaded is None:
                return False
            content: dict[str, Any] = {
                "msgtype": "m.image",
                "body": chart.alt,  # names people: it mentions nobody
                "filename": chart.filename,
                "info": {"mimetype": "image/png", "size": len(chart.png), **png_size(chart.png)},
                "m.mentions": mentions(),
                **uploaded,
            }
            return await self._send(room_id, content, image_tx) is not None

        return send

    async def _upload(
        self, room_id: str, data: bytes, media_type: str, filename: str
    ) -> dict[str, Any] | None:
        """Upload a file for a room (encrypted if the room is); its `url` or `file` field."""
        await self._room_synced(room_id)
        room = self.client.rooms.get(room_id)
        encrypted = bool(room and room.encrypted and self.config.encryption)
        response, keys = await self.client.upload(
            io.BytesIO(data),
            content_type=media_type,
            filename=filename,
            encrypt=encrypted,
            filesize=len(data),
        )
        if not isinstance(response, UploadResponse):
            log.warning("upload of %s failed: %s", filename, response)
            return None
        if encrypted and keys:
            return {"file": {"url": response.content_uri, **keys}}
        return {"url": response.content_uri}

    def _file_sender(
        self, room_id: str, post: FilePost, tx: Iterator[str]
    ) -> Callable[[], Awaitable[bool]]:
        caption_tx, file_tx = next(tx), next(tx)

        async def send() -> bool:
            if post.caption:
                caption = _message(post.caption, to_html(post.caption))
                if await self._send(room_id, caption, caption_tx) is None:
                    return False
            uploaded = await self._upload(room_id, post.content, post.media_type, post.filename)
            if uploaded is None:
                return False
            content: dict[str, Any] = {
                "msgtype": "m.file",
                "body": post.filename,
                "info": {"mimetype": post.media_type, "size": len(post.content)},
                "m.mentions": mentions(),
                **uploaded,
            }
            return await self._send(room_id, content, file_tx) is not None

        return send

    async def _room_synced(self, room_id: str) -> bool:
        """Wait (boundedly) until a sync has brought the room: nio sends only to rooms it knows
        (a direct room just created, any room before the first sync after a start). A room
        still unknown after two full syncs is not one the bot is in: `Refused`."""
        if room_id in self.client.rooms:
            return True
        log.info("waiting for %s to appear in a sync before sending to it", room_id)
        async with self._synced:
            enough = self._syncs + 2
            waiter = asyncio.ensure_future(
                self._synced.wait_for(lambda: room_id in self.client.rooms or self._syncs >= enough)
            )
            try:
                await asyncio.wait({waiter}, timeout=ROOM_WAIT_SECONDS)
            finally:
                waiter.cancel()
            if room_id in self.client.rooms:
                return True
            if self._syncs >= enough:
                raise Refused("not_found", f"{room_id}: not a room the bot is in")
        return False

    async def _react(self, room_id: str, event_id: str, key: str, tx_id: str) -> str | None:
        """The bot's own reaction `key` to one of its messages (the RSVP answers, seeded)."""
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self._send(room_id, {"m.relates_to": relates}, tx_id, "m.reaction")

    async def _send(
        self,
        room_id: str,
        content: dict[str, Any],
        tx_id: str,
        event_type: str = "m.room.message",
    ) -> str | None:
        """One m.room.message (or another `event_type`); the event id, None on a transient
        failure (a room not synced yet is one), or `Refused` when the homeserver says no for
        good."""
        if not await self._room_synced(room_id):
            return None
        room = self.client.rooms.get(room_id)
        try:
            if room is not None and room.encrypted and self.config.encryption:
                await self._maintain_keys()
                self._trust(room_id)
            response = await self.client.room_send(
                room_id,
                event_type,
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
            return str(response.event_id)
        status = str(getattr(response, "status_code", "") or "")
        if status.startswith("M_FORBIDDEN"):
            raise Refused("forbidden", f"{room_id}: {status}")
        if status in ("M_NOT_FOUND", "M_UNKNOWN_TOKEN"):
            raise Refused("not_found" if status == "M_NOT_FOUND" else "refused", room_id)
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
        return self._queues.unfinished

    @property
    def sends_failed(self) -> Mapping[str, int]:
        """Messages refused for good, by reason."""
        return self._queues.sends_failed


async def _nothing() -> bool:
    return True  # nothing to post (a status already shown, no one to send it to)


def _tx_ids(salt: str, effect: Effect) -> Iterator[str]:
    """Transaction ids for the parts of an effect: from its outbox row when it has one, so a
    message sent again (after a crash, before it was marked delivered) is posted once."""
    if effect.outbox_id is None:
        while True:
            yield uuid.uuid4().hex
    for part in itertools.count():
        yield f"cercle.{salt}.{effect.outbox_id}.{part}"


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
