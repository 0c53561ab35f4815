"""How a command is declared: names in both languages, arguments, required role, handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.domain.roles import Role

if TYPE_CHECKING:
    from bot.commands.context import Context

Handler = Callable[["Context", dict[str, Any]], Awaitable[None]]


class ArgKind(StrEnum):
    """What an argument holds, and so how it is parsed."""

    WORD = "word"  # one token
    INT = "int"  # a whole number
    USER = "user"  # a mention of a person
    CHOICE = "choice"  # one of declared values (each with French and English spellings)
    REST = "rest"  # the rest of the line, as typed
    SEANCE = "seance"  # a séance by its number (2) or its date (10/12, 2026-12-10)


@dataclass(frozen=True, slots=True)
class Choice:
    """One value of a CHOICE argument and the words that select it."""

    value: str
    fr: str
    en: str
    aliases: tuple[str, ...] = ()

    def words(self) -> tuple[str, ...]:
        return (self.fr, self.en, *self.aliases)


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One declared argument."""

    name: str
    kind: ArgKind
    fr: str
    en: str
    required: bool = True
    choices: tuple[Choice, ...] = ()

    def label(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command or subcommand: `fr` is its name, `en` its English alias."""

    fr: str
    en: str
    role: Role
    handler: Handler | None = None
    args: tuple[ArgSpec, ...] = ()
    subcommands: tuple[CommandSpec, ...] = ()
    needs_circle: bool = True
    platform_role: Role = Role.ANYONE  # what the platform must grant, where it knows roles
    marks_present: bool = True  # sending it during an open séance records you as present
    aliases: tuple[str, ...] = ()
    parent: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Stable identifier, e.g. `seance.phase`, used for help texts and metrics."""
        return f"{self.parent}.{self.fr}" if self.parent else self.fr

    def name(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en

    def words(self) -> tuple[str, ...]:
        return (self.fr, self.en, *self.aliases)

    def usage(self, lang: str, parent_name: str | None = None) -> str:
        parts = ["/" + (f"{parent_name} " if parent_name else "") + self.name(lang)]
        for arg in self.args:
            label = arg.label(lang)
            if arg.kind is ArgKind.CHOICE:
                label = "|".join(c.fr if lang == "fr" else c.en for c in arg.choices)
            elif arg.kind is ArgKind.USER:
                label = "@" + label
            parts.append(f"<{label}>" if arg.required else f"[{label}]")
        return " ".join(parts)


# A command that runs alone and also has subcommands is, on Discord, one of its subcommands
# (Discord cannot run a group by itself): `/action ajouter`, `/seance ouvrir`. People who learnt
# it there type the same word elsewhere, so the parser accepts it too.
BASE_SUBCOMMAND = {
    "seance": ("ouvrir", "open"),
    "action": ("ajouter", "add"),
    "recap": ("voir", "show"),
    "lien": ("donner", "get"),
    "prepa": ("repondre", "answer"),
    "cas": ("liste", "list"),
}
DEFAULT_BASE_SUBCOMMAND = ("lancer", "run")


def base_subcommand(spec: CommandSpec) -> tuple[str, str]:
    """The (French, English) name under which a command's own form is listed on Discord."""
    return BASE_SUBCOMMAND.get(spec.fr, DEFAULT_BASE_SUBCOMMAND)
