"""The Matrix test harness itself: a real Synapse, real nio clients, plain and encrypted rooms."""

from __future__ import annotations

import asyncio

import nio

from tests.adapters.matrix.conftest import (
    MakeClient,
    Synapse,
    create_room,
    register,
    trust_devices,
    unique_localpart,
    wait_for_message,
)


async def send_text(client: nio.AsyncClient, room_id: str, body: str) -> str:
    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": body})
    assert isinstance(sent, nio.RoomSendResponse), sent
    return str(sent.event_id)


async def test_register_gives_a_working_token(synapse: Synapse) -> None:
    localpart = unique_localpart("solo")
    user_id, token, device_id = await register(synapse, localpart, "s3cret")
    assert user_id == synapse.user_id(localpart)
    assert token
    assert device_id

    with_token = nio.AsyncClient(synapse.url, user_id)
    with_password = nio.AsyncClient(synapse.url, user_id)
    try:
        with_token.restore_login(user_id, device_id, token)
        whoami = await with_token.whoami()
        assert isinstance(whoami, nio.WhoamiResponse), whoami
        assert whoami.user_id == user_id
        assert whoami.device_id == device_id

        logged_in = await with_password.login("s3cret", device_name="second device")
        assert isinstance(logged_in, nio.LoginResponse), logged_in
        assert logged_in.device_id != device_id
    finally:
        await with_token.close()
        await with_password.close()


async def test_plain_room_messages_both_ways(make_client: MakeClient) -> None:
    alice, bob = await asyncio.gather(
        make_client("alice", encryption=False), make_client("bob", encryption=False)
    )
    room_id = await create_room(alice, bob, name="Cercle du mardi")
    assert not alice.rooms[room_id].encrypted

    await send_text(alice, room_id, "Bonjour Bob")
    received = await wait_for_message(bob, room_id, "Bonjour Bob", sender=alice.user_id)
    assert received.sender == alice.user_id

    await send_text(bob, room_id, "Salut Alice")
    received = await wait_for_message(alice, room_id, "Salut Alice", sender=bob.user_id)
    assert received.sender == bob.user_id


async def test_encrypted_room_messages_are_decrypted(make_client: MakeClient) -> None:
    alice, bob = await asyncio.gather(make_client("alice"), make_client("bob"))
    room_id = await create_room(alice, bob, encrypted=True)
    assert alice.rooms[room_id].encrypted
    assert bob.rooms[room_id].encrypted

    await trust_devices(alice, bob)
    await send_text(alice, room_id, "Un secret pour Bob")
    received = await wait_for_message(bob, room_id, "Un secret pour Bob", sender=alice.user_id)
    assert isinstance(received, nio.RoomMessageText)
    assert received.decrypted
    assert received.verified is False  # bob has not verified alice's device

    await trust_devices(bob, alice)
    await send_text(bob, room_id, "Bien reçu")
    received = await wait_for_message(alice, room_id, "Bien reçu", sender=bob.user_id)
    assert received.decrypted
    assert received.verified  # alice verified bob's device above


async def test_many_messages_are_not_rate_limited(make_client: MakeClient) -> None:
    alice, bob = await asyncio.gather(
        make_client("alice", encryption=False), make_client("bob", encryption=False)
    )
    room_id = await create_room(alice, bob)
    async with asyncio.timeout(15):
        for n in range(30):
            await send_text(alice, room_id, f"message {n}")
    await wait_for_message(bob, room_id, "message 29")
