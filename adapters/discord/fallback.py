"""Every interaction gets an answer, even one the bot cannot run.

After an upgrade, Discord clients keep showing the old command list for a while: a command
that no longer exists, options that no longer match, a button from an old message. discord.py
answers none of them, and the person sees "The application did not respond". Here they get a
private "commands are being updated, try again in a minute", in their language; a command
that failed inside gets "something went wrong: nothing was changed".
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import discord
from discord import app_commands

from adapters.discord.markup import NO_PINGS
from bot.i18n.catalog import CatalogTranslator

log = logging.getLogger(__name__)

UPDATING = "discord.updating"
FAILED = "command.failed"
STALE = (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)


def language_of(interaction: discord.Interaction) -> str:
    """The person's own Discord language when it is English, else French (the default)."""
    locale = str(interaction.locale or interaction.guild_locale or "fr")
    return "en" if locale.startswith("en") else "fr"


async def tell(interaction: discord.Interaction, text: str) -> None:
    """A private answer, whether or not the interaction was acknowledged already."""
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            if not interaction.response.is_done():
                await interaction.response.autocomplete([])
            return
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException as error:
        log.warning("could not answer interaction %s (%s)", interaction.id, error.status)


def install(
    client: discord.Client,
    tree: app_commands.CommandTree[discord.Client],
    custom_ids: Collection[str],
    tr: CatalogTranslator,
    prefixes: tuple[str, ...] = (),
) -> None:
    """Answer what the command tree and the status buttons leave unanswered."""

    @tree.error
    async def on_command_error(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, STALE):
            log.info("stale command from a Discord client: %s", type(error).__name__)
            await tell(interaction, tr.text(language_of(interaction), UPDATING))
            return
        log.error("command failed", exc_info=error)
        await tell(interaction, tr.text(language_of(interaction), FAILED))

    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            data: dict[str, object] = dict(interaction.data or {})
            custom_id = str(data.get("custom_id", ""))
            if custom_id in custom_ids or (prefixes and custom_id.startswith(prefixes)):
                return  # the status buttons' view (or a button made from its id) answers it
        elif interaction.type is not discord.InteractionType.modal_submit:
            return  # commands and their suggestions: the command tree answers them
        await tell(interaction, tr.text(language_of(interaction), UPDATING))

    client.event(on_interaction)
