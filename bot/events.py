"""What adapters hand to the core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.refs import ChannelRef, UserRef


def _no_mentions(_: str) -> UserRef | None:
    return None


@dataclass(frozen=True, slots=True)
class CommandEvent:
    """A message that may hold a command, from a person in a channel.

    `platform_facilitator` is the platform's own say (Discord permission, Matrix power level),
    meaningful when `platform_knows_roles`;
    `resolve_user` turns a mention as typed on that platform into a person."""

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
    # The person's interface language as the platform reports it (Discord's interaction
    # locale, "en-US"), when it does: it chooses a new circle's language.
    locale: str | None = None
