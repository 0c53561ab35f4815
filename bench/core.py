"""Benchmark of the core on SQLite: many open séances, a realistic mix of floor commands.

Run with no arguments from the repository root:

    .venv/bin/python bench/core.py

It builds a throw-away, migrated SQLite database in a temporary directory, creates the circles
(each in its own channel, with a facilitator and about five participants, an open séance of the
`libre` protocol in its open-floor phase, its status message recorded as an adapter does once
it has posted it), then sends a seeded mix of /tour, /fini, /passe,
/suivant, /file and /note across all circles, moving a manual clock a few seconds between
batches. Each `await core.handle(event)` is timed on its own (this includes the commit).

The last line printed is one JSON object with the figures, for scripts and CI.
Options: --circles, --commands, --seed, --profile FILE (profile of the measured phase only).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app import CercleCore  # noqa: E402
from bot.dispatcher import Outcome  # noqa: E402
from bot.domain.refs import ChannelRef, UserRef  # noqa: E402
from bot.effects import Reply, StatusView  # noqa: E402
from bot.events import CommandEvent  # noqa: E402
from bot.timing.clock import ManualClock  # noqa: E402
from storage.database import Database, sqlite_url  # noqa: E402

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
PLATFORM = "bench"
FIRST_NAMES = ("Alice", "Bruno", "Carla", "Driss", "Emma", "Farid", "Gaëlle", "Hugo")
NOTES = (
    "penser à relancer la mairie",
    "idée : un atelier commun en janvier",
    "le budget 2027 est à revoir avec le bureau",
    "ressource partagée : le guide de l'URSCOP",
)

GOALS = {"p99_ms": 2.0, "commands_per_s": 2000.0, "rss_mb": 100.0}

# The measured mix (weights add up to 1). Each kind falls back to another when the séance's
# state makes it meaningless (no /fini without a speaker), see `Workload.pick`.
MIX = (
    ("tour", 0.30),
    ("fini", 0.20),
    ("passe", 0.07),
    ("suivant", 0.08),
    ("file", 0.18),
    ("note", 0.12),
    ("mistake", 0.05),  # a /fini from someone who is not speaking, or a /tour twice
)


@dataclass(slots=True)
class CircleState:
    """What the bench knows of one circle's floor, read back from the outcomes it gets."""

    channel: ChannelRef
    facilitator: UserRef
    people: list[UserRef]
    names: dict[UserRef, str]
    speaker: UserRef | None = None
    queued: set[UserRef] = field(default_factory=set)


@dataclass(slots=True)
class Command:
    kind: str
    state: CircleState
    author: UserRef
    text: str


def started_speaker(outcome: Outcome) -> UserRef | None:
    """Who got the floor, from the public "X, vous avez la parole." reply (it mentions them)."""
    for effect in outcome.effects:
        if isinstance(effect, Reply) and not effect.private and effect.mentions:
            return effect.mentions[0]
    return None


