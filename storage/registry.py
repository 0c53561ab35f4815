"""Which instances run, and the work each was given: for operators and start-up checks.

Each `cercle run` writes a row when it starts and again at every resync (each minute), and
deletes it when it stops. A row not seen for a few minutes is an instance that died (its share
waits for someone to start it again); rows older than a day are forgotten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select

from bot.partition import Partition, Share
from storage.database import Database
from storage.tables import InstanceRow
from storage.uow import SqlUnitOfWork

INSTANCE: Table = InstanceRow.__table__  # type: ignore[attr-defined]
LIVE_WITHIN = timedelta(minutes=3)  # three resyncs missed: not running
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    partition: Partition
    started_at: datetime
    seen_at: datetime

    def live(self, now: datetime) -> bool:
        return now - self.seen_at <= LIVE_WITHIN


def _shares_json(partition: Partition) -> str:
    return json.dumps(
        [
            {
                "home": s.home,
                "shard_count": s.shard_count,
                "shard_ids": list(s.shard_ids) if s.shard_ids is not None else None,
            }
            for s in partition.shares
        ]
    )


def _partition(text: str) -> Partition:
    shares: list[dict[str, Any]] = json.loads(text)
    return Partition(
        tuple(
            Share(
                s["home"],
                s.get("shard_count"),
                tuple(s["shard_ids"]) if s.get("shard_ids") is not None else None,
            )
            for s in shares
        )
    )


async def announce(
    database: Database, name: str, partition: Partition, started_at: datetime, now: datetime
) -> list[Instance]:
    """Record that `name` runs `partition` now; the other instances on record."""
    async with database() as work:
        conn = cast(SqlUnitOfWork, work).conn
        await conn.execute(delete(INSTANCE).where(INSTANCE.c.name == name))
        await conn.execute(delete(INSTANCE).where(INSTANCE.c.seen_at < now - FORGET_AFTER))
        await conn.execute(
            insert(INSTANCE).values(
                name=name,
                shares_json=_shares_json(partition),
                started_at=started_at,
                seen_at=now,
            )
        )
        rows = (await conn.execute(select(INSTANCE).order_by(INSTANCE.c.name))).all()
        await work.commit()
    return [
        Instance(r.name, _partition(r.shares_json), r.started_at, r.seen_at)
        for r in rows
        if r.name != name
    ]


async def withdraw(database: Database, name: str) -> None:
    """`name` stops: its row goes."""
    async with database() as work:
        await cast(SqlUnitOfWork, work).conn.execute(
            delete(INSTANCE).where(INSTANCE.c.name == name)
        )
        await work.commit()


async def instances(database: Database) -> list[Instance]:
    """Every instance on record (live or not), by name."""
    async with database() as work:
        conn = cast(SqlUnitOfWork, work).conn
        rows = (await conn.execute(select(INSTANCE).order_by(INSTANCE.c.name))).all()
    return [Instance(r.name, _partition(r.shares_json), r.started_at, r.seen_at) for r in rows]
