"""Nothing lost, nothing twice, on Discord (the real discord.py against the loopback Discord): an
interaction replayed by a gateway RESUME, a channel that refuses or fails while another works,
and a recap still queued when the process goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from adapters.config import DiscordConfig
from adapters.discord.adapter import DiscordAdapter
from bot.app import CercleCore
from bot.domain.refs import ChannelRef
from bot.effects import Reply
from bot.timing.clock import ManualClock
from storage.database import Database
from tests.adapters.discord.conftest import CLIENT_OPTIONS, DiscordClientFactory
from tests.adapters.discord.loopback import (
    Channel,
    Guild,
    LoopbackDiscord,
    Member,
    Message,
    Permission,
)
from tests.conftest import migrated_sqlite

TIMEOUT = 10.0
START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


@dataclass
class World:
    guild: Guild
    channel: Channel
    anim: Member
    ali: Member


@pytest.fixture
def world(loopback: LoopbackDiscord) -> World:
    guild = loopback.add_guild("Réseau ESS", channels=("cercle", "a", "b", "c"), locale="fr")
    channel = guild.channel("cercle")
    anim = loopback.add_member(guild, "camille", locale="fr")
    loopback.set_permissions(channel, anim, allow=Permission.MANAGE_CHANNELS)
    return World(guild, channel, anim, loopback.add_member(guild, "ali", locale="fr"))


@pytest.fixture
async def start_cercle(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    world: World,
    tmp_path: Path,
) -> AsyncIterator[Callable[..., object]]:
    """Start Cercle on one database; starting it again is a restart of the process."""
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    databases: list[Database] = []
    adapters: list[DiscordAdapter] = []

    async def start(at: datetime = START) -> DiscordAdapter:
        database = Database(url)
        databases.append(database)
        core = CercleCore(database, ManualClock(at))
        await core.start()
        client = discord.Client(intents=discord.Intents.default(), **CLIENT_OPTIONS)
        config = DiscordConfig(token=loopback.token, guild_ids=(world.guild.id,))
        adapter = DiscordAdapter(core, config, client=client)
        await discord_client_factory(client)
        adapters.append(adapter)
        return adapter

    yield start
    for adapter in adapters:
        await adapter.stop(flush_seconds=1)
    for database in databases:
        await database.close()


async def slash(
    loopback: LoopbackDiscord, who: Member, world: World, command: str, **options: object
) -> str:
    interaction = await loopback.send_slash(who, world.channel, command, options or None)
    callback = await interaction.wait_callback(TIMEOUT)
    return callback.content or ""


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll state that lives in the bot (not in the loopback's records) until it holds."""
    step = 0.02
    for _ in range(int(TIMEOUT / step)):
        if check():
            return
        await asyncio.sleep(step)
    raise TimeoutError(f"waited {TIMEOUT} s for {what}")


async def notes(adapter: DiscordAdapter, world: World) -> list[str]:
    async with adapter.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(ChannelRef("discord", str(world.channel.id)))
        assert circle is not None
        items = await uow.items.for_circle(circle.id)
        await uow.commit()
    return [item.text for item in items]


async def test_an_interaction_replayed_by_a_resume_is_not_handled_again(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[..., object]
) -> None:
    adapter: DiscordAdapter = await start_cercle()  # type: ignore[misc]
    await slash(loopback, world.anim, world, "cercle creer", nom="Cercle ESS")
    interaction = await loopback.send_slash(world.ali, world.channel, "note", {"texte": "Une"})
    callback = await interaction.wait_callback(TIMEOUT)
    assert "Note n° 1" in (callback.content or "")

    # Discord delivers at least once: the RESUME replays the interaction the bot had already
    loopback.replay_on_resume_from = interaction.sequence
    await loopback.drop_connection()
    await loopback.wait_for(lambda: loopback.resumes == 1, TIMEOUT, what="the RESUME")
    await loopback.wait_for(lambda: loopback.connected, TIMEOUT, what="the session back")
    # a marker: the replayed interaction was dispatched before it
    await slash(loopback, world.anim, world, "note", texte="Deux")
    assert await notes(adapter, world) == ["Une", "Deux"]
    assert len(interaction.callbacks) == 1  # answered once, the first time


async def test_a_channel_that_refuses_or_fails_holds_back_no_other(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[..., object]
) -> None:
    adapter: DiscordAdapter = await start_cercle()  # type: ignore[misc]
    a, b, c = (world.guild.channel(name) for name in ("a", "b", "c"))
    loopback.set_permissions(a, world.guild.bot_member, deny=Permission.SEND_MESSAGES)  # 403
    loopback.unavailable_channels.add(c.id)  # 503 until it comes back

    def reply(channel: Channel, text: str) -> Reply:
        return Reply(ChannelRef("discord", str(channel.id)), text)

    await adapter.deliver(
        [reply(a, "a1"), reply(c, "c1"), reply(b, "b1"), reply(a, "a2"), reply(c, "c2")]
    )
    await adapter.deliver([reply(b, "b2")])
    await loopback.wait_message(b, lambda m: m.content == "b2", TIMEOUT)
    assert [m.content for m in b.posted] == ["b1", "b2"]
    await eventually(lambda: adapter.sends_failed["forbidden"] == 2, "two refusals counted")
    assert a.posted == []

    loopback.unavailable_channels.discard(c.id)  # c comes back: its messages, in order
    await loopback.wait_message(c, lambda m: m.content == "c2", TIMEOUT)
    assert [m.content for m in c.posted] == ["c1", "c2"]
    assert adapter.sends_failed == {"forbidden": 2}


