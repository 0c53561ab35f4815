"""Benchmark: memory and latency of a process whose database holds years of history.

Run from the repository root:

    .venv/bin/python bench/history.py

A child process writes straight into a migrated SQLite file (SQLAlchemy Core `executemany`,
in batches): 1,000 circles of six people, each with two years of weekly séances already held
(about 100, with phases, turns, attendance, check-in words, notes and actions) and one planned
séance to come. Then this process starts a core on that file, runs retention (which deletes
a year of notes and words), and lives a day of ordinary commands in a few hundred circles:
planning, `/excuse`, `/seance liste`, `/recap`, `/actions`, a séance held with a few turns and
closed (its recap, drift notes), and `/bilan` in a few circles.

Goals: peak memory (`rss_mb`) at most 150 MB, growth from after start-up to the end
(`rss_growth_mb`) at most 10 MB, 99th percentile of a command (`p99_ms`) at most 5 ms.
Charts are left out (see `without_charts`): they are drawn on a worker thread after the
circle's lock is released, and bench/recap.py measures them.

The last line printed is one JSON object. Options: --circles, --seances, --busy, --seed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert  # noqa: E402

from bot.app import CercleCore  # noqa: E402
from bot.domain.circle import Circle, CircleSettings  # noqa: E402
from bot.domain.refs import ChannelRef, UserRef  # noqa: E402
from bot.domain.roles import Role  # noqa: E402
from bot.events import CommandEvent  # noqa: E402
from bot.timing.clock import ManualClock  # noqa: E402
from storage import mapping  # noqa: E402
from storage.database import Database, sqlite_url, upgrade  # noqa: E402
from storage.uow import (  # noqa: E402
    ATTENDANCE,
    CHECKIN,
    CIRCLE,
    ITEM,
    MEMBER,
    PHASE,
    SEANCE,
    TURN,
)

PLATFORM = "bench"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday morning
GOALS = {"rss_mb": 150.0, "rss_growth_mb": 10.0, "p99_ms": 5.0}
PEOPLE = 6
WORDS = ("serein", "pressée", "fatigué", "curieuse", "en forme", "dispersé")


def user(circle: int, i: int) -> UserRef:
    return UserRef(PLATFORM, f"u{circle}-{i}")


def rss_now_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / (1024 * 1024)


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- writing the history (in a child process, so its memory is not the bot's) --------------------


def write_history(path: Path, circles: int, seances: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    upgrade(sqlite_url(path))
    engine = create_engine(f"sqlite:///{path}")
    counts = dict.fromkeys(("seance", "turn", "attendance", "checkin", "item"), 0)
    first = NOW - timedelta(weeks=seances)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        for start in range(0, circles, 50):
            rows: dict[str, list[dict[str, Any]]] = {
                t: [] for t in ("seance", "phase", "turn", "attendance", "checkin", "item")
            }
            circle_rows: list[dict[str, Any]] = []
            member_rows: list[dict[str, Any]] = []
            for c in range(start, min(start + 50, circles)):
                circle = Circle(
                    c + 1,
                    f"Cercle {c}",
                    ChannelRef(PLATFORM, f"c{c}"),
                    first - timedelta(days=1),
                    CircleSettings(protocol="libre"),
                )
                for i in range(PEOPLE):
                    role = Role.FACILITATOR if i == 0 else Role.PARTICIPANT
                    circle.add_member(user(c, i), f"Personne {i}", role, circle.created_at)
                items = 0
                for n in range(1, seances + 1):
                    seance_id = c * (seances + 1) + n
                    opened = first + timedelta(weeks=n - 1)
                    closed = opened + timedelta(minutes=90)
                    rows["seance"].append(
                        {
                            "id": seance_id,
                            "circle_id": c + 1,
                            "number": n,
                            "protocol": "libre",
                            "status": "closed",
                            "planned_at": opened,
                            "subject": f"Sujet {n}",
                            "opened_at": opened,
                            "closed_at": closed,
                            "next_protocol_phase": 1,
                            "arrivals": PEOPLE,
                            "recap_published_at": closed,
                            "version": 3,
                        }
                    )
                    rows["phase"].append(
                        {
                            "seance_id": seance_id,
                            "idx": 0,
                            "key": "open",
                            "mode": "queue",
                            "started_at": opened,
                            "ended_at": closed,
                            "planned_s": 5400.0,
                        }
                    )
                    at = opened
                    for seq in range(1, 9):
                        speaker = user(c, rng.randrange(PEOPLE))
                        end = at + timedelta(seconds=rng.randint(60, 400))
                        rows["turn"].append(
                            {
                                "seance_id": seance_id,
                                "seq": seq,
                                "user": speaker.key,
                                "phase_index": 0,
                                "started_at": at,
                                "ended_at": end,
                                "outcome": "finished",
                            }
                        )
                        at = end
                    for i in range(PEOPLE):
                        here = rng.random() < 0.85
                        rows["attendance"].append(
                            {
                                "seance_id": seance_id,
                                "user": user(c, i).key,
                                "status": "present" if here else "excused",
                            }
                        )
                        if here:
                            rows["checkin"].append(
                                {
                                    "seance_id": seance_id,
                                    "user": user(c, i).key,
                                    "word": rng.choice(WORDS),
                                    "recorded_at": opened,
                                }
                            )
                    for kind, text in (
                        ("note", "une idée à creuser pour la suite du cycle"),
                        ("note", "ressource partagée : le guide des associations"),
                        ("action", "relancer la mairie au sujet de la salle"),
                    ):
                        items += 1
                        owner = user(c, rng.randrange(PEOPLE)).key
                        rows["item"].append(
                            {
                                "circle_id": c + 1,
                                "number": items,
                                "kind": kind,
                                "text": text,
                                "author": owner,
                                "created_at": closed,
                                "seance_id": seance_id,
                                "owner": owner if kind == "action" else None,
                                "done_at": closed + timedelta(days=7)
                                if kind == "action" and n < seances - 2
                                else None,
                            }
                        )
                planned_id = c * (seances + 1) + seances + 1
                rows["seance"].append(
                    {
                        "id": planned_id,
                        "circle_id": c + 1,
                        "number": seances + 1,
                        "protocol": "libre",
                        "status": "planned",
                        "planned_at": NOW + timedelta(days=3, hours=8),
                        "subject": None,
                        "opened_at": None,
                        "closed_at": None,
                        "next_protocol_phase": 0,
                        "arrivals": 0,
                        "recap_published_at": None,
                        "version": 0,
                    }
                )
                circle.item_counter = items
                circle.seance_counter = seances + 1
                circle_rows.append({**mapping.circle_row(circle), "version": 1})
                member_rows.extend(mapping.member_rows(circle).values())
            conn.execute(insert(CIRCLE), circle_rows)
            conn.execute(insert(MEMBER), member_rows)
            for name, table in (
                ("seance", SEANCE),
                ("phase", PHASE),
                ("turn", TURN),
                ("attendance", ATTENDANCE),
                ("checkin", CHECKIN),
                ("item", ITEM),
            ):
                conn.execute(insert(table), rows[name])
                if name in counts:
                    counts[name] += len(rows[name])
    engine.dispose()
    return counts


# -- a day of ordinary commands -------------------------------------------------------------------


class Day:
    def __init__(self, core: CercleCore, clock: ManualClock) -> None:
        self.core = core
        self.clock = clock
        self.samples: list[float] = []
        self.by_kind: dict[str, list[float]] = {}
        self.refused: dict[str, int] = {}

    async def say(self, circle: int, person: int, text: str) -> None:
        author = user(circle, person)
        event = CommandEvent(
            channel=ChannelRef(PLATFORM, f"c{circle}"),
            author=author,
            author_name=f"Personne {person}",
            text=text,
        )
        began = time.perf_counter()
        outcome = await self.core.handle(event)
        spent = (time.perf_counter() - began) * 1000
        self.samples.append(spent)
        kind = " ".join(text.split()[:2]) if text.startswith("/seance") else text.split()[0]
        self.by_kind.setdefault(kind, []).append(spent)
        if outcome.refused:
            self.refused[outcome.refused] = self.refused.get(outcome.refused, 0) + 1


async def live_a_day(day: Day, circles: int, busy: int, rng: random.Random) -> None:
    chosen = rng.sample(range(circles), busy)
    for k, c in enumerate(chosen):
        day.clock.advance(timedelta(seconds=20))
        await day.say(c, 0, f"/seance planifier 2027-01-{10 + k % 15:02d} 18:00")
        await day.say(c, rng.randrange(1, PEOPLE), "/excuse")
        await day.say(c, rng.randrange(PEOPLE), "/seance liste")
        await day.say(c, rng.randrange(PEOPLE), "/recap")
        if k % 4 == 0:  # a séance held today in a quarter of them
            await day.say(c, 0, "/seance extra")  # not the one planned for January
            for i in range(1, PEOPLE):
                await day.say(c, i, "/present")
            await day.say(c, 0, "/seance phase suivante")
            for turn in range(12):  # an hour of open floor
                i = 1 + turn % (PEOPLE - 1)
                await day.say(c, i, "/tour")
                await day.say(c, rng.randrange(PEOPLE), "/file")
                day.clock.advance(timedelta(minutes=5))
                await day.say(c, i, "/fini")
            await day.say(c, 2, "/note on garde le cap")
            await day.say(c, 0, "/seance fin")
        if k % 50 == 0:
            await day.say(c, 0, "/bilan")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed + 1)
    clock = ManualClock(NOW)
    database = Database(sqlite_url(path))
    try:
        began = time.perf_counter()
        core = CercleCore(database, clock)
        await core.start()
        day = Day(core, clock)
        start_s = time.perf_counter() - began
        gc.collect()
        rss_started = rss_peak_mb()
        rss_started_now = rss_now_mb()

        began = time.perf_counter()
        purged = await core.retention.run(clock.now())
        retention_s = time.perf_counter() - began

        began = time.perf_counter()
        await live_a_day(day, args.circles, args.busy, rng)
        day_s = time.perf_counter() - began
        gc.collect()
        cache = database.cache
        return {
            "start_s": round(start_s, 2),
            "retention_s": round(retention_s, 2),
            "purged_notes": purged.notes,
            "purged_checkins": purged.checkins,
            "commands": len(day.samples),
            "day_s": round(day_s, 2),
            "refused": day.refused,
            "p50_ms": round(percentile(day.samples, 0.50), 2),
            "p99_ms": round(percentile(day.samples, 0.99), 2),
            "max_ms": round(max(day.samples), 1),
            "by_command": {
                kind: {
                    "n": len(times),
                    "p50_ms": round(percentile(times, 0.5), 2),
                    "max_ms": round(max(times), 1),
                }
                for kind, times in sorted(day.by_kind.items())
            },
            "cached_circles": len(cache.circles),
            "cached_seances": len(cache.open_seances) + len(cache.recent_seances),
            "rss_after_start_mb": round(rss_started, 1),
            "rss_now_after_start_mb": round(rss_started_now, 1),
            "rss_now_end_mb": round(rss_now_mb(), 1),
            "rss_mb": round(rss_peak_mb(), 1),
            "rss_growth_mb": round(rss_peak_mb() - rss_started, 1),
        }
    finally:
        await database.close()


def without_charts() -> None:
    """Charts are drawn on a worker thread after the circle's lock is released, and measured by
    bench/recap.py; here they are left out, so that the figures are those of storage."""
    from bot.handlers import report
    from bot.recaps import posting

    setattr(posting, "_draw_bars", lambda figure: b"")  # noqa: B010
    setattr(report, "_draw", lambda shares, series: b"")  # noqa: B010


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--circles", type=int, default=1000)
    parser.add_argument("--seances", type=int, default=100)
    parser.add_argument("--busy", type=int, default=300, help="circles active during the day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="write the history there once, then reuse it")
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.write is not None:
        print(json.dumps(write_history(args.write, args.circles, args.seances, args.seed)))
        return
    with tempfile.TemporaryDirectory(prefix="cercle-history-") as tmp:
        path = Path(tmp) / "history.sqlite3"
        began = time.perf_counter()
        source = args.keep or path
        if not source.exists():
            child = [sys.executable, __file__, "--write", str(source)]
            child += ["--circles", str(args.circles), "--seances", str(args.seances)]
            written = subprocess.run(child, check=True, capture_output=True, text=True)
            source.with_suffix(".json").write_text(written.stdout.strip().splitlines()[-1])
        rows = json.loads(source.with_suffix(".json").read_text())
        if source != path:
            shutil.copyfile(source, path)
        write_s = time.perf_counter() - began
        size_mb = path.stat().st_size / (1024 * 1024)
        without_charts()
        result = asyncio.run(measure(path, args))
    result = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "circles": args.circles,
        "seances_per_circle": args.seances,
        "rows": rows,
        "write_s": round(write_s, 1),
        "file_mb": round(size_mb, 1),
        **result,
    }
    result["goals_met"] = {k: result[k] <= v for k, v in GOALS.items()}
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
