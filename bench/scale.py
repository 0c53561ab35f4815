"""Benchmark of scaling out: commands per second through the core on SQLite and PostgreSQL,
with one instance and with three instances sharing one PostgreSQL database.

Run with no arguments from the repository root (about 2 to 3 minutes; PostgreSQL must be
installed: `python3 scripts/postgres.py install`):

    .venv/bin/python bench/scale.py

Three configurations, one after the other:
- `sqlite`: one instance on a throw-away, migrated SQLite file (WAL, synchronous=NORMAL: the
  storage's own settings);
- `pg1`: one instance on a fresh, migrated PostgreSQL database;
- `pg3`: three instances, three OS processes, each with its own CercleCore and Database on the
  same PostgreSQL database and each owning a disjoint set of circles (channels), as instances
  are partitioned in production.

Each instance is a process running bench/_scale_worker.py: it sets up `--circles` circles of its
own (bench/core.py's conversation: an open séance of the `libre` protocol in its open floor),
then `--concurrency` client tasks, each owning a share of the circles, send bench/core.py's mix
of /tour, /fini, /passe, /suivant, /file, /note and mistakes, one command at a time each, on a
manual clock. All instances start together; the first `--warmup` seconds are not counted, then
commands finishing within the next `--seconds` are. Latency is each `await core.handle(event)`,
commit included (and the wait for a pooled connection, or for SQLite's writer lock). Each
instance prints its figures as one JSON line; this script aggregates them: total commands/s
(the sum over instances), p50/p90/p99/max over all commands, and where the CPU went during the
measured window, from /proc: the instances' own CPU time, PostgreSQL's (the postmaster, its
backends and its reaped children), the whole machine's busy and iowait time, and the rest
("other": this script, other jobs on the machine).

PostgreSQL is a throw-away cluster from scripts/postgres.py. That script starts it with the test
settings fsync=off, synchronous_commit=off, full_page_writes=off, as command-line options, which
ALTER SYSTEM cannot override; so this script restarts it (pg_ctl restart, same options) with the
three set back to on, checks them with SHOW and prints them: commits are flushed to disk, as on
a real server. `--fsync-off` keeps the test settings instead (to see what the flushes cost).
Before each measured window the database is checkpointed. The server is stopped at the end.

The last line printed is one JSON object with all the figures, for scripts and CI.
Options: --circles (per instance), --seconds, --warmup, --concurrency (per instance),
--only sqlite|pg1|pg3, --fsync-off, --seed.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import core as bench_core  # noqa: E402  (bench/core.py: the statistics)
from sqlalchemy import NullPool, text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from storage.database import sqlite_url, upgrade  # noqa: E402

CONFIGS = {"sqlite": 1, "pg1": 1, "pg3": 3}  # configuration: instances
WORKER = HERE / "_scale_worker.py"
POSTGRES_SCRIPT = ROOT / "scripts" / "postgres.py"
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
SHOWN = (*DURABLE, "wal_sync_method", "shared_buffers", "max_connections", "server_version")
TICK = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


# -- CPU time from /proc ------------------------------------------------------------------------


def proc_times(pid: int) -> tuple[float, float, float, float]:
    """User and system CPU of a process, then of its reaped children, in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is state
    utime, stime, cutime, cstime = (int(f) / TICK for f in fields[11:15])
    return utime, stime, cutime, cstime


