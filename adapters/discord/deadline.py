"""Discord's 3-second deadline: acknowledge an interaction before it runs out.

Discord drops an interaction that gets no callback within 3 s of its creation, and the person
sees "The application did not respond". The core usually answers in a few milliseconds, and
the answer itself is then the callback. But the commands of one circle run one at a time: when
200 members press ✋ together, the last one waits for the 199 before it. So a command that
arrives while its circle is busy is deferred at once (a "thinking…" placeholder, which costs
no core work), and any other command is deferred if the core has not answered within
`WAIT_SECONDS` of the interaction's creation; its answer then comes as a follow-up.

In a burst the deferral goes first: the command reaches the core only once it is acknowledged
(the adapter keeps the commands of a channel in their order of arrival), so 200 acknowledgements
are not each held up behind the core work of the commands before them. And while deferrals are
on their way (`Acknowledgements`), the core work of a crowd waits for them: the deadline is on
the acknowledgement, and the answers, which come as follow-ups, have fifteen minutes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import discord

log = logging.getLogger(__name__)
WAIT_SECONDS = 1.0  # from the interaction's creation; Discord allows 3
MIN_WAIT_SECONDS = 0.05  # a clock ahead of Discord's still gives the core a moment


def time_left(interaction: discord.Interaction, now: datetime | None = None) -> float:
    """How long to wait for the core before deferring `interaction`."""
    age = ((now or datetime.now(UTC)) - interaction.created_at).total_seconds()
    return min(WAIT_SECONDS, max(MIN_WAIT_SECONDS, WAIT_SECONDS - max(age, 0.0)))


async def acknowledge_in_time(
    interaction: discord.Interaction, handling: asyncio.Future[Any], busy: bool
) -> None:
    """Defer `interaction` now if its circle is `busy`, else once the core has taken too long."""
    if not busy:
        done, _ = await asyncio.wait({handling}, timeout=time_left(interaction))
        if done:
            return
    await acknowledge_now(interaction)


async def acknowledge_now(interaction: discord.Interaction) -> None:
    """Defer `interaction` (a "thinking…" placeholder) unless it was answered already."""
    if interaction.response.is_done():
        return
    try:
        await interaction.response.defer(ephemeral=True, thinking=True)
    except discord.HTTPException as error:  # expired already: the answer goes to the channel
        log.warning("could not defer an interaction (%s)", error.status)


class Acknowledgements:
    """Deferrals on their way to Discord, which a crowd's core work lets go first."""

    def __init__(self) -> None:
        self._pending = 0
        self._none = asyncio.Event()
        self._none.set()

    async def defer(self, interaction: discord.Interaction) -> None:
        """`acknowledge_now`, counted while it is on its way."""
        self._pending += 1
        self._none.clear()
        try:
            await acknowledge_now(interaction)
        finally:
            self._pending -= 1
            if not self._pending:
                self._none.set()

    async def sent(self) -> None:
        """Until no deferral is on its way (at once if none is)."""
        await self._none.wait()