class Workload:
    """Builds the circles, then picks and sends commands, keeping each circle's floor in view."""

    def __init__(self, core: CercleCore, rng: random.Random) -> None:
        self.core = core
        self.rng = rng
        self.circles: list[CircleState] = []
        self.kinds = [k for k, _ in MIX]
        self.weights = [w for _, w in MIX]

    async def send(self, state: CircleState, author: UserRef, text: str) -> tuple[Outcome, int]:
        event = CommandEvent(
            channel=state.channel,
            author=author,
            author_name=state.names[author],
            text=text,
        )
        t0 = time.perf_counter_ns()
        outcome = await self.core.handle(event)
        return outcome, time.perf_counter_ns() - t0

    async def setup_circle(self, i: int, timings: dict[str, list[int]]) -> CircleState:
        channel = ChannelRef(PLATFORM, f"c{i}")
        facilitator = UserRef(PLATFORM, f"c{i}-anim")
        count = self.rng.randint(4, 6)
        people = [UserRef(PLATFORM, f"c{i}-p{j}") for j in range(count)]
        names = {facilitator: "Anim"} | {p: FIRST_NAMES[j] for j, p in enumerate(people)}
        state = CircleState(channel, facilitator, [facilitator, *people], names)
        script = [
            (facilitator, f"/cercle creer Cercle {i}"),
            (facilitator, "/cercle protocole libre"),
            (facilitator, "/seance"),
            *((p, "/present") for p in people),  # libre starts its one phase at once
        ]
        for author, text in script:
            outcome, elapsed = await self.send(state, author, text)
            if outcome.refused:
                raise RuntimeError(f"setup of circle {i}: {text!r} refused ({outcome.refused})")
            label = "/cercle creer" if text.startswith("/cercle creer") else text
            timings[label].append(elapsed)
            # as the Discord and Matrix adapters do once the status message is posted: later
            # statuses edit it
            for effect in outcome.effects:
                if isinstance(effect, StatusView) and effect.message_id is None:
                    await self.core.record_status_message(effect.seance_id, f"status-{i}")
        self.circles.append(state)
        return state

    def pick(self) -> Command:
        """One command for a random circle, following the mix and the circle's floor."""
        rng = self.rng
        state = rng.choice(self.circles)
        kind = rng.choices(self.kinds, self.weights)[0]
        free = [p for p in state.people if p != state.speaker and p not in state.queued]
        if kind == "fini" and state.speaker is None:
            kind = "tour"
        if kind == "passe" and not state.queued and state.speaker is None:
            kind = "tour"
        if kind == "suivant" and not state.queued and state.speaker is None:
            kind = "tour"
        if kind == "tour" and not free:
            kind = "file"
        if kind == "tour":
            return Command("tour", state, rng.choice(free), "/tour")
        if kind == "fini":
            assert state.speaker is not None
            return Command("fini", state, state.speaker, "/fini")
        if kind == "passe":
            waiting = sorted(state.queued)
            if waiting and (state.speaker is None or rng.random() < 0.7):
                return Command("passe", state, rng.choice(waiting), "/passe")
            assert state.speaker is not None
            return Command("passe", state, state.speaker, "/passe")
        if kind == "suivant":
            return Command("suivant", state, state.facilitator, "/suivant")
        if kind == "note":
            return Command("note", state, rng.choice(state.people), "/note " + rng.choice(NOTES))
        if kind == "mistake":
            others = [p for p in state.people if p != state.speaker]
            if rng.random() < 0.5 and others:
                return Command("mistake", state, rng.choice(others), "/fini")
            busy = [p for p in state.people if p == state.speaker or p in state.queued]
            if busy:
                return Command("mistake", state, rng.choice(busy), "/tour")
            return Command("mistake", state, rng.choice(state.people), "/fini")
        return Command("file", state, rng.choice(state.people), "/file")

    @staticmethod
    def observe(command: Command, outcome: Outcome) -> None:
        """Update the circle's floor from what the bot said."""
        if outcome.refused:
            return
        state = command.state
        started = started_speaker(outcome)
        verb = command.text.split()[0]
        if verb == "/tour":
            if started is not None:
                state.speaker = started
                state.queued.discard(started)
            elif command.author != state.speaker:
                state.queued.add(command.author)
        elif verb in ("/fini", "/suivant") or (
            verb == "/passe" and command.author == state.speaker
        ):
            state.speaker = started
            if started is not None:
                state.queued.discard(started)
        elif verb == "/passe":
            state.queued.discard(command.author)


