"""A whole séance on Discord: the unmodified discord.py client against the loopback Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import discord
import pytest

from adapters.config import DiscordConfig
from adapters.discord.adapter import DiscordAdapter
from bot.app import CercleCore
from bot.timing.clock import ManualClock
from storage.database import Database
from tests.adapters.discord.conftest import CLIENT_OPTIONS, DiscordClientFactory
from tests.adapters.discord.loopback import Channel, Guild, LoopbackDiscord, Member, Permission
from tests.conftest import migrated_sqlite

TIMEOUT = 10.0
START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


@dataclass
class World:
    guild: Guild
    channel: Channel
    anim: Member
    people: dict[str, Member]


@pytest.fixture
def world(loopback: LoopbackDiscord) -> World:
    guild = loopback.add_guild("Réseau ESS", channels=("cercle",), locale="fr")
    channel = guild.channel("cercle")
    anim = loopback.add_member(guild, "camille", locale="fr")
    loopback.set_permissions(channel, anim, allow=Permission.MANAGE_CHANNELS)
    people = {
        name: loopback.add_member(guild, name, locale="fr") for name in ("ali", "bea", "chloe")
    }
    return World(guild, channel, anim, people)


@pytest.fixture
async def start_cercle(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    world: World,
    tmp_path: Path,
) -> AsyncIterator[Callable[[], object]]:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    databases: list[Database] = []
    adapters: list[DiscordAdapter] = []

    async def start() -> DiscordAdapter:
        database = Database(url)
        databases.append(database)
        core = CercleCore(database, ManualClock(START))  # exact, repeatable speaking times
        await core.start()
        intents = discord.Intents.default()
        client = discord.Client(intents=intents, **CLIENT_OPTIONS)
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


async def test_a_whole_seance_with_slash_commands_and_buttons(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[[], object]
) -> None:
    await start_cercle()  # type: ignore[misc]
    names = {c["name"] for c in loopback.registered_commands(world.guild)}
    assert {"tour", "passe", "fini", "seance", "cercle", "suivant", "aide", "export"} <= names
    seance = next(c for c in loopback.registered_commands(world.guild) if c["name"] == "seance")
    assert seance["name_localizations"]["en-US"] == "session"
    excuse = next(c for c in loopback.registered_commands(world.guild) if c["name"] == "excuse")
    assert excuse["options"][0]["autocomplete"] is True  # upcoming séance numbers

    anim, ali, bea = world.anim, world.people["ali"], world.people["bea"]
    said = await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    assert said.startswith("Cercle « Cercle ESS » créé.")

    # a participant trying a facilitator command: refused, ephemeral, nothing changes
    interaction = await loopback.send_slash(ali, world.channel, "seance ouvrir")
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert "Seuls les animateurs" in (callback.content or "")

    assert (await slash(loopback, anim, world, "seance ouvrir")).startswith("Séance 1 du cercle")
    for person in (ali, bea):
        await slash(loopback, person, world, "present")
    said = await slash(loopback, anim, world, "seance phase", phase="suivante")
    assert said.startswith("Phase : Météo")
    status = await loopback.wait_message(
        world.channel, lambda m: bool(m.embeds) and m.custom_ids(), TIMEOUT
    )
    assert status.custom_ids() == ["cercle:tour", "cercle:passe", "cercle:fini", "cercle:suivant"]

    assert (await slash(loopback, anim, world, "fini")).startswith("camille a terminé")
    # ali passes with the button under the live status
    clicked = await loopback.click(ali, status, "cercle:passe")
    assert (await clicked.wait_callback(TIMEOUT)).content == "ali passe."
    await slash(loopback, bea, world, "fini")
    said = await slash(loopback, anim, world, "seance phase", phase="suivante")
    assert said.startswith("Phase : Parole libre")

    said = await slash(loopback, bea, world, "tour", motif="une question")
    assert said == f"<@{bea.id}> bea, vous avez la parole."  # the new speaker is pinged
    interaction = await loopback.send_slash(ali, world.channel, "tour")
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert callback.content == "C'est noté : vous êtes n° 1 dans la file."
    clicked = await loopback.click(anim, status, "cercle:tour")
    assert (await clicked.wait_callback(TIMEOUT)).content == (
        "C'est noté : vous êtes n° 2 dans la file."
    )
    said = await slash(loopback, anim, world, "suivant")
    assert said.startswith("bea a terminé")

    def edited_to(text: str) -> Callable[[], bool]:
        return lambda: any(text in (e.get("description") or "") for e in status.embeds)

    await loopback.wait_for(edited_to("Parole : ali"), TIMEOUT, what="status edited in place")
    assert len(status.edits) >= 3

    await slash(loopback, ali, world, "note", texte="Déléguer, c'est dire ce qu'on ne fait plus.")
    said = await slash(loopback, anim, world, "seance fin")
    assert said.startswith("Séance 1 terminée.")
    recap = await loopback.wait_message(
        world.channel,
        lambda m: any("Récapitulatif" in (e.get("title") or "") for e in m.embeds),
        TIMEOUT,
    )
    embed = recap.embeds[0]
    description = "\n".join(
        [embed.get("description") or ""]
        + [f"{f['name']}\n{f['value']}" for f in embed.get("fields", [])]
    )
    assert "Présent·es (3) : camille, ali, bea" in description
    assert "Temps de parole" in description
    assert "Déléguer, c'est dire ce qu'on ne fait plus." in description
    assert loopback.unknown_routes == []


async def test_buttons_keep_working_after_a_restart_and_the_gateway_resumes(
    loopback: LoopbackDiscord, world: World, start_cercle: Callable[[], object]
) -> None:
    first = await start_cercle()  # type: ignore[misc]
    anim, ali = world.anim, world.people["ali"]
    await slash(loopback, anim, world, "cercle creer", nom="Cercle")
    await slash(loopback, anim, world, "cercle protocole", nom="libre")
    await slash(loopback, anim, world, "seance ouvrir")  # libre: the floor opens at once
    status = await loopback.wait_message(
        world.channel, lambda m: bool(m.embeds) and m.custom_ids(), TIMEOUT
    )
    await loopback.drop_connection()
    await loopback.wait_connected(TIMEOUT)
    assert (await slash(loopback, ali, world, "tour")).endswith("ali, vous avez la parole.")

    await first.stop(flush_seconds=1)  # type: ignore[attr-defined]
    await start_cercle()  # type: ignore[misc]
    clicked = await loopback.click(ali, status, "cercle:fini")
    assert (await clicked.wait_callback(TIMEOUT)).content.startswith("ali a terminé")
    assert loopback.unknown_routes == []