# Two instances in one process stand for a restart; an aiosqlite connection of the stopped one
# can be collected after its database closed (the known leak of this set-up, as in
# test_discord_shards.py): its warning at collection is not what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_recap_queued_when_the_process_went_away_is_posted_after_restart(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[..., object]
) -> None:
    adapter: DiscordAdapter = await start_cercle()  # type: ignore[misc]
    await slash(loopback, world.anim, world, "cercle creer", nom="Cercle ESS")
    assert (await slash(loopback, world.anim, world, "seance ouvrir")).startswith("Séance 1")
    await slash(loopback, world.ali, world, "note", texte="Déléguer")
    loopback.unavailable_channels.add(world.channel.id)  # the recap will not get through
    said = await slash(loopback, world.anim, world, "seance fin")
    assert said.startswith("Séance 1 terminée.")
    await eventually(lambda: adapter.send_queue_length() > 0, "the recap queued")
    waiting = await adapter.core.outbox.waiting()
    assert "recap" in {type(w.effect).__name__.lower().removesuffix("post") for w in waiting}

    # the process goes away with the recap still queued (nothing is flushed)
    await adapter.stop(flush_seconds=0)
    loopback.unavailable_channels.clear()
    again: DiscordAdapter = await start_cercle(START + timedelta(minutes=2))  # type: ignore[misc]

    def is_recap(message: object) -> bool:
        embeds = getattr(message, "embeds", [])
        return any("Récapitulatif" in (e.get("title") or "") for e in embeds)

    recap = await loopback.wait_message(world.channel, is_recap, TIMEOUT)
    assert "Déléguer" in str(recap.embeds[0])
    assert len([m for m in world.channel.posted if is_recap(m)]) == 1
    await eventually(lambda: again.send_queue_length() == 0, "everything sent")
    assert await again.core.outbox.waiting() == []


async def test_an_answer_past_the_interaction_deadline_goes_to_the_channel(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[..., object]
) -> None:
    adapter: DiscordAdapter = await start_cercle()  # type: ignore[misc]
    await slash(loopback, world.anim, world, "cercle creer", nom="Cercle ESS")
    loopback.interaction_deadline = 0.0  # every answer comes too late (a stalled bot)
    interaction = await loopback.send_slash(world.ali, world.channel, "aide")
    posted = await loopback.wait_message(
        world.channel, lambda m: "/tour" in (m.content or ""), TIMEOUT
    )
    assert interaction.late_callbacks == 1
    assert posted.content.startswith(f"<@{world.ali.id}>")  # addressed to who asked
    await eventually(lambda: adapter.send_queue_length() == 0, "everything sent")
    assert await adapter.core.outbox.waiting() == []


async def test_an_edit_lost_in_an_outage_is_made_after_a_restart_on_the_same_message(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[..., object]
) -> None:
    day_before = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # the reminder is due at 13:00
    adapter: DiscordAdapter = await start_cercle(day_before)  # type: ignore[misc]
    anim, ali = world.anim, world.ali
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await slash(loopback, ali, world, "aide")
    plan = {"quand-sujet-question": "jeudi 10 décembre 14h"}
    await slash(loopback, anim, world, "seance planifier", **plan)
    async with adapter.core.uow_factory() as uow:
        [due] = [p.due_at for p in await uow.prompts.pending() if p.kind.value == "day_before"]
        await uow.commit()
    await adapter.deliver(await adapter.core.prompts.fire_due(due))

    def asked(message: Message) -> bool:
        return message.content.startswith("Serez-vous là à la séance 1")

    question = await loopback.wait_message(world.channel, asked, TIMEOUT)
    loopback.unavailable_channels.add(world.channel.id)  # Discord stops taking edits
    clicked = await loopback.click(ali, question, "cercle:rsvp:yes")
    assert ((await clicked.wait_callback(TIMEOUT)).content or "").startswith("C'est noté")
    await eventually(lambda: adapter.send_queue_length() > 0, "the edit waiting to be sent")
    await adapter.stop(flush_seconds=0)  # the process goes away with the edit not made
    assert question.content.endswith("Réponses — oui : 0 · peut-être : 0 · non : 0")

    loopback.unavailable_channels.clear()
    # a new process, which never saw the question posted
    again: DiscordAdapter = await start_cercle(day_before + timedelta(minutes=2))  # type: ignore[misc]
    await loopback.wait_for(
        lambda: question.content.endswith("Réponses — oui : 1 (ali) · peut-être : 0 · non : 0"),
        TIMEOUT,
        what="the edit made after the restart",
    )
    # the buttons of the old message still answer, and edit that same message
    clicked = await loopback.click(anim, question, "cercle:rsvp:maybe")
    await clicked.wait_callback(TIMEOUT)
    await loopback.wait_for(
        lambda: question.content.endswith(
            "Réponses — oui : 1 (ali) · peut-être : 1 (camille) · non : 0"
        ),
        TIMEOUT,
        what="an answer after the restart",
    )
    assert [m for m in world.channel.posted if asked(m)] == [question]
    await eventually(lambda: again.send_queue_length() == 0, "everything sent")
    assert await again.core.outbox.waiting() == []
