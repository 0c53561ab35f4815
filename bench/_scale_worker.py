"""One instance of bench/scale.py: its own CercleCore and Database, driving its own circles.

Started by bench/scale.py, not by hand:

    python bench/_scale_worker.py --url URL --instance K --circles N --samples FILE ...

Instance K owns the circles numbered K*N to K*N+N-1 (channels `c<i>`, disjoint from the other
instances', as instances are partitioned in production). `--concurrency` client tasks each own
an equal share of them and send one command at a time, so that many circles are in flight at
once, like a busy bot. The conversation is bench/core.py's: its `Workload` sets each circle up
(an open séance of the `libre` protocol in its open floor) and picks the measured mix of /tour,
/fini, /passe, /suivant, /file, /note and mistakes; a manual clock moves 1 to 5 s every 20 to 60
commands, as there.

Talking to the parent, on stdin and stdout:
1. after the set-up, this prints `{"ready": true, ...}` and waits for a line `go START END`
   (two `time.monotonic_ns()` instants: that clock is the same for every process on Linux);
2. on `go`, the tasks start sending at once (a warm-up until START, not counted) and stop at
   END; commands that finished inside [START, END] are counted and their latencies (each
   `await core.handle(event)`, commit included, waiting for a connection or the lock included)
   are written to FILE as native 64-bit integers (nanoseconds);
3. it prints its figures as one JSON line and exits.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import core as bench_core  # noqa: E402  (bench/core.py: the workload and the statistics)

from bot.app import CercleCore  # noqa: E402
from bot.timing.clock import ManualClock  # noqa: E402
from storage.database import Database  # noqa: E402


class Ticker:
    """Moves the instance's manual clock 1 to 5 s every 20 to 60 commands, as bench/core.py."""

    def __init__(self, clock: ManualClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.left = rng.randint(20, 60)

    def tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.clock.advance(timedelta(seconds=self.rng.randint(1, 5)))
            self.left = self.rng.randint(20, 60)


async def at(instant_ns: int) -> None:
    """Sleep until a `time.monotonic_ns()` instant."""
    await asyncio.sleep(max(0.0, (instant_ns - time.monotonic_ns()) / 1e9))


async def run(args: argparse.Namespace) -> tuple[dict[str, object], array.array[int]]:
    database = Database(args.url)
    clock = ManualClock(bench_core.START)
    core = CercleCore(database, clock)
    ticker = Ticker(clock, random.Random(f"{args.seed}-{args.instance}-clock"))
    first = args.instance * args.circles
    tasks = [
        bench_core.Workload(core, random.Random(f"{args.seed}-{args.instance}-{t}"))
        for t in range(args.concurrency)
    ]
    try:
        # Set-up: each task creates its own circles, all tasks at once.
        setup_timings: dict[str, list[int]] = defaultdict(list)

        created = 0

        async def set_up(t: int) -> None:
            nonlocal created
            for i in range(first + t, first + args.circles, args.concurrency):
                await tasks[t].setup_circle(i, setup_timings)
                created += 1
                if created % 50 == 0:  # as bench/core.py
                    clock.advance(timedelta(seconds=1))

        t0 = time.perf_counter()
        await asyncio.gather(*(set_up(t) for t in range(args.concurrency)))
        setup_s = time.perf_counter() - t0
        setup_commands = sum(len(v) for v in setup_timings.values())
        print(json.dumps({"ready": True, "instance": args.instance, "setup_s": setup_s}))
        sys.stdout.flush()

        line = await asyncio.to_thread(sys.stdin.readline)
        word, start_ns, end_ns = line.split()
        if word != "go":
            raise RuntimeError(f"expected 'go START END', got {line!r}")
        start, end = int(start_ns), int(end_ns)

        samples = array.array("q")
        refusals: Counter[str] = Counter()
        cpu: dict[str, os.times_result] = {}

        async def drive(work: bench_core.Workload) -> None:
            while time.monotonic_ns() < end:
                command = work.pick()
                outcome, elapsed = await work.send(command.state, command.author, command.text)
                if start <= time.monotonic_ns() <= end:
                    samples.append(elapsed)
                    if outcome.refused:
                        refusals[outcome.refused] += 1
                work.observe(command, outcome)
                ticker.tick()
                # A bot gets each event from the network, which lets the other tasks in; on
                # SQLite (inline, no await that suspends) a task would otherwise never yield.
                await asyncio.sleep(0)

        async def sample_cpu() -> None:
            await at(start)
            cpu["start"] = os.times()
            await at(end)
            cpu["end"] = os.times()

        await asyncio.gather(sample_cpu(), *(drive(work) for work in tasks))
    finally:
        await database.close()

    window_s = (end - start) / 1e9
    user_s = cpu["end"].user - cpu["start"].user
    system_s = cpu["end"].system - cpu["start"].system
    cpu_s = user_s + system_s
    figures = bench_core.summarise("measured", list(samples), window_s)
    result: dict[str, object] = {
        "bench": "scale-instance",
        "backend": "sqlite" if database.is_sqlite else "postgresql",
        "instance": args.instance,
        "pid": os.getpid(),
        "circles": args.circles,
        "concurrency": args.concurrency,
        "commands": len(samples),
        "window_s": round(window_s, 3),
        "commands_per_s": round(figures["commands_per_s"], 1),
        "p50_ms": round(figures["p50_ms"], 3),
        "p90_ms": round(figures["p90_ms"], 3),
        "p99_ms": round(figures["p99_ms"], 3),
        "max_ms": round(figures["max_ms"], 3),
        "cpu_s": round(cpu_s, 3),
        "cpu_system_s": round(system_s, 3),  # in the kernel: sockets (loopback TCP), files
        "cpu_cores": round(cpu_s / window_s, 3),  # share of one core this process used
        "cpu_ms_per_command": round(cpu_s / max(1, len(samples)) * 1e3, 3),
        "refused": sum(refusals.values()),
        "setup_s": round(setup_s, 2),
        "setup_commands": setup_commands,
        "rss_mb": round(bench_core.rss_mb(), 1),
    }
    return result, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a migrated database (SQLAlchemy URL)")
    parser.add_argument("--instance", type=int, default=0)
    parser.add_argument("--circles", type=int, default=500, help="circles of this instance")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", required=True, help="where to write the latencies")
    args = parser.parse_args()
    result, samples = asyncio.run(run(args))
    Path(args.samples).write_bytes(samples.tobytes())
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
