"""Slash commands generated from the core's declarations, French names with English ones.

Each slash command's options are turned back into the text the core's parser reads (`/seance
phase tour <@123>`), so every platform goes through the same parsing, checks and answers.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str

from bot.commands.spec import ArgKind, ArgSpec, CommandSpec
from bot.i18n.catalog import CatalogTranslator

Run = Callable[[discord.Interaction, str], Awaitable[None]]
# (interaction, what is asked — "seance" or "protocol" — and what was typed so far)
Complete = Callable[[discord.Interaction, str, str], Awaitable[list[app_commands.Choice[Any]]]]

# Which arguments get suggestions as people type, and of what.
AUTOCOMPLETE = {
    ("excuse", "number"): "seance",
    ("annuler", "number"): "seance",
    ("deplacer", "number"): "seance",
    ("protocole", "name"): "protocol",
}

ENGLISH = (discord.Locale.american_english, discord.Locale.british_english)
# Discord cannot run a group by itself: a command that also runs alone gets a subcommand.
BASE_SUBCOMMAND = {
    "seance": ("ouvrir", "open"),
    "action": ("ajouter", "add"),
    "recap": ("voir", "show"),
    "prepa": ("repondre", "answer"),
    "cas": ("liste", "list"),
}
DEFAULT_BASE_SUBCOMMAND = ("lancer", "run")
DESCRIPTION_LIMIT = 100


def slug(text: str) -> str:
    """A Discord option name: lower case, no accents, words joined by hyphens."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:32] or "x"


class CatalogCommandTranslator(app_commands.Translator):
    """English names and descriptions for English Discord clients, from `en=` extras."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale in ENGLISH:
            english = string.extras.get("en")
            return str(english) if english else None
        return None


def _description(tr: CatalogTranslator, key: str) -> locale_str:
    fr = tr.text("fr", key)[:DESCRIPTION_LIMIT]
    en = tr.text("en", key)[:DESCRIPTION_LIMIT]
    return locale_str(fr, en=en)


def _annotation(arg: ArgSpec) -> Any:
    if arg.kind is ArgKind.INT:
        kind: Any = app_commands.Range[int, 1, 1_000_000]
    elif arg.kind is ArgKind.USER:
        kind = discord.Member
    elif arg.kind is ArgKind.CHOICE:
        kind = app_commands.Choice[str]
    else:
        kind = str
    return kind if arg.required else kind | None


def _token(arg: ArgSpec, value: Any) -> str:
    if isinstance(value, app_commands.Choice):
        return str(value.value)
    if isinstance(value, discord.abc.User):
        return f"<@{value.id}>"
    return str(value)


def _callback(
    words: tuple[str, ...],
    args: tuple[ArgSpec, ...],
    run: Run,
    tr: CatalogTranslator,
    complete: Complete | None = None,
) -> Callable[..., Awaitable[None]]:
    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        parts = ["/" + " ".join(words)]
        for arg in args:
            value = values.get(arg.name)
            if value is not None:
                parts.append(_token(arg, value))
        await run(interaction, " ".join(parts))

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for arg in args:
        parameters.append(
            inspect.Parameter(
                arg.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(arg),
                default=inspect.Parameter.empty if arg.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = "cercle_" + "_".join(words)
    callback.__discord_app_commands_param_rename__ = {  # type: ignore[attr-defined]
        arg.name: locale_str(slug(arg.fr), en=slug(arg.en)) for arg in args
    }
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        arg.name: locale_str(arg.fr[:DESCRIPTION_LIMIT], en=arg.en[:DESCRIPTION_LIMIT])
        for arg in args
    }
    if complete is not None:
        suggestions = {
            arg.name: _suggester(complete, AUTOCOMPLETE[(words[-1], arg.name)])
            for arg in args
            if (words[-1], arg.name) in AUTOCOMPLETE
        }
        callback.__discord_app_commands_param_autocomplete__ = suggestions  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_choices__ = {  # type: ignore[attr-defined]
        arg.name: [
            app_commands.Choice(name=locale_str(c.fr, en=c.en), value=c.fr) for c in arg.choices
        ]
        for arg in args
        if arg.kind is ArgKind.CHOICE
    }
    return callback


def _suggester(
    complete: Complete, what: str
) -> Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[Any]]]]:
    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[Any]]:
        return await complete(interaction, what, current)

    return suggest


def _command(
    spec: CommandSpec,
    words: tuple[str, ...],
    run: Run,
    tr: CatalogTranslator,
    name: tuple[str, str] | None = None,
    complete: Complete | None = None,
) -> app_commands.Command[Any, ..., None]:
    fr, en = name or (spec.fr, spec.en)
    return app_commands.Command(
        name=locale_str(fr, en=en),
        description=_description(tr, f"help.{spec.key}"),
        callback=_callback(words, spec.args, run, tr, complete),
    )


def build_commands(
    specs: tuple[CommandSpec, ...],
    run: Run,
    tr: CatalogTranslator,
    complete: Complete | None = None,
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """One slash command per core command; a group for those with subcommands.

    A command that both runs by itself and has subcommands (`/seance`) gets an `ouvrir`
    subcommand, since Discord cannot run a group by itself."""
    out: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    for spec in specs:
        if not spec.subcommands:
            out.append(_command(spec, (spec.fr,), run, tr, complete=complete))
            continue
        group = app_commands.Group(
            name=locale_str(spec.fr, en=spec.en),
            description=_description(tr, f"help.{spec.key}" if spec.handler else "help.aide"),
        )
        if spec.handler is not None:
            name = BASE_SUBCOMMAND.get(spec.fr, DEFAULT_BASE_SUBCOMMAND)
            group.add_command(_command(spec, (spec.fr,), run, tr, name=name, complete=complete))
        for sub in spec.subcommands:
            group.add_command(_command(sub, (spec.fr, sub.fr), run, tr, complete=complete))
        out.append(group)
    return out
