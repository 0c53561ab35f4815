"""Benchmark of the real-time scheduler: many prompts falling due in the same minute.

Run with no arguments from the repository root:

    .venv/bin/python bench/scheduler.py

It builds a throw-away, migrated SQLite database in a temporary directory and, through the core
on a manual clock set to the present, creates the circles (each in its own channel) and plans one
séance per circle two days ahead (so each has its reminder, start and follow-up prompt rows).

Then the real thing runs on a fresh `Database` (a cold cache, as after a restart; `--warm` loads
every circle and séance first): a `SystemClock`, the real `ApsScheduler` (APScheduler's
AsyncIOScheduler) on this asyncio loop, `core.start()`, the every-minute resync that `cercle run`
adds (adapters/bootstrap.py; `--no-resync` to leave it out) and `scheduler.start()`. Just before
`core.start()`, one prompt per circle (the "soon" reminder, whose grace is the shortest) is moved,
in one statement, so that they fall due spread over `--window` seconds starting `--lead` seconds
later (`--window 0`: all in the same instant). The `deliver` callback stands for the adapter's
send queue: it records the instant each Reply is handed over, mapped back to its prompt by channel.
The bench waits until every prompt has been handed off, or `--grace-wait` seconds after the last
due instant.

Checks: latency from due to hand-off (a prompt never handed off counts as infinitely late),
prompts lost, duplicates (handed off more than once, or whose row had `sent_at` set more than
once: an SQLite trigger of the throw-away database logs every change of `sent_at`), rows left
unsent, scheduler errors, APScheduler's warnings, and how late the event loop runs a 50 ms timer.

`--what-if` tries a proposed fix in this process only (see the functions below `WHAT_IFS`);
without it, the code is measured as it is. `--setup-cache FILE` keeps the set-up database in
FILE and reuses it on the next runs (setting up 10,000 circles takes minutes).

The last line printed is one JSON object with the figures, for scripts and CI.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import math
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, text, update  # noqa: E402

from adapters.bootstrap import RESYNC_SECONDS  # noqa: E402
from adapters.scheduler import ApsScheduler  # noqa: E402
from bot.app import CercleCore  # noqa: E402
from bot.domain.circle import CircleSettings  # noqa: E402
from bot.domain.prompts import PromptKind  # noqa: E402
from bot.domain.refs import ChannelRef, UserRef  # noqa: E402
from bot.effects import Effect, Reply  # noqa: E402
from bot.events import CommandEvent  # noqa: E402
from bot.timing.clock import ManualClock, SystemClock  # noqa: E402
from storage.database import Database, sqlite_url  # noqa: E402
from storage.uow import PROMPT  # noqa: E402

WakeHandler = Callable[[str, datetime], Awaitable[list[Effect]]]

PLATFORM = "bench"
MEASURED_KIND = PromptKind.SOON
GOALS = {"due_to_handoff_p99_s": 1.0, "lost": 0, "duplicates": 0}

# Every change of a prompt's sent_at, logged by the database itself (throw-away database only).
AUDIT_SQL = (
    "CREATE TABLE bench_claim (prompt_id INTEGER NOT NULL, old_sent_at TEXT, new_sent_at TEXT)",
    "CREATE TRIGGER bench_claim_log AFTER UPDATE OF sent_at ON prompt "
    "WHEN NEW.sent_at IS NOT OLD.sent_at BEGIN "
    "INSERT INTO bench_claim VALUES (NEW.id, OLD.sent_at, NEW.sent_at); END",
)


@dataclass(slots=True)
class Target:
    """One measured prompt: the channel its message goes to and when it is due."""

    prompt_id: int
    channel: str
    due_at: datetime
    handoffs: list[datetime] = field(default_factory=list)


@dataclass(slots=True)
class Probe:
    """What the bench sees of the run: hand-offs, wake-ups, and APScheduler's log."""

    targets: dict[str, Target]
    done: asyncio.Event
    handed: int = 0
    unexpected: int = 0
    deliver_calls: int = 0
    effects_by_type: Counter[str] = field(default_factory=Counter)
    wakes: int = 0
    empty_wakes: int = 0
    wake_lag_s: list[float] = field(default_factory=list)
    wake_busy_s: list[float] = field(default_factory=list)
    first_wake: float | None = None
    last_handoff: float | None = None
    loop_lag_s: list[float] = field(default_factory=list)
    resync_s: list[float] = field(default_factory=list)

    async def deliver(self, effects: list[Effect]) -> None:
        """The adapter's send queue: note the hand-off instant of each message, nothing else."""
        at = datetime.now(UTC)
        self.last_handoff = time.perf_counter()
        self.deliver_calls += 1
        for effect in effects:
            self.effects_by_type[type(effect).__name__] += 1
            if not isinstance(effect, Reply):
                continue
            target = self.targets.get(effect.channel.key)
            if target is None:
                self.unexpected += 1
                continue
            if not target.handoffs:
                self.handed += 1
            target.handoffs.append(at)
        if self.handed == len(self.targets):
            self.done.set()


