"""The real-time scheduler: APScheduler 3 in the bot's event loop, holding ids only.

Each wake-up is one date job whose id is the core's key (`prompt:12`, `timebox:3`); the job
calls the core back with that key and hands what the core returns to the adapters. Jobs live in
memory: the database is the truth, and `CercleCore.start()` rebuilds them at every start.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.effects import Effect
from bot.timing.clock import Clock

log = logging.getLogger(__name__)

WakeHandler = Callable[[str, datetime], Awaitable[list[Effect]]]
Deliver = Callable[[list[Effect]], Awaitable[None]]

# A run may re-arm its own key for an instant already reached (a time box run that waited for
# the circle's lock); with one instance at most, APScheduler would drop that second run. The
# core's wake-ups are safe to overlap: time boxes hold the circle's lock, prompts are claimed.
MAX_INSTANCES = 8


class ApsScheduler:
    """Implements the core's Scheduler port on APScheduler's AsyncIOScheduler."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._aps = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": MAX_INSTANCES}
        )
        self.handler: WakeHandler | None = None
        self.deliver: Deliver | None = None
        self.errors = 0
        self._armed: dict[str, datetime] = {}
        self._stopping = False

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running and not self._stopping:
            self._stopping = True
            self._aps.shutdown(wait=False)

    def wake_at(self, key: str, at: datetime, grace: timedelta) -> None:
        if self._armed.get(key) == at and self._aps.get_job(key) is not None:
            return  # already armed for that instant (the minute's rebuild re-arms everything)
        self._armed[key] = at
        # The grace is set explicitly: APScheduler's default of 1 s silently skips jobs that
        # fall due together. Past it, APScheduler skips the job; the core would drop it anyway.
        self._aps.add_job(
            self._run,
            trigger=DateTrigger(run_date=at),
            args=[key],
            id=key,
            replace_existing=True,
            misfire_grace_time=max(1, int(grace.total_seconds())),
        )

    def every(self, seconds: float, key: str, job: Callable[[], Awaitable[None]]) -> None:
        """A recurring chore (not a wake-up of the core), shielded like the others."""

        async def run() -> None:
            try:
                await job()
            except Exception:
                self.errors += 1
                log.exception("recurring job %s failed", key)

        self._aps.add_job(
            run, "interval", seconds=seconds, id=key, replace_existing=True, misfire_grace_time=30
        )

    def cancel(self, key: str) -> None:
        self._armed.pop(key, None)
        with contextlib.suppress(JobLookupError):
            self._aps.remove_job(key)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]

    async def _run(self, key: str) -> None:
        """One wake-up, shielded: an error is logged and counted, never lost silently."""
        try:
            assert self.handler is not None, "scheduler has no handler"
            effects = await self.handler(key, self._clock.now())
            if effects and self.deliver is not None:
                await self.deliver(effects)
        except Exception:
            self.errors += 1
            log.exception("scheduled wake-up %s failed", key)
