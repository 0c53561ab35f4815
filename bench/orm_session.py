"""Benchmark: the hand-made unit of work against SQLAlchemy's ORM Session on the core's hot path.

Run from the repository root:

    .venv/bin/python bench/orm_session.py

The issue asked whether SQLAlchemy's ORM (imperative mapping, `version_id_col` for optimistic
locking) could replace `storage/uow.py`. Both run the hot path of `bench/core.py` without the
core around it, on the same migrated SQLite file, with the same SQLite settings, on the event
loop's thread: 1,000 open séances with six people present, then 3,000 "floor changes", each
one transaction: load the séance with its turns and attendance, end the open turn and start a
new one (one UPDATE, one INSERT, the séance's version stepped), commit.

- `uow`: `storage.uow.SqlUnitOfWork` as the bot uses it (`Database`, inline SQLite, the
  aggregate cache, diff on commit).
- `orm_fresh`: a `Session` per transaction loading the séance (`selectinload` of turns and
  attendance), as a Session is meant to be used: nothing survives between commands.
- `orm_kept`: a `Session` per transaction, the séances kept between transactions as detached
  objects and added back (`expire_on_commit=False`): the closest the ORM comes to our cache.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, event, insert, select  # noqa: E402
from sqlalchemy.orm import Session, registry, relationship, selectinload  # noqa: E402

from bot.domain.refs import UserRef  # noqa: E402
from bot.domain.seance import Turn, TurnOutcome  # noqa: E402
from storage.database import Database, _sqlite_pragmas, sqlite_url, upgrade  # noqa: E402
from storage.uow import ATTENDANCE, CIRCLE, SEANCE, TURN  # noqa: E402

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class SeanceRecord:
    """A séance row as the ORM maps it."""

    id: int
    version: int
    arrivals: int
    turns: Any
    attendance: Any


class TurnRecord:
    ended_at: datetime | None
    outcome: str | None

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)


class AttendanceRecord:
    pass


def mapped() -> registry:
    orm = registry()
    orm.map_imperatively(TurnRecord, TURN)
    orm.map_imperatively(AttendanceRecord, ATTENDANCE)
    orm.map_imperatively(
        SeanceRecord,
        SEANCE,
        version_id_col=SEANCE.c.version,
        properties={
            "turns": relationship(TurnRecord, order_by=TURN.c.seq),
            "attendance": relationship(AttendanceRecord),
        },
    )
    return orm


def seed(path: Path, seances: int) -> None:
    upgrade(sqlite_url(path))
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(
            insert(CIRCLE),
            [
                {
                    "id": c,
                    "name": f"C{c}",
                    "channel": f"bench:{c}",
                    "created_at": START,
                    "language": "fr",
                    "timezone": "Europe/Paris",
                    "protocol": "libre",
                    "queue_order": "fair",
                    "roster_open": True,
                    "round_auto_advance": True,
                    "phase_auto_advance": False,
                }
                for c in range(1, seances + 1)
            ],
        )
        conn.execute(
            insert(SEANCE),
            [
                {
                    "id": s,
                    "circle_id": s,
                    "number": 1,
                    "protocol": "libre",
                    "status": "open",
                    "opened_at": START,
                    "version": 0,
                }
                for s in range(1, seances + 1)
            ],
        )
        conn.execute(
            insert(ATTENDANCE),
            [
                {"seance_id": s, "user": f"bench:u{i}", "status": "present"}
                for s in range(1, seances + 1)
                for i in range(6)
            ],
        )
    engine.dispose()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(name: str, samples: list[float], wall: float) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "variant": name,
        "changes_per_s": round(len(samples) / wall),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3),
    }


async def run_uow(path: Path, changes: int, rng: random.Random) -> dict[str, Any]:
    database = Database(sqlite_url(path))
    samples: list[float] = []
    now = START
    began = time.perf_counter()
    for _ in range(changes):
        seance_id = rng.randint(1, 1000)
        now += timedelta(seconds=1)
        t0 = time.perf_counter()
        async with database() as uow:
            seance = await uow.seances.get(seance_id)
            assert seance is not None
            if seance.turns:
                seance.turns[-1].ended_at = now
                seance.turns[-1].outcome = TurnOutcome.FINISHED
            speaker = UserRef("bench", f"u{rng.randrange(6)}")
            seance.turns.append(Turn(len(seance.turns) + 1, speaker, 0, now))
            seance.arrivals += 1
            await uow.commit()
        samples.append(time.perf_counter() - t0)
    result = summary("uow", samples, time.perf_counter() - began)
    await database.close()
    return result


def run_orm(path: Path, changes: int, rng: random.Random, *, keep: bool) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{path}")
    event.listen(engine, "connect", _sqlite_pragmas)
    kept: dict[int, SeanceRecord] = {}
    samples: list[float] = []
    now = START
    began = time.perf_counter()
    for _ in range(changes):
        seance_id = rng.randint(1, 1000)
        now += timedelta(seconds=1)
        t0 = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            seance = kept.get(seance_id) if keep else None
            if seance is None:
                seance = session.scalars(
                    select(SeanceRecord)
                    .where(SEANCE.c.id == seance_id)
                    .options(
                        selectinload(SeanceRecord.turns), selectinload(SeanceRecord.attendance)
                    )
                ).one()
            else:
                session.add(seance)
            if seance.turns:
                seance.turns[-1].ended_at = now
                seance.turns[-1].outcome = "finished"
            seance.turns.append(
                TurnRecord(
                    seance_id=seance_id,
                    seq=len(seance.turns) + 1,
                    user=f"bench:u{rng.randrange(6)}",
                    phase_index=0,
                    started_at=now,
                    paused_s=0.0,
                    warned=False,
                    overrun_notified=False,
                )
            )
            seance.arrivals += 1
            session.commit()
            if keep:
                kept[seance_id] = seance
        samples.append(time.perf_counter() - t0)
    result = summary("orm_kept" if keep else "orm_fresh", samples, time.perf_counter() - began)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    mapped()
    results = []
    with tempfile.TemporaryDirectory(prefix="cercle-orm-") as tmp:
        for variant in ("uow", "orm_fresh", "orm_kept"):
            path = Path(tmp) / f"{variant}.sqlite3"
            seed(path, 1000)
            rng = random.Random(args.seed)
            if variant == "uow":
                results.append(asyncio.run(run_uow(path, args.changes, rng)))
            else:
                results.append(run_orm(path, args.changes, rng, keep=variant == "orm_kept"))
            print(results[-1], flush=True)
    print(json.dumps({"changes": args.changes, "rss_mb": round(rss_mb(), 1), "results": results}))


if __name__ == "__main__":
    main()
