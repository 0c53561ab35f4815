"""Slash commands generated from the core's declarations, French names with English ones.

Each slash command hands the core the command it is and its options as typed values (a
`ParsedCommand`), never as text to parse again: what someone types in a `texte` option is only
ever that option's value, even `fait 1` or `@everyone`. The core still checks every value as it
checks typed text, so refusals read the same on every platform.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str

from bot.commands.parser import ParsedCommand
from bot.commands.spec import ArgKind, ArgSpec, CommandSpec, base_subcommand
from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.i18n.catalog import CatalogTranslator

PLATFORM = "discord"
# (interaction, the command with its typed arguments, names of the people it mentions)
Run = Callable[[discord.Interaction, ParsedCommand, Mapping[UserRef, str]], Awaitable[None]]
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
DESCRIPTION_LIMIT = 100


def slug(text: str) -> str:
    """A Discord option name: lower case, no accents, words joined by hyphens."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:32].strip("-") or "x"


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


def _first_key(tr: CatalogTranslator, *keys: str) -> str | None:
    return next((key for key in keys if tr.has("fr", key) and tr.has("en", key)), None)


def _description(tr: CatalogTranslator, *keys: str) -> locale_str:
    """The first of `keys` the catalogs have, in both languages: Discord shows it under the
    command's name, so it says what the command does (`discord.*` keys say it for Discord)."""
    key = _first_key(tr, *keys) or keys[-1]
    fr = tr.text("fr", key)[:DESCRIPTION_LIMIT]
    en = tr.text("en", key)[:DESCRIPTION_LIMIT]
    return locale_str(fr, en=en)


def _option_description(tr: CatalogTranslator, spec: CommandSpec, arg: ArgSpec) -> locale_str:
    key = _first_key(tr, f"discord.option.{spec.key}.{arg.name}", f"discord.option.{arg.name}")
    if key is None:
        return locale_str(arg.fr[:DESCRIPTION_LIMIT], en=arg.en[:DESCRIPTION_LIMIT])
    return _description(tr, key)


def facilitators_only(spec: CommandSpec) -> bool:
    """A top-level command that only facilitators may use, whatever its subcommand."""
    runs = ([spec] if spec.handler is not None else []) + list(spec.subcommands)
    return bool(runs) and all(s.role >= Role.FACILITATOR for s in runs)


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


def _value(value: Any, names: dict[UserRef, str]) -> Any:
    """An option's value as the core takes it: a person becomes a `UserRef` (and their name,
    from the interaction's resolved members, is kept), a choice its declared value."""
    if isinstance(value, app_commands.Choice):
        return value.value
    if isinstance(value, discord.abc.User):
        ref = UserRef(PLATFORM, str(value.id))
        names[ref] = value.display_name
        return ref
    return value


def _callback(
    spec: CommandSpec,
    parent: CommandSpec | None,
    run: Run,
    tr: CatalogTranslator,
    complete: Complete | None = None,
    permissions: discord.Permissions | None = None,
) -> Callable[..., Coroutine[Any, Any, None]]:
    args = spec.args
    words = (parent.fr, spec.fr) if parent else (spec.fr,)

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        names: dict[UserRef, str] = {}
        typed = {
            arg.name: _value(values[arg.name], names)
            for arg in args
            if values.get(arg.name) is not None
        }
        await run(interaction, ParsedCommand(spec, typed, parent), names)

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
    decorated = app_commands.rename(
        **{arg.name: locale_str(slug(arg.fr), en=slug(arg.en)) for arg in args}
    )(callback)
    decorated = app_commands.describe(
        **{arg.name: _option_description(tr, spec, arg) for arg in args}
    )(decorated)
    if permissions is not None:
        decorated = app_commands.default_permissions(permissions)(decorated)
    if complete is not None:
        suggestions: dict[str, Any] = {
            arg.name: _suggester(complete, AUTOCOMPLETE[(words[-1], arg.name)])
            for arg in args
            if (words[-1], arg.name) in AUTOCOMPLETE
        }
        if suggestions:
            decorated = app_commands.autocomplete(**suggestions)(decorated)
    choices = {
        arg.name: [
            app_commands.Choice(name=locale_str(c.fr, en=c.en), value=c.value) for c in arg.choices
        ]
        for arg in args
        if arg.kind is ArgKind.CHOICE
    }
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    return decorated


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
    parent: CommandSpec | None,
    run: Run,
    tr: CatalogTranslator,
    name: tuple[str, str] | None = None,
    complete: Complete | None = None,
    permissions: discord.Permissions | None = None,
) -> app_commands.Command[Any, ..., None]:
    fr, en = name or (spec.fr, spec.en)
    return app_commands.Command(
        name=locale_str(fr, en=en),
        description=_description(tr, f"discord.help.{spec.key}", f"help.{spec.key}"),
        callback=_callback(spec, parent, run, tr, complete, permissions),
    )


def build_commands(
    specs: tuple[CommandSpec, ...],
    run: Run,
    tr: CatalogTranslator,
    complete: Complete | None = None,
    facilitator_permissions: discord.Permissions | None = None,
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """One slash command per core command; a group for those with subcommands.

    A command that both runs by itself and has subcommands (`/seance`) gets an `ouvrir`
    subcommand, since Discord cannot run a group by itself. With `facilitator_permissions`
    (the Discord permission that makes someone a facilitator), commands only facilitators may
    use are shown by default only to members who have it; server admins can change that."""
    out: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    for spec in specs:
        permissions = facilitator_permissions if facilitators_only(spec) else None
        if not spec.subcommands:
            out.append(_command(spec, None, run, tr, complete=complete, permissions=permissions))
            continue
        group = app_commands.Group(
            name=locale_str(spec.fr, en=spec.en),
            description=_description(tr, f"discord.group.{spec.key}", "discord.help.aide"),
            default_permissions=permissions,
        )
        if spec.handler is not None:
            name = base_subcommand(spec)
            group.add_command(_command(spec, None, run, tr, name=name, complete=complete))
        for sub in spec.subcommands:
            group.add_command(_command(sub, spec, run, tr, complete=complete))
        out.append(group)
    return out
