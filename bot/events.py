"""What adapters hand to the core."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.commands.parser import ParsedCommand
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.voice import VoiceRoom


def _no_mentions(_: str) -> UserRef | None:
    return None


@dataclass(frozen=True, slots=True)
class CommandEvent:
    """A message that may hold a command, from a person in a channel.

    `platform_facilitator` is the platform's own say (Discord permission, Matrix power level),
    meaningful when `platform_knows_roles`;
    `resolve_user` turns a mention as typed on that platform into a person.

    `command`, when the platform already knows the command and its typed arguments (a Discord
    slash command's options, a button), is used as is: `text` is then only a label, and what
    someone typed in an option is never parsed again as a command, a mention or more options.
    `names` are display names the platform sent along for people the command mentions."""

    channel: ChannelRef
    author: UserRef
    author_name: str
    text: str
    platform_facilitator: bool = False
    platform_knows_roles: bool = False  # the console does not; Discord and Matrix do
    resolve_user: Callable[[str], UserRef | None] = field(default=_no_mentions)
    # The bot account and (Discord) server it came through: see bot/partition.py.
    home: str | None = None
    shard_key: int | None = None
    command: ParsedCommand | None = None
    names: Mapping[UserRef, str] = field(default_factory=dict)
    # The platform's id of the event (Matrix event id, Discord interaction id), prefixed with
    # the platform: an event seen again is not handled twice (bot/outbox.py). None: no such id.
    event_id: str | None = None
    # The person's interface language as the platform reports it (Discord's interaction
    # locale, "en-US"), when it does: it chooses a new circle's language.
    locale: str | None = None
    # Sent from outside the channel (the circle's web page): never counts as being present.
    remote: bool = False
    # A voice or Stage channel as typed (`<#123>`) → what the platform knows of it; None where
    # the platform has no voice channels Cercle can follow (Matrix, the console).
    resolve_voice: Callable[[str], VoiceRoom | None] | None = None
    # Sent by direct message to the bot (bot/direct.py): the sender's answers go back there,
    # as confidential replies, never to the circle's channel.
    direct: bool = False
    # An answer given on a message (a button, a reaction): only members may answer so, and
    # nobody joins the circle by it (bot/handlers/live.py).
    members_only: bool = False
