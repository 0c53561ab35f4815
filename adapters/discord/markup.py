"""Text the bot posts on Discord shows as typed: no pings, no formatting, no disguised links.

The core's messages mix the catalogs' words with what people typed (names, notes, actions), and
the catalogs hold no Markdown, so a whole message can be escaped: a display name starting with
`**` stays a name, `[site officiel](https://…)` in a note shows its address, `# titre` stays a
line of text. Pings are another matter, handled by `allowed_mentions`: nobody is pinged but the
people a message is for.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord

from bot.domain.refs import UserRef

NO_PINGS = discord.AllowedMentions.none()


def safe(text: str, limit: int) -> str:
    """`text` with Discord's Markdown escaped, cut to `limit` characters."""
    return discord.utils.escape_markdown(text)[:limit]


def pinging(users: Iterable[UserRef], platform: str) -> discord.AllowedMentions:
    """Only these people may be pinged: never @everyone, @here or a role."""
    ids = [discord.Object(id=int(u.id)) for u in users if u.platform == platform and u.id.isdigit()]
    return discord.AllowedMentions(everyone=False, users=ids, roles=False, replied_user=False)