class Profiling:
    """Optional profile of the measured phase: cProfile (`.prof`) or pyinstrument (`.html`/`.txt`).

    pyinstrument is not a dependency: `.venv/bin/pip install pyinstrument` to use it. Both see
    the event-loop thread only (SQLite runs in aiosqlite's thread), and both slow the commands
    down, so the figures of a profiled run (and its peak memory) are not the benchmark's."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._cprofile: cProfile.Profile | None = None
        self._pyinstrument: Any = None
        if path is None:
            return
        if path.endswith((".html", ".txt")):
            from pyinstrument import Profiler

            self._pyinstrument = Profiler(async_mode="disabled")
        else:
            self._cprofile = cProfile.Profile()

    def start(self) -> None:
        if self._cprofile is not None:
            self._cprofile.enable()
        if self._pyinstrument is not None:
            self._pyinstrument.start()

    def stop(self) -> None:
        if self._cprofile is not None:
            self._cprofile.disable()
        if self._pyinstrument is not None:
            self._pyinstrument.stop()

    def save(self) -> None:
        if self.path is None:
            return
        if self._cprofile is not None:
            self._cprofile.dump_stats(self.path)
        elif self.path.endswith(".html"):
            Path(self.path).write_text(self._pyinstrument.output_html(), encoding="utf-8")
        else:
            text = self._pyinstrument.output_text(unicode=True, show_all=False)
            Path(self.path).write_text(text, encoding="utf-8")


def percentile(sorted_ns: list[int], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_ns:
        return float("nan")
    rank = max(1, min(len(sorted_ns), round(share * len(sorted_ns) + 0.5)))
    return sorted_ns[rank - 1] / 1e6


def summarise(name: str, samples: list[int], wall_s: float | None = None) -> dict[str, Any]:
    ordered = sorted(samples)
    total_s = sum(ordered) / 1e9
    return {
        "phase": name,
        "count": len(ordered),
        "p50_ms": percentile(ordered, 0.50),
        "p90_ms": percentile(ordered, 0.90),
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1] / 1e6 if ordered else float("nan"),
        "mean_ms": (total_s / len(ordered) * 1e3) if ordered else float("nan"),
        "commands_per_s": len(ordered) / (wall_s if wall_s else total_s) if ordered else 0.0,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'phase':<30}{'count':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'mean ms':>9}{'cmd/s':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['phase']:<30}{r['count']:>8}{r['p50_ms']:>9.3f}{r['p90_ms']:>9.3f}"
            f"{r['p99_ms']:>9.3f}{r['max_ms']:>9.2f}{r['mean_ms']:>9.3f}"
            f"{r['commands_per_s']:>10.0f}"
        )


def rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="cercle-bench-") as tmp:
        database = Database(sqlite_url(Path(tmp) / "bench.sqlite3"))
        try:
            t0 = time.perf_counter()
            await database.upgrade()
            migrate_s = time.perf_counter() - t0

            clock = ManualClock(START)
            core = CercleCore(database, clock)
            work = Workload(core, rng)

            setup_timings: dict[str, list[int]] = defaultdict(list)
            t0 = time.perf_counter()
            for i in range(args.circles):
                await work.setup_circle(i, setup_timings)
                if i % 50 == 49:
                    clock.advance(timedelta(seconds=1))
            setup_s = time.perf_counter() - t0
            rss_after_setup = rss_mb()

            samples: list[int] = []
            by_kind: dict[str, list[int]] = defaultdict(list)
            refusals: Counter[str] = Counter()
            profiler = Profiling(args.profile)
            load_before = os.getloadavg()[0]
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            profiler.start()
            sent = 0
            while sent < args.commands:
                batch = min(rng.randint(20, 60), args.commands - sent)
                for _ in range(batch):
                    command = work.pick()
                    outcome, elapsed = await work.send(command.state, command.author, command.text)
                    samples.append(elapsed)
                    by_kind[command.kind].append(elapsed)
                    if outcome.refused:
                        refusals[outcome.refused] += 1
                    work.observe(command, outcome)
                sent += batch
                clock.advance(timedelta(seconds=rng.randint(1, 5)))
            profiler.stop()
            measured_s = time.perf_counter() - t0
            cpu_s = time.process_time() - cpu0
            load_after = os.getloadavg()[0]
        finally:
            await database.close()
    profiler.save()

    setup_all = [ns for values in setup_timings.values() for ns in values]
    rows = [summarise(f"setup {k}", v) for k, v in setup_timings.items()]
    rows.append(summarise("setup (all)", setup_all, setup_s))
    rows.extend(summarise(f"measured {k}", by_kind[k]) for k, _ in MIX if by_kind[k])
    overall = summarise("measured (all)", samples, measured_s)
    rows.append(overall)

    print(
        f"Cercle core benchmark — Python {platform.python_version()}, SQLite file, "
        f"{args.circles} circles, {len(samples)} measured commands, seed {args.seed}"
    )
    print(f"migrations: {migrate_s:.2f} s; setup: {len(setup_all)} commands in {setup_s:.2f} s")
    print(
        f"measured phase: {len(samples)} commands in {measured_s:.2f} s "
        f"(simulated {(clock.now() - START).total_seconds() / 60:.0f} min)"
    )
    print(
        f"process CPU in measured phase: {cpu_s:.2f} s ({cpu_s / len(samples) * 1e3:.3f} ms a "
        f"command, all threads); load average {load_before:.2f} before, {load_after:.2f} after "
        f"on {os.cpu_count()} CPUs"
    )
    if load_before > 0.5 * (os.cpu_count() or 1):
        print("warning: the machine was busy when the measured phase started; latencies suffer")
    if args.profile:
        print("warning: profiling on; the figures below are slowed down by the profiler")
    if refusals:
        print("refusals: " + ", ".join(f"{k} x{n}" for k, n in refusals.most_common()))
    print()
    print_table(rows)
    print()
    result: dict[str, object] = {
        "bench": "core",
        "circles": args.circles,
        "commands": len(samples),
        "commands_per_s": round(overall["commands_per_s"], 1),
        "p50_ms": round(overall["p50_ms"], 3),
        "p90_ms": round(overall["p90_ms"], 3),
        "p99_ms": round(overall["p99_ms"], 3),
        "max_ms": round(overall["max_ms"], 3),
        "rss_mb": round(rss_mb(), 1),
        "rss_after_setup_mb": round(rss_after_setup, 1),
        "setup_s": round(setup_s, 2),
        "setup_commands": len(setup_all),
        "migrate_s": round(migrate_s, 2),
        "cpu_ms_per_command": round(cpu_s / len(samples) * 1e3, 3),
        "loadavg_before": round(load_before, 2),
        "loadavg_after": round(load_after, 2),
        "refused": sum(refusals.values()),
        "python": platform.python_version(),
        "seed": args.seed,
    }
    met = {
        "p99_ms": overall["p99_ms"] <= GOALS["p99_ms"],
        "commands_per_s": overall["commands_per_s"] >= GOALS["commands_per_s"],
        "rss_mb": rss_mb() <= GOALS["rss_mb"],
    }
    verdicts = []
    for key, ok in met.items():
        bound = ">=" if key == "commands_per_s" else "<="
        verdicts.append(f"{key} {result[key]} ({bound} {GOALS[key]:g}: {'ok' if ok else 'MISSED'})")
    print("goals: " + ", ".join(verdicts))
    result["goals_met"] = all(met.values())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circles", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the measured phase: FILE.prof (cProfile) or FILE.html/.txt (pyinstrument)",
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