async def watch_loop(probe: Probe, every: float = 0.05) -> None:
    """How late the event loop runs a timer: a stalled loop delays every wake-up."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(every)
        probe.loop_lag_s.append(time.perf_counter() - t0 - every)


class LogCounter(logging.Handler):
    """Counts warnings and errors (APScheduler's "missed" jobs, the adapter's failures)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        kind = f"{record.name} {record.levelname}: {message.split(' (')[0][:60]}"
        if "was missed by" in message:
            kind = f"{record.name} {record.levelname}: job missed"
        self.counts[kind] += 1
        self.samples.setdefault(kind, message[:200])


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def local_text(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


async def setup(database: Database, circles: int) -> tuple[int, float]:
    """Create the circles and plan a séance in each, through the core on a manual clock."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    core = CercleCore(database, clock)
    zone = CircleSettings().timezone
    when = local_text(now + timedelta(days=2), zone)
    t0 = time.perf_counter()
    commands = 0
    for i in range(circles):
        channel = ChannelRef(PLATFORM, f"c{i}")
        anim = UserRef(PLATFORM, f"c{i}-anim")
        for line in (f"/cercle creer Cercle {i}", f"/seance planifier {when} | Sujet {i}"):
            outcome = await core.handle(CommandEvent(channel, anim, "Anim", line))
            commands += 1
            if outcome.refused:
                raise RuntimeError(f"setup of circle {i}: {line!r} refused ({outcome.refused})")
        if i % 1000 == 999:
            clock.advance(timedelta(milliseconds=1))
    return commands, time.perf_counter() - t0


async def arm(database: Database, lead_s: float, window_s: float) -> dict[str, Target]:
    """Move each circle's measured prompt into the window; install the claim audit trigger."""
    async with database() as uow:
        for statement in AUDIT_SQL:
            await uow.conn.execute(text(statement))
        rows = (
            await uow.conn.execute(
                text(
                    "SELECT p.id, c.channel FROM prompt p JOIN circle c ON c.id = p.circle_id "
                    "WHERE p.kind = :kind ORDER BY p.id"
                ),
                {"kind": MEASURED_KIND.value},
            )
        ).all()
        start = datetime.now(UTC) + timedelta(seconds=lead_s)
        step = window_s / len(rows) if rows else 0.0
        targets = {
            channel: Target(prompt_id, channel, start + timedelta(seconds=n * step))
            for n, (prompt_id, channel) in enumerate(rows)
        }
        # One statement for all rows (what `uow.prompts.reschedule` does, row by row).
        await uow.conn.execute(
            update(PROMPT).where(PROMPT.c.id == bindparam("pid")).values(due_at=bindparam("due")),
            [{"pid": t.prompt_id, "due": t.due_at} for t in targets.values()],
        )
        await uow.commit()
    return targets


async def audit(database: Database, targets: dict[str, Target]) -> dict[str, Any]:
    """What the database says: measured rows sent, dropped, unsent; claims per row."""
    ids = {t.prompt_id for t in targets.values()}
    async with database() as uow:
        rows = (
            await uow.conn.execute(text("SELECT id, sent_at, dropped_at, kind FROM prompt"))
        ).all()
        claims = (
            await uow.conn.execute(
                text(
                    "SELECT prompt_id, count(*) FROM bench_claim "
                    "WHERE new_sent_at IS NOT NULL GROUP BY prompt_id"
                )
            )
        ).all()
    claim_count = dict(claims)
    measured = [r for r in rows if r.id in ids]
    others = [r for r in rows if r.id not in ids]
    return {
        "rows_sent": sum(1 for r in measured if r.sent_at is not None and r.dropped_at is None),
        "rows_dropped": sum(1 for r in measured if r.dropped_at is not None),
        "rows_unsent": sum(1 for r in measured if r.sent_at is None and r.dropped_at is None),
        "rows_claimed_twice": sum(1 for i in ids if claim_count.get(i, 0) > 1),
        "sent_ids": {r.id for r in measured if r.sent_at is not None},
        "rows_never_claimed": sum(1 for i in ids if claim_count.get(i, 0) == 0),
        "other_rows_touched": sum(
            1 for r in others if r.sent_at is not None or r.dropped_at is not None
        ),
        "other_rows": len(others),
    }


async def warm_cache(database: Database) -> None:
    """Load every circle and séance once, as a bot that has been running for a while has."""
    async with database() as uow:
        for circle in await uow.circles.all():
            await uow.seances.for_circle(circle.id)
        await uow.commit()  # a unit of work that ends without commit evicts what it loaded


# -- what if: proposed fixes, tried in this process only (the real code is left as it is) -----

WHAT_IFS = ("single-flight", "skip-unchanged", "no-retention")  # keep-cache: the code does it


def single_flight(handler: WakeHandler, clock: SystemClock, probe: Probe) -> WakeHandler:
    """What if at most one `prompt:` wake-up ran at a time? The core claims every due prompt in
    each one, so a wake-up arriving meanwhile only asks the running one to look again (with a
    fresh instant) once it is done; each round's messages are handed over before the next."""
    running = False
    again = False

    async def wake(key: str, now: datetime) -> list[Effect]:
        nonlocal running, again
        if not key.startswith("prompt:"):
            return await handler(key, now)
        if running:
            again = True
            return []
        running = True
        try:
            effects = await handler(key, now)
            while again:
                again = False
                if effects:
                    await probe.deliver(effects)
                effects = await handler(key, clock.now())
            return effects
        finally:
            running = False

    return wake


def skip_unchanged_wakeups(scheduler: ApsScheduler) -> None:
    """What if `wake_at` left a job alone when it is already armed for that very instant? The
    every-minute resync re-arms every pending prompt; each `add_job` costs APScheduler a new Job
    (with a signature check) and a wake-up of its loop, all in one synchronous stretch."""
    original = scheduler.wake_at
    aps = scheduler._aps

    def wake_at(key: str, at: datetime, grace: timedelta) -> None:
        if aps.running:  # before start, get_job scans the pending list
            job = aps.get_job(key)
            if job is not None and job.next_run_time == at:
                return
        original(key, at, grace)

    scheduler.wake_at = wake_at  # type: ignore[method-assign]


def no_retention(core: CercleCore) -> None:
    """What if the daily retention did not run at start-up (it walks every circle)?"""
    retention = getattr(core, "retention", None)
    if retention is None:
        return

    async def run(now: datetime) -> None:
        return None

    retention.run = run


async def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The measured phase: a restart of the bot on real time, until every prompt is handed off."""
    database = Database(url)
    if args.warm:
        await warm_cache(database)
    targets = await arm(database, args.lead, args.window)
    probe = Probe(targets, asyncio.Event())
    clock = SystemClock()
    scheduler = ApsScheduler(clock)
    core = CercleCore(database, clock, scheduler=scheduler)

    async def wake(key: str, now: datetime) -> list[Effect]:
        t0 = time.perf_counter()
        if probe.first_wake is None:
            probe.first_wake = t0
        probe.wakes += 1
        if key.startswith("prompt:"):
            target = by_key.get(key)
            if target is not None:
                probe.wake_lag_s.append((now - target.due_at).total_seconds())
        effects = await core_wake(key, now)
        if not effects:
            probe.empty_wakes += 1
        probe.wake_busy_s.append(time.perf_counter() - t0)
        return effects

    by_key = {f"prompt:{t.prompt_id}": t for t in targets.values()}
    core_wake: WakeHandler = core.wake
    if "single-flight" in args.what_if:
        core_wake = single_flight(core.wake, clock, probe)
    if "skip-unchanged" in args.what_if:
        skip_unchanged_wakeups(scheduler)
    if "no-retention" in args.what_if:
        no_retention(core)
    scheduler.handler = wake
    scheduler.deliver = probe.deliver

    async def resync() -> None:
        t0 = time.perf_counter()
        await core.start()
        probe.resync_s.append(time.perf_counter() - t0)

    profiler = cProfile.Profile() if args.profile else None
    monitor: asyncio.Task[None] | None = None
    try:
        t0 = time.perf_counter()
        await core.start()
        start_s = time.perf_counter() - t0
        jobs = len(scheduler.job_ids())
        if not args.no_resync:  # as adapters.bootstrap.open_runtime does
            scheduler.every(RESYNC_SECONDS, "resync", resync)
        scheduler.start()
        monitor = asyncio.create_task(watch_loop(probe))
        first_due = min(t.due_at for t in targets.values())
        last_due = max(t.due_at for t in targets.values())
        if datetime.now(UTC) > first_due:
            print(f"warning: start took {start_s:.1f} s, past the first due instant; use --lead")
        if profiler is not None:
            profiler.enable()
        cpu0 = time.process_time()
        deadline = (last_due - datetime.now(UTC)).total_seconds() + args.grace_wait
        timed_out = False
        try:
            await asyncio.wait_for(probe.done.wait(), timeout=max(deadline, 1.0))
        except TimeoutError:
            timed_out = True
        # Let anything still queued at the finish line run, to catch late duplicates.
        await asyncio.sleep(args.settle)
        cpu_s = time.process_time() - cpu0
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        jobs_left = len(scheduler.job_ids())
    finally:
        if monitor is not None:
            monitor.cancel()
        scheduler.shutdown()
        await asyncio.sleep(0)
    db = await audit(database, targets)
    await database.close()
    return {
        "targets": targets,
        "probe": probe,
        "start_s": start_s,
        "jobs_at_start": jobs,
        "jobs_left": jobs_left,
        "timed_out": timed_out,
        "cpu_s": cpu_s,
        "db": db,
        "errors": scheduler.errors,
        "sent": core.prompts.sent,
        "dropped": core.prompts.dropped,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    log_counter = LogCounter()
    logging.getLogger().addHandler(log_counter)
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = sqlite_url(path)
        cache = Path(args.setup_cache) if args.setup_cache else None
        cached = cache is not None and cache.exists()
        if cache is not None and cached:
            shutil.copyfile(cache, path)
            print(f"set-up database copied from {cache}")
        database = Database(url)
        t0 = time.perf_counter()
        await database.upgrade()  # a copied database is brought to the current schema too
        migrate_s = time.perf_counter() - t0
        commands, setup_s = 0, 0.0
        if not cached:
            commands, setup_s = await setup(database, args.circles)
        await database.close()  # closing the last connection checkpoints the WAL into the file
        if cache is not None and not cached:
            shutil.copyfile(path, cache)
        outcome = await measure(url, args)
        targets: dict[str, Target] = outcome["targets"]

    probe: Probe = outcome["probe"]
    # A prompt never handed off counts as infinitely late, so percentiles cover every prompt.
    latencies = sorted(
        (t.handoffs[0] - t.due_at).total_seconds() if t.handoffs else math.inf
        for t in targets.values()
    )
    lost = sum(1 for t in targets.values() if not t.handoffs)
    dup_handoffs = sum(1 for t in targets.values() if len(t.handoffs) > 1)
    db = outcome["db"]
    duplicates = max(dup_handoffs, db["rows_claimed_twice"])
    # Marked sent in the database but never handed over: gone for good if the process stopped.
    sent_ids = db["sent_ids"]
    claimed_not_handed = sum(
        1 for t in targets.values() if t.prompt_id in sent_ids and not t.handoffs
    )
    lags = sorted(probe.wake_lag_s)
    busy = sorted(probe.wake_busy_s)
    span = (
        probe.last_handoff - probe.first_wake
        if probe.last_handoff is not None and probe.first_wake is not None
        else float("nan")
    )

    print(
        f"Cercle scheduler benchmark — Python {platform.python_version()}, SQLite file, "
        f"APScheduler AsyncIOScheduler, {len(targets)} prompts due over {args.window:g} s "
        f"(lead {args.lead:g} s), {'warm' if args.warm else 'cold'} cache, "
        f"resync {'off' if args.no_resync else f'every {RESYNC_SECONDS} s'}"
    )
    if args.what_if:
        print("WHAT IF (not the code as is): " + ", ".join(args.what_if))
    print(
        f"migrations {migrate_s:.2f} s; setup {commands} commands in {setup_s:.1f} s; "
        f"core.start() {outcome['start_s']:.2f} s, {outcome['jobs_at_start']} jobs scheduled; "
        f"{outcome['jobs_left']} jobs left at the end"
    )
    load = os.getloadavg()
    print(
        f"CPU of the measured phase {outcome['cpu_s']:.1f} s; first wake-up to last hand-off "
        f"{span:.1f} s; load average {load[0]:.2f} on {os.cpu_count()} CPUs"
    )
    if args.profile:
        print("warning: profiling on; the figures are slowed down by the profiler")
    print()
    header = f"{'measure':<44}{'count':>8}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}"
    print(header)
    print("-" * len(header))
    for name, values in (
        ("due -> hand-off (s; never = inf)", latencies),
        ("due -> wake-up of its own job (s)", lags),
        ("time in one wake-up, handler + core (s)", busy),
        ("event loop lag, 50 ms timer (s)", sorted(probe.loop_lag_s)),
        ("resync, core.start() every minute (s)", sorted(probe.resync_s)),
    ):
        if values:
            print(
                f"{name:<44}{len(values):>8}{percentile(values, 0.5):>9.3f}"
                f"{percentile(values, 0.9):>9.3f}{percentile(values, 0.99):>9.3f}"
                f"{values[-1]:>9.3f}"
            )
        else:
            print(f"{name:<44}{0:>8}")
    print()
    counts = {
        "prompts": len(targets),
        "handed off": probe.handed,
        "lost (never handed off)": lost,
        "handed off more than once": dup_handoffs,
        "unexpected replies": probe.unexpected,
        "deliver calls": probe.deliver_calls,
        "wake-ups": probe.wakes,
        "wake-ups with nothing to do": probe.empty_wakes,
        "scheduler errors": outcome["errors"],
        "core: sent / dropped": f"{outcome['sent']} / {outcome['dropped']}",
        "db: measured rows sent": db["rows_sent"],
        "db: measured rows dropped": db["rows_dropped"],
        "db: measured rows unsent": db["rows_unsent"],
        "db: rows sent but never handed off": claimed_not_handed,
        "db: rows whose sent_at was set twice": db["rows_claimed_twice"],
        "db: other prompt rows touched": f"{db['other_rows_touched']} of {db['other_rows']}",
        "timed out": outcome["timed_out"],
    }
    for name, value in counts.items():
        print(f"{name:<44}{value!s:>12}")
    for kind, n in log_counter.counts.most_common():
        print(f"log {kind} x{n}  e.g. {log_counter.samples[kind]!r}")

    p50 = percentile(latencies, 0.5)
    p99 = percentile(latencies, 0.99)
    handed = [x for x in latencies if x != math.inf]
    result: dict[str, Any] = {
        "bench": "scheduler",
        # null: more than 50 % (p50) or 1 % (p99) of the prompts were never handed off.
        "due_to_handoff_p50_s": round(p50, 3) if math.isfinite(p50) else None,
        "due_to_handoff_p99_s": round(p99, 3) if math.isfinite(p99) else None,
        "due_to_handoff_max_s": round(handed[-1], 3) if handed else None,
        "handed_off_p99_s": round(percentile(handed, 0.99), 3) if handed else None,
        "lost": lost,
        "duplicates": duplicates,
        "rss_mb": round(rss_mb(), 1),
        "prompts": len(targets),
        "window_s": args.window,
        "what_if": args.what_if,
        "cache": "warm" if args.warm else "cold",
        "wakeups": probe.wakes,
        "empty_wakeups": probe.empty_wakes,
        "errors": outcome["errors"],
        "rows_unsent": db["rows_unsent"],
        "claimed_not_handed_off": claimed_not_handed,
        "rows_dropped": db["rows_dropped"],
        "loop_lag_max_s": round(max(probe.loop_lag_s), 3) if probe.loop_lag_s else None,
        "resyncs": len(probe.resync_s),
        "missed_jobs": sum(n for k, n in log_counter.counts.items() if k.endswith("job missed")),
        "cpu_s": round(outcome["cpu_s"], 2),
        "loadavg": round(load[0], 2),
        "python": platform.python_version(),
    }
    met = {
        "due_to_handoff_p99_s": p99 <= GOALS["due_to_handoff_p99_s"],
        "lost": lost <= GOALS["lost"],
        "duplicates": duplicates <= GOALS["duplicates"],
    }
    verdicts = [
        f"{k} {result[k]} (<= {GOALS[k]:g}: {'ok' if ok else 'MISSED'})" for k, ok in met.items()
    ]
    print()
    print("goals: " + ", ".join(verdicts))
    result["goals_met"] = all(met.values())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circles", type=int, default=10_000)
    parser.add_argument(
        "--window", type=float, default=60.0, help="seconds the due instants spread over (0: one)"
    )
    parser.add_argument(
        "--lead", type=float, default=15.0, help="seconds from arming to the first due instant"
    )
    parser.add_argument(
        "--grace-wait", type=float, default=30.0, help="seconds to wait past the last due instant"
    )
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds to keep running after the last hand-off"
    )
    parser.add_argument(
        "--setup-cache",
        metavar="FILE",
        help="reuse the set-up database kept in FILE (made there on the first run; "
        "it must have been made with the same --circles)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="load every circle and séance before starting (a bot up for a while); "
        "the default is a cold cache, as right after a restart",
    )
    parser.add_argument(
        "--no-resync",
        action="store_true",
        help="without the every-minute rebuild of wake-ups that 'cercle run' schedules",
    )
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=WHAT_IFS,
        help="try a proposed fix in this process only (repeatable); the default is the code as is",
    )
    parser.add_argument("--profile", metavar="FILE", help="cProfile the measured phase to FILE")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