def children(ppid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == ppid:
            found.append(int(entry.name))
    return found


def postgres_cpu_s(postmaster: int) -> tuple[float, float]:
    """User and system CPU used so far by the server: the postmaster, its live backends and
    other children, and the ones that exited."""
    user, system, reaped_user, reaped_system = proc_times(postmaster)
    user, system = user + reaped_user, system + reaped_system
    for pid in children(postmaster):
        try:
            child_user, child_system, _, _ = proc_times(pid)
        except OSError:
            continue
        user, system = user + child_user, system + child_system
    return user, system


def machine_s() -> dict[str, float]:
    """Whole-machine CPU seconds so far (all cores): busy (softirq included), softirq (the
    kernel's network work, loopback TCP included, charged to no process), iowait, steal."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, iowait, irq, softirq, steal = values[:8]
    return {
        "busy": (user + nice + system + irq + softirq) / TICK,
        "softirq": softirq / TICK,
        "iowait": iowait / TICK,
        "steal": steal / TICK,
    }


# -- the PostgreSQL server ----------------------------------------------------------------------


async def pg_run(url: str, *statements: str) -> list[list[Any]]:
    """Run statements outside a transaction (CREATE DATABASE, CHECKPOINT); their rows."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            results = []
            for statement in statements:
                result = await conn.execute(text(statement))
                results.append([tuple(r) for r in result] if result.returns_rows else [])
            return results
    finally:
        await engine.dispose()


@dataclass
class Postgres:
    directory: Path
    url: str = ""  # SQLAlchemy URL without a database name

    def start(self, durable: bool) -> None:
        script = [sys.executable, str(POSTGRES_SCRIPT)]
        subprocess.run([*script, "start", "--dir", str(self.directory)], check=True)
        self.url = json.loads((self.directory / "postgres.json").read_text())["url"]
        if durable:
            self._restart_durable()

    def _restart_durable(self) -> None:
        """pg_ctl restart with the options the script used, the test settings turned back on."""
        data = self.directory / "data"
        argv = shlex.split((data / "postmaster.opts").read_text())
        options, rest = [], iter(argv[1:])
        for arg in rest:
            if arg == "-D":  # pg_ctl passes the data directory itself
                next(rest)
            else:
                options.append(arg)
        for name, value in DURABLE.items():  # a later -c wins over an earlier one
            options += ["-c", f"{name}={value}"]
        pg_ctl = str(Path(argv[0]).parent / "pg_ctl")
        command = [pg_ctl, "-D", str(data), "-l", str(self.directory / "postgres.log")]
        command += ["-w", "-m", "fast", "-o", shlex.join(options), "restart"]
        if os.geteuid() == 0:  # as scripts/postgres.py: the server runs as "postgres"
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def postmaster(self) -> int:
        return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])

    def settings(self) -> dict[str, str]:
        statements = [f"SHOW {name}" for name in SHOWN]
        rows = asyncio.run(pg_run(f"{self.url}/postgres", *statements))
        return {name: str(r[0][0]) for name, r in zip(SHOWN, rows, strict=True)}

    def create_database(self, name: str) -> str:
        statements = (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
        asyncio.run(pg_run(f"{self.url}/postgres", *statements))
        return f"{self.url}/{name}"

    def stats(self, database: str) -> dict[str, float]:
        """Commits and sessions (connections) in the database, WAL flushes and bytes so far."""
        (db,), (wal,) = asyncio.run(
            pg_run(
                f"{self.url}/postgres",
                f"SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = '{database}'",
                "SELECT wal_sync, wal_bytes FROM pg_stat_wal",
            )
        )
        return {
            "commits": db[0],
            "sessions": db[1],
            "wal_syncs": wal[0],
            "wal_bytes": float(wal[1]),
        }

    def stop(self) -> None:
        script = [sys.executable, str(POSTGRES_SCRIPT)]
        subprocess.run([*script, "stop", "--dir", str(self.directory)], check=False)


# -- one configuration --------------------------------------------------------------------------


def read_json_line(worker: subprocess.Popen[str], what: str) -> dict[str, Any]:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    if not line:
        raise RuntimeError(f"instance pid {worker.pid} exited before {what} ({worker.wait()})")
    return dict(json.loads(line))


def limit_note(figures: dict[str, Any]) -> str:
    """What bounds this configuration, in a few words, from the CPU figures."""
    busy = figures["machine_busy_cores"]
    hottest = max(i["cpu_cores"] for i in figures["instances"])
    python, postgres = figures["python_cpu_cores"], figures["postgres_cpu_cores"]
    other, softirq = figures["other_cpu_cores"], figures["machine_softirq_cores"]
    if busy >= 0.9 * CPUS:
        return (
            f"CPU-bound: the machine's {CPUS} cores are {busy / CPUS:.0%} busy (instances "
            f"{python:.2f} cores, PostgreSQL {postgres:.2f}, other {other:.2f} of which kernel "
            f"softirq {softirq:.2f})"
        )
    if hottest >= 0.9:
        return f"CPU-bound in one event loop: an instance uses {hottest:.2f} of a core"
    return (
        f"not CPU-bound: machine {busy / CPUS:.0%} busy, busiest instance {hottest:.2f} of a "
        f"core; the rest is waiting (round trips, commit flushes: iowait "
        f"{figures['machine_iowait_cores']:.2f} cores)"
    )


def start_instance(
    k: int, url: str, args: argparse.Namespace, samples: Path
) -> subprocess.Popen[str]:
    command = [sys.executable, str(WORKER), "--url", url, "--instance", str(k)]
    command += ["--circles", str(args.circles), "--concurrency", str(args.concurrency)]
    command += ["--seed", str(args.seed), "--samples", str(samples)]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_config(
    name: str, url: str, args: argparse.Namespace, tmp: Path, pg: Postgres | None
) -> dict[str, Any]:
    instances = CONFIGS[name]
    print(f"\n== {name}: {instances} instance(s), {args.circles} circles each", flush=True)
    t0 = time.perf_counter()
    upgrade(url)
    migrate_s = time.perf_counter() - t0
    workers: list[subprocess.Popen[str]] = []
    sample_files = [tmp / f"{name}-{k}.samples" for k in range(instances)]
    try:
        for k in range(instances):
            workers.append(start_instance(k, url, args, sample_files[k]))
        ready = [read_json_line(w, "its set-up") for w in workers]
        setup_s = max(r["setup_s"] for r in ready)
        database = url.rsplit("/", 1)[1]
        if pg is not None:
            asyncio.run(pg_run(f"{pg.url}/postgres", "CHECKPOINT"))
        # taken outside the window so that this process stays idle in it: warm-up included
        pg_stats0 = pg.stats(database) if pg else {}
        load_before = os.getloadavg()[0]

        start = time.monotonic_ns() + int(args.warmup * 1e9)
        end = start + int(args.seconds * 1e9)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(f"go {start} {end}\n")
            worker.stdin.flush()
        time.sleep(max(0.0, (start - time.monotonic_ns()) / 1e9))
        machine0 = machine_s()
        pg_cpu0 = postgres_cpu_s(pg.postmaster()) if pg else (0.0, 0.0)
        time.sleep(max(0.0, (end - time.monotonic_ns()) / 1e9))
        machine1 = machine_s()
        pg_cpu1 = postgres_cpu_s(pg.postmaster()) if pg else (0.0, 0.0)
        load_after = os.getloadavg()[0]

        results = [read_json_line(w, "its figures") for w in workers]
        for worker in workers:
            if worker.wait() != 0:
                raise RuntimeError(f"instance pid {worker.pid} failed")
        pg_stats1 = pg.stats(database) if pg else {}
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for result in results:
        print(json.dumps(result, ensure_ascii=False))

    samples = array.array("q")
    for path in sample_files:
        samples.frombytes(path.read_bytes())
    window_s = (end - start) / 1e9
    overall = bench_core.summarise(name, list(samples), window_s)
    commands = len(samples)
    python_cpu = sum(r["cpu_s"] for r in results)
    postgres_user, postgres_system = (b - a for a, b in zip(pg_cpu0, pg_cpu1, strict=True))
    postgres_cpu = postgres_user + postgres_system
    busy = machine1["busy"] - machine0["busy"]
    figures: dict[str, Any] = {
        "instances_count": instances,
        "commands": commands,
        "window_s": round(window_s, 3),
        "commands_per_s": round(sum(r["commands_per_s"] for r in results), 1),
        "p50_ms": round(overall["p50_ms"], 3),
        "p90_ms": round(overall["p90_ms"], 3),
        "p99_ms": round(overall["p99_ms"], 3),
        "max_ms": round(overall["max_ms"], 3),
        "refused": sum(r["refused"] for r in results),
        "python_cpu_cores": round(python_cpu / window_s, 3),
        "python_system_share": round(
            sum(r["cpu_system_s"] for r in results) / python_cpu if python_cpu else 0.0, 3
        ),
        "postgres_cpu_cores": round(postgres_cpu / window_s, 3),
        "postgres_system_share": round(postgres_system / postgres_cpu if postgres_cpu else 0.0, 3),
        "machine_busy_cores": round(busy / window_s, 3),
        "machine_softirq_cores": round((machine1["softirq"] - machine0["softirq"]) / window_s, 3),
        "machine_iowait_cores": round((machine1["iowait"] - machine0["iowait"]) / window_s, 3),
        "machine_steal_cores": round((machine1["steal"] - machine0["steal"]) / window_s, 3),
        "other_cpu_cores": round((busy - python_cpu - postgres_cpu) / window_s, 3),
        "python_cpu_ms_per_command": round(python_cpu / max(1, commands) * 1e3, 3),
        "postgres_cpu_ms_per_command": round(postgres_cpu / max(1, commands) * 1e3, 3),
        "setup_s": round(setup_s, 2),
        "setup_commands": sum(r["setup_commands"] for r in results),
        "migrate_s": round(migrate_s, 2),
        "loadavg_before": round(load_before, 2),
        "loadavg_after": round(load_after, 2),
    }
    if pg is not None:
        commits = pg_stats1["commits"] - pg_stats0["commits"]
        syncs = pg_stats1["wal_syncs"] - pg_stats0["wal_syncs"]
        # from before the warm-up to after the instances exited
        figures["pg_connections_opened"] = pg_stats1["sessions"] - pg_stats0["sessions"]
        figures["pg_commits_per_wal_flush"] = round(commits / syncs, 2) if syncs else None
        wal_kb = (pg_stats1["wal_bytes"] - pg_stats0["wal_bytes"]) / 1024
        figures["pg_wal_kb_per_commit"] = round(wal_kb / commits, 2) if commits else None
    figures["instances"] = results
    figures["limit"] = limit_note(figures)
    print(figures["limit"])
    print(
        f"CPU in the window: instances {figures['python_cpu_cores']:.2f} cores "
        f"({figures['python_system_share']:.0%} in the kernel), PostgreSQL "
        f"{figures['postgres_cpu_cores']:.2f} ({figures['postgres_system_share']:.0%} in the "
        f"kernel), kernel softirq {figures['machine_softirq_cores']:.2f}, "
        f"iowait {figures['machine_iowait_cores']:.2f}"
    )
    if pg is not None:
        print(
            f"PostgreSQL: {figures['pg_connections_opened']} connections opened, "
            f"{figures['pg_commits_per_wal_flush']} commits per WAL flush, "
            f"{figures['pg_wal_kb_per_commit']} kB of WAL per commit"
        )
    # The load average counts our own set-up; "other" is measured in the window itself.
    unexplained = figures["other_cpu_cores"] - figures["machine_softirq_cores"]
    if unexplained > 0.2:
        print(f"warning: other processes used {unexplained:.2f} cores in the window")
    return figures


# -- output -------------------------------------------------------------------------------------


def print_table(configs: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'config':<8}{'inst':>5}{'cmd/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8}  {'CPU cores: py':>13}{'pg':>6}{'other':>7}{'sirq':>6}{'busy':>6}"
        f"{'iowait':>7}"
        f"  {'CPU ms/cmd: py':>14}{'pg':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, f in configs.items():
        print(
            f"{name:<8}{f['instances_count']:>5}{f['commands_per_s']:>8.0f}{f['p50_ms']:>8.2f}"
            f"{f['p90_ms']:>8.2f}{f['p99_ms']:>8.2f}{f['max_ms']:>8.1f}  "
            f"{f['python_cpu_cores']:>13.2f}{f['postgres_cpu_cores']:>6.2f}"
            f"{f['other_cpu_cores']:>7.2f}{f['machine_softirq_cores']:>6.2f}"
            f"{f['machine_busy_cores']:>6.2f}"
            f"{f['machine_iowait_cores']:>7.2f}  {f['python_cpu_ms_per_command']:>14.3f}"
            f"{f['postgres_cpu_ms_per_command']:>6.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circles", type=int, default=500, help="circles per instance")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted")
    parser.add_argument("--concurrency", type=int, default=16, help="client tasks per instance")
    parser.add_argument("--only", choices=sorted(CONFIGS), action="append")
    parser.add_argument(
        "--fsync-off", action="store_true", help="keep the test server's non-durable settings"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    chosen = [name for name in CONFIGS if not args.only or name in args.only]
    started = time.perf_counter()
    print(
        f"Cercle scale benchmark — Python {platform.python_version()}, {CPUS} CPUs, "
        f"{args.circles} circles and {args.concurrency} client tasks per instance, "
        f"{args.warmup:g} s warm-up then {args.seconds:g} s measured per configuration"
    )

    configs: dict[str, dict[str, Any]] = {}
    settings: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cercle-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if "sqlite" in chosen:
            url = sqlite_url(tmp / "bench.sqlite3")
            configs["sqlite"] = run_config("sqlite", url, args, tmp, None)
        pg_configs = [name for name in chosen if name.startswith("pg")]
        if pg_configs:
            # not under our private temporary directory: as root, the server runs as "postgres"
            pg = Postgres(Path(tempfile.mkdtemp(prefix="cercle-scale-pg-")))
            try:
                pg.start(durable=not args.fsync_off)
                settings = pg.settings()
                print("PostgreSQL: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
                if not args.fsync_off and any(settings[k] != v for k, v in DURABLE.items()):
                    raise RuntimeError(f"the server is not durable: {settings}")
                for name in pg_configs:
                    url = pg.create_database(f"bench_{name}")
                    configs[name] = run_config(name, url, args, tmp, pg)
            finally:
                pg.stop()
                shutil.rmtree(pg.directory, ignore_errors=True)

    print()
    print_table(configs)
    print("SQLite: journal_mode=WAL, synchronous=NORMAL (no flush per commit; WAL checkpoints)")
    if settings:
        durable = all(settings[k] == v for k, v in DURABLE.items())
        print(
            "PostgreSQL: "
            + ("durable (each commit flushed)" if durable else "TEST SETTINGS, NOT DURABLE")
            + ", "
            + ", ".join(f"{k}={settings[k]}" for k in SHOWN)
        )
    for name, f in configs.items():
        print(f"{name}: {f['limit']}")
    result = {
        "bench": "scale",
        "cpus": CPUS,
        "circles_per_instance": args.circles,
        "concurrency_per_instance": args.concurrency,
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "seed": args.seed,
        "python": platform.python_version(),
        "postgres_settings": settings,
        "sqlite_settings": {"journal_mode": "wal", "synchronous": "normal"},
        "commands_per_s": {name: f["commands_per_s"] for name, f in configs.items()},
        "p99_ms": {name: f["p99_ms"] for name, f in configs.items()},
        "configs": configs,
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
