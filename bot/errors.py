"""The one way a handler says no (a refusal with a message key, in the circle's language), and
what happens when another instance changed a circle first (the work is run again)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 5
BACKOFF = 0.004  # seconds: the pause before the second attempt, doubled at each one after


class Refusal(Exception):
    """A command that cannot be carried out; nothing it touched is kept."""

    def __init__(self, key: str, **args: Any) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


class TryAgain(Exception):
    """The unit of work was rolled back for a reason that running it again can cure."""


class ConcurrentChange(TryAgain):
    """Another process changed a circle or séance since this unit of work read it (several
    instances on one database): the transaction was rolled back; running again sees the
    change."""


class ConnectionLost(TryAgain):
    """The database connection broke (the server restarted, a fail-over): the pool has
    dropped it, and running again takes a fresh one."""


async def again_on_conflict(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (one whole unit of work); if another process changed what it read, or the
    connection broke, run it again on fresh data, up to ATTEMPTS times. Each conflict means
    someone else's work went through; a short random pause, longer each time, keeps two
    instances adding to one circle from colliding again and again."""
    for attempt in range(1, ATTEMPTS):
        try:
            return await work()
        except TryAgain as reason:
            log.info("run again (attempt %d): %s", attempt + 1, reason)
            await asyncio.sleep(random.uniform(0, BACKOFF * 2 ** (attempt - 1)))
    return await work()
