"""Retention: notes, preparation answers and check-in words older than the circle's
`retention_days` are deleted.

It runs without anyone asking: the core wakes itself for the key `retention` once a day (at
03:00 UTC, and once at start-up), through the scheduler port like prompts and time boxes. Each
circle is purged under its channel lock, in one transaction, by deletes in the database: no
séance or item is loaded, so a long history costs no memory. A circle with `retention_days` 0
keeps everything. Decisions, actions, attendance and speaking turns are kept: they are the
circle's record, and hold nothing anyone said.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.locks import KeyedLocks
from bot.partition import EVERYTHING, Partition
from bot.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

RETENTION_KEY = "retention"
RETENTION_HOUR = time(3, 0)  # UTC: no daylight saving to trip on
RETENTION_GRACE = timedelta(days=1)


def next_run(now: datetime) -> datetime:
    """The next 03:00 UTC strictly after `now`."""
    today = datetime.combine(now.date(), RETENTION_HOUR, tzinfo=now.tzinfo)
    at = today if today > now else today + timedelta(days=1)
    return at


@dataclass(frozen=True, slots=True)
class Purged:
    circles: int = 0
    notes: int = 0
    checkins: int = 0


class Retention:
    """Deletes what is past each circle's retention."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, locks: KeyedLocks, partition: Partition = EVERYTHING
    ) -> None:
        self._uow_factory = uow_factory
        self._locks = locks
        self._partition = partition

    async def run(self, now: datetime) -> Purged:
        async with self._uow_factory() as uow:
            circles = await uow.circles.retaining(self._partition)
            await uow.commit()
        notes = words = 0
        for circle_id, channel, days in circles:
            await asyncio.sleep(0)  # one circle at a time: commands and prompts go between
            async with self._locks.hold(channel.key), self._uow_factory() as uow:
                cutoff = now - timedelta(days=days)
                circle_words = await uow.seances.purge_checkins(circle_id, cutoff)
                circle_notes = await uow.items.purge_notes(circle_id, cutoff)
                if circle_words or circle_notes:
                    uow.erase_traces()
                words += circle_words
                notes += circle_notes + await uow.answers.purge(circle_id, cutoff)
                await uow.commit()
        purged = Purged(len(circles), notes, words)
        if notes or words:
            log.info(
                "retention: %d notes and %d check-in words deleted in %d circles",
                notes,
                words,
                len(circles),
            )
        return purged
