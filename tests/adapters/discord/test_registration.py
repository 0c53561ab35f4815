"""What Cercle registers with Discord: descriptions that say what each command does, and
facilitator-only commands hidden from participants when the server asks for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import CatalogCommandTranslator, build_commands
from bot.commands.parser import ParsedCommand
from bot.domain.refs import UserRef
from bot.i18n.catalog import CatalogTranslator
from bot.registry import COMMANDS


async def _never(
    interaction: discord.Interaction, command: ParsedCommand, names: Mapping[UserRef, str]
) -> None:
    raise AssertionError("not run here")


async def _payloads(
    permissions: discord.Permissions | None = None,
) -> dict[str, dict[str, Any]]:
    """The commands as `tree.sync` sends them, English localisations included."""
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    commands = build_commands(
        COMMANDS, _never, CatalogTranslator(), facilitator_permissions=permissions
    )
    translator = CatalogCommandTranslator()
    return {c.name: await c.get_translated_payload(tree, translator) for c in commands}


def _options(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for option in payload.get("options", []):
        if option["type"] in (1, 2):
            found.extend(_options(option))
        else:
            found.append(option)
    return found


async def test_descriptions_say_what_commands_and_options_do() -> None:
    payloads = await _payloads()
    assert payloads["aide"]["description"] == "voir les commandes de Cercle et ce que fait chacune"
    assert payloads["cercle"]["description"].startswith("créer le cercle et le régler")
    for payload in payloads.values():
        for option in _options(payload):
            assert len(option["description"]) > 8, (payload["name"], option["name"])
            assert option["description"] != option["name"]
    excuse = payloads["excuse"]["options"][0]
    assert excuse["description"] == "le numéro de la séance (la liste vous les propose)"
    assert excuse["description_localizations"]["en-US"].startswith("the session's number")


async def test_facilitator_commands_are_hidden_only_when_asked() -> None:
    shown = await _payloads()
    assert all(p.get("default_member_permissions") is None for p in shown.values())
    hidden = await _payloads(discord.Permissions(manage_channels=True))
    manage_channels = discord.Permissions(manage_channels=True).value
    for name in ("suivant", "decision", "bilan"):
        assert int(hidden[name]["default_member_permissions"]) == manage_channels, name
    # /export ics is every member's (the calendar holds no personal data)
    for name in ("tour", "seance", "cercle", "recap", "aide", "export"):
        assert hidden[name].get("default_member_permissions") is None, name
