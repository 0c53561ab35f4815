"""Fixtures and helpers for the Matrix tests, against a real Synapse on 127.0.0.1.

The session-scoped `synapse` fixture starts a throw-away homeserver with scripts/synapse.py in a
temporary directory and stops it at the end of the session. When CERCLE_SYNAPSE_URL (and
CERCLE_SYNAPSE_SECRET, its registration_shared_secret; CERCLE_SYNAPSE_SERVER_NAME if not
"localhost") name a running homeserver, that one is used and left alone.

Synapse lives in its own venv (.venv-synapse, or CERCLE_SYNAPSE_VENV): run
`python3 scripts/synapse.py install` once. Without it the tests fail: they never skip.

No helper sleeps for a fixed time: each wait is a loop of long-polling syncs that ends as soon as
its condition holds, or raises TimeoutError at its deadline.
"""

from __future__ import annotations

import asyncio
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
    ) -> nio.AsyncClient: ...


@pytest.fixture
async def make_client(synapse: Synapse, tmp_path: Path) -> AsyncIterator[MakeClient]:
    """A factory of logged-in nio clients, each a newly registered user, closed after the test.

    Each client has its own crypto store under tmp_path, has done its first sync (so later syncs
    only bring what happens next) and, with encryption, has uploaded its device keys.
    """
    clients: list[nio.AsyncClient] = []

    async def make(
        prefix: str = "user",
        *,
        password: str | None = None,
        admin: bool = False,
        encryption: bool = True,
    ) -> nio.AsyncClient:
        localpart = unique_localpart(prefix)
        user_id, token, device_id = await register(synapse, localpart, password, admin)
        store = tmp_path / "nio" / localpart
        store.mkdir(parents=True)
        client = nio.AsyncClient(
            synapse.url,
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
        return room is not None and expected <= set(room.users)

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
