"""A whole séance in a Matrix room, as real users on a real Synapse, with Cercle as the bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import nio
import pytest

from adapters.config import MatrixConfig
from adapters.matrix.adapter import MatrixAdapter
from bot.app import CercleCore
from bot.clock import SystemClock
from storage.database import Database
from tests.adapters.matrix.conftest import (
    TIMEOUT,
    MakeClient,
    Synapse,
    create_room,
    register,
    sync_until,
    trust_devices,
    unique_localpart,
)
from tests.conftest import migrated_sqlite


@dataclass
class Bot:
    """Cercle running as a Matrix account, in this test's event loop."""

    user_id: str
    adapter: MatrixAdapter
    task: asyncio.Task[None]
    database: Database


@pytest.fixture
async def start_bot(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    started: list[Bot] = []
    localpart = unique_localpart("cercle")
    user_id, token, device_id = await register(synapse, localpart)
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")

    async def start(encryption: bool = True) -> Bot:
        database = Database(url)
        core = CercleCore(database, SystemClock())
        await core.start()
        config = MatrixConfig(
            homeserver=synapse.url,
            user_id=user_id,
            device_id=device_id,
            access_token=token,
            encryption=encryption,
            retry_max_seconds=1.0,
        )
        adapter = MatrixAdapter(core, config, tmp_path / "data")
        task = asyncio.create_task(adapter.run())
        ready = asyncio.create_task(adapter.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task.done():
                task.result()
            raise TimeoutError("the bot did not say it was ready")
        bot = Bot(user_id, adapter, task, database)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await bot.task
        await bot.adapter.stop(flush_seconds=1)
        await bot.database.close()


class Room:
    """A room seen by one user, with the bot's messages collected as they arrive."""

    def __init__(self, client: nio.AsyncClient, room_id: str, bot_id: str) -> None:
        self.client, self.room_id, self.bot_id = client, room_id, bot_id
        self.bot_messages: list[nio.RoomMessageText] = []

    async def say(self, text: str) -> None:
        response = await self.client.room_send(
            self.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        assert isinstance(response, nio.RoomSendResponse), response

    async def expect(self, predicate: Callable[[str], bool], what: str) -> nio.RoomMessageText:
        """Wait until the bot posts a message whose body matches (edits count too)."""

        def seen(response: nio.SyncResponse) -> nio.RoomMessageText | None:
            room = response.rooms.join.get(self.room_id)
            for event in room.timeline.events if room else []:
                if isinstance(event, nio.MegolmEvent):
                    raise AssertionError("a bot message stayed encrypted")
                if isinstance(event, nio.RoomMessageText) and event.sender == self.bot_id:
                    self.bot_messages.append(event)
            for event in self.bot_messages:
                content = event.source.get("content", {})
                body = content.get("m.new_content", {}).get("body", event.body)
                if predicate(body):
                    self.bot_messages.remove(event)
                    return event
            return None

        return await sync_until(self.client, seen, TIMEOUT, what)

    async def expect_text(self, text: str) -> nio.RoomMessageText:
        return await self.expect(lambda body: text in body, repr(text))


async def invite_bot(creator: nio.AsyncClient, room_id: str, bot_id: str) -> None:
    invited = await creator.room_invite(room_id, bot_id)
    assert isinstance(invited, nio.RoomInviteResponse), invited

    def joined(_: nio.SyncResponse) -> bool:
        room = creator.rooms.get(room_id)
        return room is not None and bot_id in room.users

    await sync_until(creator, joined, TIMEOUT, "the bot joining")


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_a_whole_seance_in_a_room(
    make_client: MakeClient, start_bot: Callable[..., object], encrypted: bool
) -> None:
    bot = await start_bot()  # type: ignore[misc]
    anim = await make_client("anim")
    alice = await make_client("alice")
    bob = await make_client("bob")
    room_id = await create_room(anim, alice, bob, encrypted=encrypted, name="Cercle ESS")
    await invite_bot(anim, room_id, bot.user_id)
    if encrypted:
        for client in (anim, alice, bob):
            await client.keys_query()
            for device in client.device_store.active_user_devices(bot.user_id):
                client.verify_device(device)
        await trust_devices(anim, alice, bob)
    rooms = {c.user_id: Room(c, room_id, bot.user_id) for c in (anim, alice, bob)}
    a, al, b = rooms[anim.user_id], rooms[alice.user_id], rooms[bob.user_id]

    await a.say("!cercle creer Cercle ESS")
    await a.expect_text("Cercle « Cercle ESS » créé")
    await a.say("!seance")
    await a.expect_text("Séance 1 du cercle « Cercle ESS » ouverte")
    await al.say("/present")
    await al.expect_text("est là (2 présent·es)")
    await b.say("!present")
    await b.expect_text("est là (3 présent·es)")
    await a.say("!seance phase suivante")
    await a.expect_text("vous avez la parole (2 min 00 s)")
    await a.say("!fini")
    await al.expect_text("vous avez la parole (2 min 00 s)")
    await al.say("!passe")
    await b.expect_text("vous avez la parole (2 min 00 s)")
    await b.say("!fini")
    await a.expect_text("Le tour de table est terminé")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Parole libre")
    await al.say("!tour")
    await al.expect_text("vous avez la parole.")
    await b.say("!tour")
    await b.expect_text("vous êtes n° 1 dans la file")
    # ✋ on the live status message means /tour
    status = await a.expect(lambda body: body.startswith("Séance 1 — Cercle ESS"), "status")
    reacted = await anim.room_send(
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": status.event_id, "key": "✋"}},
        ignore_unverified_devices=True,
    )
    assert isinstance(reacted, nio.RoomSendResponse)
    await a.expect_text("vous êtes n° 2 dans la file")
    await a.say("!suivant")
    await b.expect_text("vous avez la parole.")
    await a.say("!seance fin")
    for room in (a, al, b):
        recap = await room.expect_text("## Récapitulatif — Cercle ESS, séance 1/1")
        assert recap.formatted_body is not None
        assert "<h3>Récapitulatif — Cercle ESS, séance 1/1</h3>" in recap.formatted_body
        assert "Présent·es (3)" in recap.body
