"""`cercle discord sync`: register the slash commands with Discord, globally or for one server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands

from adapters.config import DiscordConfig
from adapters.discord.commands import CatalogCommandTranslator, build_commands
from bot.commands.parser import ParsedCommand
from bot.domain.refs import UserRef
from bot.i18n.catalog import CatalogTranslator
from bot.registry import COMMANDS


async def _unused(
    interaction: discord.Interaction, command: ParsedCommand, names: Mapping[UserRef, str]
) -> None:
    raise RuntimeError("commands are only registered here, not run")


async def _no_suggestions(
    interaction: discord.Interaction, what: str, typed: str
) -> list[app_commands.Choice[Any]]:
    return []


async def sync_commands(config: DiscordConfig, guild_id: int | None) -> int:
    """Log in over REST only (no gateway), put the command list, and say how many."""
    if not config.token:
        raise RuntimeError("no Discord token in the environment")
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)
    await tree.set_translator(CatalogCommandTranslator())
    hide = discord.Permissions(manage_channels=True) if config.hide_facilitator_commands else None
    commands = build_commands(
        COMMANDS,
        _unused,
        CatalogTranslator(),
        complete=_no_suggestions,
        facilitator_permissions=hide,
    )
    for command in commands:
        tree.add_command(command)
    try:
        await client.login(config.token)
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
        else:
            synced = await tree.sync()
    finally:
        await client.close()
    return len(synced)
