"""Fixtures and helpers for the Matrix tests, against a real Synapse on 127.0.0.1.

The session-scoped `synapse` fixture starts a throw-away homeserver with scripts/synapse.py in a
temporary directory and stops it at the end of the session. When CERCLE_SYNAPSE_URL (and
CERCLE_SYNAPSE_SECRET, its registration_shared_secret; CERCLE_SYNAPSE_SERVER_NAME if not
"localhost") name a running homeserver, that one is used and left alone.

Synapse lives in its own venv (.venv-synapse, or CERCLE_SYNAPSE_VENV): run
`python3 scripts/synapse.py install` once. Without it the tests fail: they never skip.

No helper sleeps for a fixed time: each wait is a loop of long-polling syncs that ends as soon as
its condition holds, or raises TimeoutError at its deadline.

The bot side is here too: `start_bot` runs Cercle's Matrix adapter in the test's event loop (and
can stop it and start it again on the same data), `Room` collects what the bot says in a room as
one user sees it, `invite_bot` brings the bot into a room.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp
import nio
import pytest

from adapters.config import MatrixConfig
from adapters.matrix.adapter import MatrixAdapter
from bot.app import CercleCore
from bot.timing.clock import SystemClock
from storage.database import Database
from tests.conftest import migrated_sqlite

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "synapse.py"
SYNAPSE_VENV = Path(os.environ.get("CERCLE_SYNAPSE_VENV") or REPO / ".venv-synapse")
INSTALL_HINT = "run `python3 scripts/synapse.py install`"
TIMEOUT = 20.0  # seconds: the longest any single wait on the homeserver may take
POLL_MS = 1000  # long-poll of each sync inside a wait; it returns early when events arrive
T = TypeVar("T")


@dataclass(frozen=True)
class Synapse:
    """A running homeserver: where it answers and how to register users on it."""

    url: str
    shared_secret: str
    server_name: str = "localhost"
    data_dir: Path | None = None  # None: an external homeserver that the tests don't own

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


def _run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    url = os.environ.get("CERCLE_SYNAPSE_URL")
    if url:
        secret = os.environ.get("CERCLE_SYNAPSE_SECRET")
        if not secret:
            pytest.fail(
                "CERCLE_SYNAPSE_URL is set but CERCLE_SYNAPSE_SECRET (the homeserver's "
                "registration_shared_secret) is not",
                pytrace=False,
            )
        server_name = os.environ.get("CERCLE_SYNAPSE_SERVER_NAME", "localhost")
        yield Synapse(url.rstrip("/"), secret, server_name)
        return

    if not (SYNAPSE_VENV / "bin" / "python").exists():
        pytest.fail(f"Synapse is not installed in {SYNAPSE_VENV}: {INSTALL_HINT}", pytrace=False)
    data_dir = tmp_path_factory.mktemp("synapse")
    started = _run_script("start", "--dir", data_dir, "--venv", SYNAPSE_VENV)
    if started.returncode != 0:
        _run_script("stop", "--dir", data_dir)
        pytest.fail(f"Synapse did not start:\n{started.stdout}{started.stderr}", pytrace=False)
    state = json.loads((data_dir / "synapse.json").read_text())
    try:
        yield Synapse(state["url"], state["shared_secret"], state["server_name"], data_dir)
    finally:
        stopped = _run_script("stop", "--dir", data_dir)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def unique_localpart(prefix: str = "user") -> str:
    """A localpart no other test uses: Synapse keeps every user for the whole session."""
    return f"{prefix.lower()}-{uuid.uuid4().hex[:10]}"


async def register(
    synapse: Synapse, localpart: str, password: str | None = None, admin: bool = False
) -> tuple[str, str, str]:
    """Register `localpart` with the shared-secret admin API: (user_id, access_token, device_id).

    The password defaults to a random one: pass your own to log in with it later.
    """
    password = password or secrets.token_urlsafe(16)
    endpoint = f"{synapse.url}/_synapse/admin/v1/register"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(endpoint) as resp:
            resp.raise_for_status()
            nonce = (await resp.json())["nonce"]
        message = "\x00".join([nonce, localpart, password, "admin" if admin else "notadmin"])
        mac = hmac.new(synapse.shared_secret.encode(), message.encode(), hashlib.sha1)
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        async with session.post(endpoint, json=body) as resp:
            answer: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise AssertionError(f"registering {localpart!r}: {resp.status} {answer}")
    return answer["user_id"], answer["access_token"], answer["device_id"]


def client_config(encryption: bool = True) -> nio.AsyncClientConfig:
    """nio settings for tests: give up instead of retrying forever on 429s and timeouts."""
    return nio.AsyncClientConfig(
        max_limit_exceeded=0,
        max_timeouts=2,
        request_timeout=TIMEOUT,
        encryption_enabled=encryption,
        store_sync_tokens=False,
    )


class MakeClient(Protocol):
    async def __call__(
        self,
        prefix: str = "user",
        *,
        password: str | None = None,
        admin: bool = False,
        encryption: bool = True,
        server: Synapse | None = None,
    ) -> nio.AsyncClient: ...


@pytest.fixture
async def make_client(synapse: Synapse, tmp_path: Path) -> AsyncIterator[MakeClient]:
    """A factory of logged-in nio clients, each a newly registered user, closed after the test.

    Each client has its own crypto store under tmp_path, has done its first sync (so later syncs
    only bring what happens next) and, with encryption, has uploaded its device keys. `server`
    registers the user on another homeserver than the session's.
    """
    clients: list[nio.AsyncClient] = []

    async def make(
        prefix: str = "user",
        *,
        password: str | None = None,
        admin: bool = False,
        encryption: bool = True,
        server: Synapse | None = None,
    ) -> nio.AsyncClient:
        server = server or synapse
        localpart = unique_localpart(prefix)
        user_id, token, device_id = await register(server, localpart, password, admin)
        store = tmp_path / "nio" / localpart
        store.mkdir(parents=True)
        client = nio.AsyncClient(
            server.url,
            user_id,
            device_id=device_id,
            store_path=str(store),
            config=client_config(encryption),
        )
        clients.append(client)
        client.restore_login(user_id, device_id, token)
        await first_sync(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def first_sync(client: nio.AsyncClient) -> nio.SyncResponse:
    """The initial sync (it returns recent history, not only new events); upload keys if due."""
    async with asyncio.timeout(TIMEOUT):
        response = await client.sync(timeout=0, full_state=True)
        if not isinstance(response, nio.SyncResponse):
            raise AssertionError(f"first sync of {client.user_id}: {response}")
        if client.should_upload_keys:
            uploaded = await client.keys_upload()
            if not isinstance(uploaded, nio.KeysUploadResponse):
                raise AssertionError(f"keys upload of {client.user_id}: {uploaded}")
    return response


async def sync_until(
    client: nio.AsyncClient,
    condition: Callable[[nio.SyncResponse], T | None],
    within: float = TIMEOUT,
    what: str = "a condition",
) -> T:
    """Sync until `condition(response)` is truthy and return it, or raise TimeoutError."""
    try:
        async with asyncio.timeout(within):
            while True:
                response = await client.sync(timeout=POLL_MS)
                if not isinstance(response, nio.SyncResponse):
                    raise AssertionError(f"sync of {client.user_id}: {response}")
                result = condition(response)
                if result:
                    return result
    except TimeoutError:
        raise TimeoutError(f"{client.user_id} waited {within} s for {what}") from None


async def wait_for_message(
    client: nio.AsyncClient,
    room_id: str,
    body: str,
    sender: str | None = None,
    within: float = TIMEOUT,
) -> nio.RoomMessageText:
    """Sync until a text message `body` shows up in `room_id`; fail if it stays encrypted."""
    undecrypted: list[nio.MegolmEvent] = []

    def found(response: nio.SyncResponse) -> nio.RoomMessageText | None:
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, nio.MegolmEvent):
                undecrypted.append(event)
            elif (
                isinstance(event, nio.RoomMessageText)
                and event.body == body
                and sender in (None, event.sender)
            ):
                return event
        return None

    try:
        return await sync_until(client, found, within, f"message {body!r} in {room_id}")
    except TimeoutError as err:
        if undecrypted:
            raise AssertionError(f"{err}; {len(undecrypted)} event(s) stayed encrypted") from None
        raise


async def join_invited(client: nio.AsyncClient, room_id: str, within: float = TIMEOUT) -> None:
    """Wait for an invitation to `room_id`, accept it, and wait until the join shows in sync."""
    await sync_until(
        client, lambda _: room_id in client.invited_rooms, within, f"an invite to {room_id}"
    )
    joined = await client.join(room_id)
    if not isinstance(joined, nio.JoinResponse):
        raise AssertionError(f"{client.user_id} joining {room_id}: {joined}")
    await sync_until(client, lambda _: room_id in client.rooms, within, f"joining {room_id}")


def joined_users(room: nio.MatrixRoom) -> set[str]:
    """Who has joined `room` (nio's `room.users` also counts whom it invited)."""
    return set(room.users) - set(room.invited_users)


async def create_room(
    creator: nio.AsyncClient,
    *members: nio.AsyncClient,
    encrypted: bool = False,
    name: str | None = None,
    within: float = TIMEOUT,
) -> str:
    """A private room made by `creator` where every member has joined; every client knows it.

    With `encrypted`, the room has m.room.encryption from the start (megolm).
    """
    initial_state = []
    if encrypted:
        initial_state.append(
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        )
    created = await creator.room_create(
        name=name,
        invite=[member.user_id for member in members],
        initial_state=initial_state,
        is_direct=False,
    )
    if not isinstance(created, nio.RoomCreateResponse):
        raise AssertionError(f"{creator.user_id} creating a room: {created}")
    room_id: str = created.room_id
    await asyncio.gather(*(join_invited(member, room_id, within) for member in members))
    expected = {creator.user_id, *(member.user_id for member in members)}

    def all_joined(_: nio.SyncResponse) -> bool:
        room = creator.rooms.get(room_id)
        return room is not None and expected <= joined_users(room)

    await sync_until(creator, all_joined, within, f"every member joining {room_id}")
    return room_id


async def trust_devices(client: nio.AsyncClient, *others: nio.AsyncClient) -> None:
    """Fetch the device keys of `others` and mark their devices verified for `client`.

    Call it once `client` shares an encrypted room with them (after `create_room`).
    """
    async with asyncio.timeout(TIMEOUT):
        if client.should_query_keys:
            queried = await client.keys_query()
            if not isinstance(queried, nio.KeysQueryResponse):
                raise AssertionError(f"keys query of {client.user_id}: {queried}")
    for other in others:
        devices = {
            device.id: device for device in client.device_store.active_user_devices(other.user_id)
        }
        if other.device_id not in devices:
            raise AssertionError(f"{client.user_id} does not know device {other.device_id}")
        for device in devices.values():
            client.verify_device(device)


# ---------------------------------------------------------------------------------------- the bot


@dataclass(frozen=True)
class BotAccount:
    """The bot's account on one homeserver, with the data directory and database it keeps."""

    synapse: Synapse
    user_id: str
    access_token: str
    device_id: str
    data_dir: Path
    database_url: str


@dataclass
class Bot:
    """Cercle running as a Matrix account, in this test's event loop."""

    user_id: str
    adapter: MatrixAdapter
    task: asyncio.Task[None]
    database: Database
    account: BotAccount
    stopped: bool = False

    @property
    def core(self) -> CercleCore:
        return self.adapter.core


class StartBot:
    """`await start_bot()` runs the bot and waits until it is ready; `stop(bot)` stops it.

    Starting it again (on the same `server`) resumes the same account, data directory (sync token,
    session, crypto store) and database, as a restarted process would. Every bot still running is
    stopped after the test; a bot whose task crashed fails the test when it is stopped.
    """

    def __init__(self, synapse: Synapse, tmp_path: Path) -> None:
        self._synapse = synapse
        self._tmp_path = tmp_path
        self._accounts: dict[str, BotAccount] = {}
        self._bots: list[Bot] = []

    async def account(self, server: Synapse | None = None) -> BotAccount:
        """The bot's account on `server` (default: the session's), registered on first use."""
        server = server or self._synapse
        if server.url not in self._accounts:
            localpart = unique_localpart("cercle")
            user_id, token, device_id = await register(server, localpart)
            home = self._tmp_path / "bots" / localpart
            home.mkdir(parents=True)
            url = await asyncio.to_thread(migrated_sqlite, home / "cercle.sqlite3")
            self._accounts[server.url] = BotAccount(
                server, user_id, token, device_id, home / "data", url
            )
        return self._accounts[server.url]

    async def __call__(
        self,
        encryption: bool = True,
        *,
        server: Synapse | None = None,
        allowed_inviters: tuple[str, ...] = (),
    ) -> Bot:
        account = await self.account(server)
        database = Database(account.database_url)
        core = CercleCore(database, SystemClock())
        await core.start()
        config = MatrixConfig(
            homeserver=account.synapse.url,
            user_id=account.user_id,
            device_id=account.device_id,
            access_token=account.access_token,
            allowed_inviters=allowed_inviters,
            encryption=encryption,
            retry_max_seconds=1.0,
        )
        adapter = MatrixAdapter(core, config, account.data_dir)
        task = asyncio.create_task(adapter.run(), name=f"bot {account.user_id}")
        bot = Bot(account.user_id, adapter, task, database, account)
        self._bots.append(bot)
        ready = asyncio.create_task(adapter.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task.done():
                task.result()
            raise TimeoutError("the bot did not say it was ready")
        return bot

    async def stop(self, bot: Bot, flush_seconds: float = 5.0) -> None:
        """Cancel the bot's task, send what it has queued (within a bound), close it.

        Its data directory and database stay: starting the bot again resumes from them.
        """
        if bot.stopped:
            return
        bot.stopped = True
        await stop_cercle(
            bot.task, bot.adapter, bot.database, f"the bot {bot.user_id}", flush_seconds
        )

    async def close(self) -> None:
        errors: list[AssertionError] = []
        for bot in self._bots:
            try:
                await self.stop(bot, flush_seconds=1)
            except AssertionError as error:
                errors.append(error)
        if errors:
            raise errors[0]


async def stop_cercle(
    task: asyncio.Task[None],
    adapter: MatrixAdapter,
    database: Database,
    who: str,
    flush_seconds: float,
) -> None:
    """Cancel a running adapter's task, let it send what it queued (within a bound), close it
    and its database; fail if the task had crashed meanwhile."""
    crashed = None
    if task.done() and not task.cancelled():
        crashed = task.exception()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    await adapter.stop(flush_seconds)
    await database.close()
    if crashed is not None:
        raise AssertionError(f"{who} crashed: {crashed!r}") from crashed


@pytest.fixture
async def start_bot(synapse: Synapse, tmp_path: Path) -> AsyncIterator[StartBot]:
    starter = StartBot(synapse, tmp_path)
    yield starter
    await starter.close()


def is_edit(event: nio.RoomMessageText) -> bool:
    relates = event.source.get("content", {}).get("m.relates_to", {})
    return bool(relates.get("rel_type") == "m.replace")


def shown_body(event: nio.RoomMessageText) -> str:
    """The text a client shows for `event`: an edit's new content, else its body."""
    content = event.source.get("content", {})
    return str(content.get("m.new_content", {}).get("body", event.body))


class Room:
    """A room seen by one user, with the bot's messages collected as they arrive."""

    def __init__(self, client: nio.AsyncClient, room_id: str, bot_id: str) -> None:
        self.client, self.room_id, self.bot_id = client, room_id, bot_id
        self.bot_messages: list[nio.RoomMessageText] = []  # in order; removed once expected

    async def send(self, content: dict[str, Any]) -> str:
        """Send an m.room.message with this content; its event id."""
        response = await self.client.room_send(
            self.room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, nio.RoomSendResponse), response
        return str(response.event_id)

    async def say(self, text: str) -> str:
        return await self.send({"msgtype": "m.text", "body": text})

    def _collect(self, response: nio.SyncResponse) -> None:
        room = response.rooms.join.get(self.room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, nio.MegolmEvent):
                raise AssertionError("a bot message stayed encrypted")
            if isinstance(event, nio.RoomMessageText) and event.sender == self.bot_id:
                self.bot_messages.append(event)

    async def expect(self, predicate: Callable[[str], bool], what: str) -> nio.RoomMessageText:
        """Wait until the bot posts a message whose body matches (edits count too)."""

        def seen(response: nio.SyncResponse) -> nio.RoomMessageText | None:
            self._collect(response)
            for event in self.bot_messages:
                if predicate(shown_body(event)):
                    self.bot_messages.remove(event)
                    return event
            return None

        return await sync_until(self.client, seen, TIMEOUT, what)

    async def expect_text(self, text: str) -> nio.RoomMessageText:
        return await self.expect(lambda body: text in body, repr(text))

    async def answers_until(
        self, predicate: Callable[[str], bool], what: str
    ) -> list[nio.RoomMessageText]:
        """Wait for a new bot message (not an edit) whose body matches; return it last, after
        every other new message (not an edit) that the bot posted before it, and forget them.

        With a marker command as the match, this shows everything the bot said before answering
        it: what a test expects to stay unanswered must not be there.
        """

        def seen(response: nio.SyncResponse) -> list[nio.RoomMessageText] | None:
            self._collect(response)
            posts = [event for event in self.bot_messages if not is_edit(event)]
            for index, event in enumerate(posts):
                if predicate(event.body):
                    answers = posts[: index + 1]
                    for answer in answers:
                        self.bot_messages.remove(answer)
                    return answers
            return None

        try:
            return await sync_until(self.client, seen, TIMEOUT, what)
        except TimeoutError as error:
            said = [shown_body(event) for event in self.bot_messages]
            raise TimeoutError(f"{error}; the bot said {said}") from None


async def invite_bot(creator: nio.AsyncClient, room_id: str, bot_id: str) -> None:
    """Invite the bot (running, allowed to be invited by `creator`) and wait until it joined."""
    invited = await creator.room_invite(room_id, bot_id)
    assert isinstance(invited, nio.RoomInviteResponse), invited

    def joined(_: nio.SyncResponse) -> bool:
        room = creator.rooms.get(room_id)
        return room is not None and bot_id in joined_users(room)

    await sync_until(creator, joined, TIMEOUT, "the bot joining")
