"""The home of a circle for each adapter: the bot account its channel is reached through.

Kept free of platform libraries, so that start-up can build an instance's partition (see
bot/partition.py) without importing discord.py or matrix-nio.
"""

from __future__ import annotations

DISCORD_HOME = "discord"  # one bot user; servers are shared out by shard, not by home


def console_home(account: str) -> str:
    return f"console:{account}"


def matrix_home(user_id: str) -> str:
    return f"matrix:{user_id}"
