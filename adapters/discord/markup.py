"""Text the bot posts on Discord shows as typed: no pings, no formatting, no disguised links.

The core's messages mix the catalogs' words with what people typed (names, notes, actions), and
the catalogs hold no Markdown, so a whole message can be escaped: a display name starting with
`**` stays a name, `[site officiel](https://…)` in a note shows its address, `# titre` stays a
line of text. Dates the core wrote in the circle's zone become Discord timestamps, which each
reader sees in their own zone ("dans 3 jours" too); other platforms keep the circle's zone.
Pings are another matter, handled by `allowed_mentions`: nobody is pinged but the people a
message is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import discord

from bot.domain.refs import UserRef
from bot.effects import Reply

NO_PINGS = discord.AllowedMentions.none()


def safe(text: str, limit: int) -> str:
    """`text` with Discord's Markdown escaped, cut to `limit` characters."""
    return discord.utils.escape_markdown(text)[:limit]


def timestamp(at: datetime) -> str:
    """A date each reader sees in their own zone and language, and how far it is."""
    seconds = int(at.timestamp())
    return f"<t:{seconds}:F> (<t:{seconds}:R>)"


def shown(reply: Reply, limit: int) -> str:
    """A reply as Discord shows it: escaped, its dates as Discord timestamps."""
    text = discord.utils.escape_markdown(reply.text)
    for moment in reply.moments:
        text = text.replace(discord.utils.escape_markdown(moment.text), timestamp(moment.at), 1)
    return text[:limit]


def pinging(users: Iterable[UserRef], platform: str) -> discord.AllowedMentions:
    """Only these people may be pinged: never @everyone, @here or a role."""
    ids = [discord.Object(id=int(u.id)) for u in users if u.platform == platform and u.id.isdigit()]
    return discord.AllowedMentions(everyone=False, users=ids, roles=False, replied_user=False)
