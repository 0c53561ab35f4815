"""Matrix: nothing the bot posts pings the room, pills stay well-formed, rights follow the room
version, ✋ counts only on the live status, and the bot's secrets stay private (real Synapse)."""

from __future__ import annotations

import asyncio
import logging
import stat
from pathlib import Path

import nio
import pytest

from adapters.config import MatrixConfig
from adapters.logs import Redactor
from adapters.matrix.adapter import MatrixAdapter
from bot.app import CercleCore
from bot.timing.clock import SystemClock
from storage.database import Database
from tests.adapters.matrix.conftest import (
    TIMEOUT,
    MakeClient,
    Room,
    StartBot,
    Synapse,
    create_room,
    invite_bot,
    register,
    sync_until,
    unique_localpart,
)
from tests.conftest import migrated_sqlite


async def test_a_recap_with_at_room_in_a_note_mentions_nobody(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    alice = await make_client("alice", encryption=False)
    room_id = await create_room(anim, alice, name="Cercle")
    await invite_bot(anim, room_id, bot.user_id)
    a, al = Room(anim, room_id, bot.user_id), Room(alice, room_id, bot.user_id)
    await a.say("!cercle creer Cercle")
    await a.expect_text("créé")
    await a.say("!cercle protocole libre")
    await a.expect_text("libre")
    await a.say("!seance")
    await a.expect_text("ouverte")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Parole libre")
    await al.say("!note @room on se retrouve jeudi")
    note = await al.expect_text("enregistrée")
    assert note.source["content"]["m.mentions"] == {"user_ids": []}
    await al.say("!tour")
    await al.expect_text("vous avez la parole")
    await al.say("!fini")
    await al.expect_text("a terminé")
    await a.say("!seance fin")
    recap = await a.expect_text("## Récapitulatif")
    assert "@room on se retrouve jeudi" in recap.body
    assert recap.source["content"]["m.mentions"] == {"user_ids": []}

    def chart(response: nio.SyncResponse) -> nio.RoomMessageImage | None:
        joined = response.rooms.join.get(room_id)
        for event in joined.timeline.events if joined else []:
            if isinstance(event, nio.RoomMessageImage) and event.sender == bot.user_id:
                return event
        return None

    image = await sync_until(anim, chart, TIMEOUT, "the chart")
    content = image.source["content"]
    assert content["m.mentions"] == {"user_ids": []}
    assert content["info"]["w"] > 0
    assert content["info"]["h"] > 0


async def test_a_display_name_like_a_tag_keeps_the_html_whole(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    strong = await make_client("strong", encryption=False)
    named = await strong.set_displayname("strong")
    assert isinstance(named, nio.ProfileSetDisplayNameResponse)
    room_id = await create_room(anim, strong, name="Cercle")
    await invite_bot(anim, room_id, bot.user_id)
    a, s = Room(anim, room_id, bot.user_id), Room(strong, room_id, bot.user_id)
    await a.say("!cercle creer Cercle")
    await a.expect_text("créé")
    await a.say("!cercle protocole libre")
    await a.expect_text("libre")
    await a.say("!seance")
    await a.expect_text("ouverte")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Parole libre")
    await s.say("!tour")
    floor = await s.expect_text("strong, vous avez la parole")
    html = floor.formatted_body or ""
    pill = f'<a href="https://matrix.to/#/{strong.user_id}">strong</a>'
    assert html == f"<p>{pill}, vous avez la parole.</p>"
    assert floor.source["content"]["m.mentions"] == {"user_ids": [strong.user_id]}


async def test_a_demoted_creator_of_a_version_10_room_is_a_participant(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    creator = await make_client("creator", encryption=False)
    anim = await make_client("anim", encryption=False)
    created = await creator.room_create(
        name="Cercle", invite=[anim.user_id], room_version="10", is_direct=False
    )
    assert isinstance(created, nio.RoomCreateResponse), created
    room_id = created.room_id
    await sync_until(anim, lambda _: room_id in anim.invited_rooms, TIMEOUT, "the invite")
    assert isinstance(await anim.join(room_id), nio.JoinResponse)
    await invite_bot(creator, room_id, bot.user_id)
    levels = {
        "users": {anim.user_id: 100, creator.user_id: 0, bot.user_id: 50},
        "users_default": 0,
        "events_default": 0,
        "state_default": 50,
        "ban": 50,
        "kick": 50,
        "redact": 50,
        "invite": 0,
    }
    put = await creator.room_put_state(room_id, "m.room.power_levels", levels)
    assert isinstance(put, nio.RoomPutStateResponse), put
    a, c = Room(anim, room_id, bot.user_id), Room(creator, room_id, bot.user_id)
    await a.say("!cercle creer Cercle")
    await a.expect_text("créé")
    await c.say("!seance")
    refused = await c.expect_text("Seuls les animateurs")
    assert "ouverte" not in refused.body
    await a.say("!seance")
    await a.expect_text("ouverte")


async def test_a_raised_hand_counts_only_on_the_live_status(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    alice = await make_client("alice", encryption=False)
    room_id = await create_room(anim, alice, name="Cercle")
    await invite_bot(anim, room_id, bot.user_id)
    a, al = Room(anim, room_id, bot.user_id), Room(alice, room_id, bot.user_id)
    await a.say("!cercle creer Cercle")
    created = await a.expect_text("créé")
    await a.say("!cercle protocole libre")
    await a.expect_text("libre")
    await a.say("!seance")
    await a.expect_text("ouverte")
    await a.say("!seance phase suivante")
    await a.expect_text("Phase : Parole libre")
    hand = {"rel_type": "m.annotation", "event_id": created.event_id, "key": "✋"}
    reacted = await alice.room_send(room_id, "m.reaction", {"m.relates_to": hand})
    assert isinstance(reacted, nio.RoomSendResponse)
    await al.say("!file")  # a marker: everything the bot said before its answer
    said = await al.answers_until(lambda body: body.startswith("alice"), "the answer to /file")
    assert "Parole : personne" in said[-1].body
    assert not any("vous avez la parole" in e.body for e in said)  # the ✋ was not a /tour
    status = await a.expect(lambda body: body.startswith("Séance 1 — Cercle"), "the status")
    hand = {"rel_type": "m.annotation", "event_id": status.event_id, "key": "✋"}
    reacted = await alice.room_send(room_id, "m.reaction", {"m.relates_to": hand})
    assert isinstance(reacted, nio.RoomSendResponse)
    await al.expect_text("vous avez la parole")


async def test_a_password_login_never_logs_its_token_and_keeps_files_private(
    synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    localpart = unique_localpart("cercle")
    user_id, _, _ = await register(synapse, localpart, "mot-de-passe-long")
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    database = Database(url)
    core = CercleCore(database, SystemClock())
    config = MatrixConfig(
        homeserver=synapse.url, user_id=user_id, password="mot-de-passe-long", encryption=True
    )
    adapter = MatrixAdapter(core, config, tmp_path / "data")
    redactor = Redactor()  # as `cercle run` installs it, before the token exists
    try:
        with caplog.at_level(logging.DEBUG):
            await adapter.login()
        token = adapter.client.access_token
        assert token
        assert "nio.responses" in {r.name for r in caplog.records}  # nio did log the response
        assert token not in caplog.text
        assert redactor.redact(f"a stray {token}") == "a stray ***"
        for record in caplog.records:
            assert token not in record.getMessage()
        folder = tmp_path / "data" / "matrix"
        for path in [folder, *folder.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    finally:
        await adapter.stop(flush_seconds=0)
        await database.close()
