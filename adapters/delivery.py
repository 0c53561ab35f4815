"""Sending what the core decided, room by room: in order, retried, each message done once.

Both chat adapters post through `SendQueues`: one queue per room (a channel, a direct room),
each worked by its own task, so a room the platform is slow to accept (a rate limit, a room not
synced yet) holds back only its own messages. A job either succeeds (the platform acknowledged
it: its outbox row is marked delivered), fails for a while (retried with back-off, for ever:
a transient failure never drops a message), or is refused for good (`Refused`: logged, counted
in `sends_failed` for the metrics, its outbox row marked failed, never retried).

A newer live status of a séance makes an older one still queued needless: it is skipped, and its
row marked done (the newer one says it all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.effects import Effect
from bot.outbox import Outbox

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 0.5


class Refused(Exception):
    """The platform refused a send for good; `reason` is one of a few fixed words (metrics)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def refusal_reason(status: int) -> str:
    """The metric's word for an HTTP refusal."""
    return {403: "forbidden", 404: "not_found"}.get(status, "refused")


@dataclass(slots=True)
class Job:
    """One message to send. `action` returns True once the platform acknowledged it, False on a
    transient failure (try again), or raises `Refused`. `effect` is done when the job is."""

    action: Callable[[], Awaitable[bool]]
    effect: Effect | None = None
    status_key: tuple[str, int] | None = None
    version: int = 0


class SendQueues:
    """A queue and a worker per room; see the module docstring."""

    def __init__(self, outbox: Outbox, platform: str, max_delay: float = 60.0) -> None:
        self._outbox = outbox
        self._platform = platform
        self._max_delay = max_delay
        self._rooms: dict[str, deque[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._versions: dict[tuple[str, int], int] = {}
        self.sends_failed: Counter[str] = Counter()
        self.unfinished = 0  # queued or being sent
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, room: str, job: Job) -> None:
        self.unfinished += 1
        self._idle.clear()
        queue = self._rooms.get(room)
        if queue is None:
            queue = self._rooms[room] = deque()
            self._workers[room] = asyncio.create_task(
                self._work(room, queue), name=f"{self._platform}-send"
            )
        queue.append(job)

    def newer_status(self, key: tuple[str, int]) -> int:
        """A new version of a séance's status: older ones still queued are skipped."""
        version = self._versions.get(key, 0) + 1
        self._versions[key] = version
        return version

    async def drained(self, bound: float) -> bool:
        """Wait (at most `bound` seconds) until nothing is queued or being sent.

        asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow the task's own
        cancellation when the inner wait completes at the same moment."""
        if self.unfinished == 0:
            return True
        waiter = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({waiter}, timeout=bound)
        finally:
            waiter.cancel()
        return self.unfinished == 0

    async def close(self) -> None:
        """Stop every worker; what is left waits in the outbox for the next start."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self, room: str, queue: deque[Job]) -> None:
        while queue:
            job = queue.popleft()
            try:
                await self._run(room, job)
            finally:
                self.unfinished -= 1
                if self.unfinished == 0:
                    self._idle.set()
        # no await since the queue was found empty: nothing was added meanwhile
        del self._rooms[room]
        del self._workers[room]

    async def _run(self, room: str, job: Job) -> None:
        if job.status_key and self._versions.get(job.status_key) != job.version:
            await self._done(job)  # a newer status of the same séance is queued
            return
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                if await job.action():
                    await self._done(job)
                    return
                log.warning("%s send to %s failed; retrying in %.1f s", self._platform, room, delay)
            except Refused as refusal:
                await self._refused(room, job, refusal.reason, str(refusal))
                return
            except Exception as error:
                log.exception("%s send to %s failed", self._platform, room)
                await self._refused(room, job, "error", type(error).__name__)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)

    async def _done(self, job: Job) -> None:
        if job.effect is None:
            return
        try:
            await self._outbox.done(job.effect)
        except Exception:
            log.exception("a delivered message could not be marked so; it may be sent again")

    async def _refused(self, room: str, job: Job, reason: str, detail: str) -> None:
        log.error("%s refused a message to %s for good: %s", self._platform, room, detail)
        self.sends_failed[reason] += 1
        if job.effect is None:
            return
        try:
            await self._outbox.refused(job.effect, reason)
        except Exception:
            log.exception("a refused message could not be marked so")
