"""Benchmark: 200 members of one circle send `/tour` at the same moment on Discord.

Run with no arguments from the repository root:

    .venv/bin/python bench/discord_burst.py

Two processes on 127.0.0.1, as in production where Discord's servers are not on the bot's CPU:

- **the loopback Discord** of the tests (gateway and REST) in a process of its own
  (bench/loopback_process.py), which builds the guild, acts as the users and times every
  interaction on its own clock, as Discord would;
- **the bot**, in this process: the unmodified discord.py pointed at the loopback's port and
  Cercle as `cercle run` builds it (configuration from a [discord] table, a migrated SQLite file
  in a temporary directory, the real-time scheduler, the DiscordAdapter).

This process drives the loopback through a pipe. A facilitator creates the circle (`libre`
protocol), opens a séance and its open floor; each of the `--members` members says `/present`
(one after the other, not measured), so the circle holds them all. Then every member sends
`/tour` at once: the loopback writes the INTERACTION_CREATEs back to back and waits for every
callback, then for every deferred one's follow-up (the person's place in the queue).

Per interaction, the time is the loopback's, from the INTERACTION_CREATE frame written to the
bot's socket to the first callback handled (`Interaction.delivered_at` → `Callback.at`). Discord
drops a callback that comes more than 3 s after the interaction; the loopback does the same.

- `answered`: interactions whose first callback came in time (a deferral counts: the answer
  follows as a follow-up; `followed_up` counts those whose answer came);
- `doubled`: interactions the bot tried to answer twice (more than one callback request);
- `p50_ms`, `p99_ms`, `max_ms`: over all of them.

`bot_cpu_ms_per_tour` is this process's CPU (discord.py and Cercle) from the burst until every
answer is there, per `/tour`: the figure that does not depend on the machine's load;
`loopback_cpu_ms_per_tour` is the loopback process's over the same span (Discord's share).

`--bursts N` repeats the burst N times on fresh séances; `--profile FILE` writes a cProfile of
the bot's process during the bursts (the loopback is not in it). The last line printed is one
JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
import yarl  # noqa: E402
from discord_roundtrip import (  # noqa: E402  (bench/discord_roundtrip.py)
    TIMEOUT,
    TOKEN_ENV,
    finish,
    machine,
    new_client,
    percentile,
)
from loopback_process import LoopbackProcess  # noqa: E402  (bench/loopback_process.py)

from adapters.bootstrap import open_runtime  # noqa: E402
from adapters.config import parse_config  # noqa: E402
from adapters.discord.adapter import DiscordAdapter  # noqa: E402
from adapters.scheduler import ApsScheduler  # noqa: E402
from bot.timing.clock import SystemClock  # noqa: E402

GOAL_P99_MS = 500.0


async def start_bot(client: discord.Client, token: str, guild_id: int) -> asyncio.Task[None]:
    """Start `client` on the loopback's process; its task once ready and the guild is there."""
    started = asyncio.create_task(client.start(token), name="discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait(
        {ready, started}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        await client.close()
        if started in done:
            started.result()
        raise RuntimeError("the client was not ready in time")
    if client.get_guild(guild_id) is None:
        await client.wait_for("guild_available", check=lambda g: g.id == guild_id, seconds=TIMEOUT)
    return started


async def command(loopback: LoopbackProcess, who: str, name: str, **options: Any) -> None:
    await loopback.request("command", who=who, name=name, options=options, seconds=TIMEOUT)


class GcPauses:
    """Wall time this process spends in the garbage collector (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._began


async def settled(adapter: DiscordAdapter) -> None:
    """Until the bot is idle: no command left in the core (`/seance fin` draws the recap's
    chart in a worker thread after its answer was deferred, which would otherwise run during
    the burst and be counted in it) and nothing left to send."""
    while adapter._handling:
        await asyncio.wait(set(adapter._handling), timeout=TIMEOUT * 6)
    await adapter._queues.drained(TIMEOUT * 6)


def figures(interactions: list[dict[str, Any]]) -> list[float]:
    """Per interaction: from its frame written to its first callback handled (ms)."""
    return [
        (i["callback_at"] - i["delivered_at"]) * 1000
        for i in interactions
        if i["callback_at"] is not None and i["delivered_at"] is not None
    ]


async def run(args: argparse.Namespace, tmp: Path, loopback: LoopbackProcess) -> dict[str, Any]:
    profiler = cProfile.Profile() if args.profile else None
    world = await loopback.request("world", members=args.members)
    discord.http.Route.BASE = world["api_base"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(world["gateway_url"])
    config = parse_config(
        {
            "cercle": {"data_dir": str(tmp / "data"), "adapters": ["discord"]},
            "discord": {"token_env": TOKEN_ENV, "guild_ids": [world["guild_id"]]},
        },
        {TOKEN_ENV: world["token"]},
    )
    clock = SystemClock()
    scheduler = ApsScheduler(clock)
    interactions: list[dict[str, Any]] = []
    bot_cpu: list[float] = []  # this process's (the bot's) per burst
    gc_pause = GcPauses()
    loopback_cpu: list[float] = []  # the loopback process's per burst
    async with open_runtime(config, clock, scheduler) as runtime:
        assert runtime.config.discord is not None
        adapter = DiscordAdapter(runtime.core, runtime.config.discord, client=new_client())
        reached: dict[int, float] = {}
        run_command = adapter._run_command

        async def timed_run_command(interaction: Any, command: Any, names: Any) -> None:
            reached[interaction.id] = time.monotonic()
            await run_command(interaction, command, names)

        adapter._run_command = timed_run_command  # type: ignore[method-assign]
        scheduler.deliver = adapter.deliver
        task = await start_bot(adapter.client, world["token"], world["guild_id"])
        await asyncio.wait_for(adapter.ready.wait(), TIMEOUT)
        try:
            await command(loopback, "anim", "cercle creer", nom="Burst")
            await command(loopback, "anim", "cercle protocole", nom="libre")
            for n in range(args.bursts):
                if n:
                    await command(loopback, "anim", "seance fin")
                await command(loopback, "anim", "seance ouvrir")
                await command(loopback, "anim", "seance phase", phase="suivante")
                await loopback.request("everyone", name="present", seconds=TIMEOUT)
                await settled(adapter)
                if profiler is not None:
                    profiler.enable()
                cpu, loop_cpu, collecting = time.process_time(), time.thread_time(), gc_pause.total
                done = await loopback.request("burst", name="tour", seconds=TIMEOUT)
                cpu = time.process_time() - cpu
                loop_cpu = time.thread_time() - loop_cpu
                collecting = gc_pause.total - collecting
                if profiler is not None:
                    profiler.disable()
                sent = done["interactions"]
                times = figures(sent)
                p50 = percentile(times, 50) if times else float("nan")
                p99 = percentile(times, 99) if times else float("nan")
                print(
                    f"burst {n + 1}/{args.bursts}: {len(times)}/{len(sent)} acknowledged "
                    f"in {done['acknowledged'] - done['began']:.2f} s, every answer in "
                    f"{done['ended'] - done['began']:.2f} s; CPU bot {cpu:.2f} s (its event loop "
                    f"{loop_cpu:.2f} s, garbage collection {collecting:.2f} s), "
                    f"loopback {done['cpu']:.2f} s; p50 {p50:.0f} ms, p99 {p99:.0f} ms",
                    flush=True,
                )
                to_handler = [
                    (reached[i["id"]] - i["delivered_at"]) * 1000
                    for i in sent
                    if i["id"] in reached and i["delivered_at"] is not None
                ]
                if to_handler:
                    print(
                        f"  frame written -> the command's callback runs: "
                        f"p50 {percentile(to_handler, 50):.0f} ms, "
                        f"p99 {percentile(to_handler, 99):.0f} ms"
                    )
                interactions.extend(sent)
                bot_cpu.append(cpu)
                loopback_cpu.append(done["cpu"])
                await adapter._queues.drained(TIMEOUT * 6)
        finally:
            await adapter.stop(flush_seconds=TIMEOUT)
            await finish(task)
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    times = figures(interactions)
    in_time = [i for i in interactions if i["callback_at"] is not None]
    count = len(interactions)
    return {
        "interactions": count,
        "answered": len(in_time),
        "doubled": sum(1 for i in interactions if i["requests"] > 1),
        "late": sum(i["late"] for i in interactions),
        "deferred": sum(1 for i in in_time if i["callback_type"] == 5),
        "followed_up": sum(1 for i in interactions if i["answered"]),
        "p50_ms": round(percentile(times, 50), 1) if times else None,
        "p99_ms": round(percentile(times, 99), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        # what a /tour costs the bot's process, whatever the load (Discord's side apart)
        "bot_cpu_ms_per_tour": round(1000 * sum(bot_cpu) / count, 2) if count else None,
        "loopback_cpu_ms_per_tour": round(1000 * sum(loopback_cpu) / count, 2) if count else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200, help="members sending /tour")
    parser.add_argument("--bursts", type=int, default=3, help="bursts, each on a fresh séance")
    parser.add_argument("--profile", type=Path, help="cProfile of the bursts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord").setLevel(logging.ERROR)
    info = machine()
    print(
        f"discord.py {discord.__version__}; Python {info['python']}; {info['nproc']} CPU(s); "
        f"{args.members} members, {args.bursts} bursts; load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    loopback = LoopbackProcess()
    try:
        with tempfile.TemporaryDirectory(prefix="cercle-bench-burst-") as tmp:
            result = asyncio.run(run(args, Path(tmp), loopback))
    finally:
        loopback.stop()
    met = (
        result["answered"] == result["interactions"]
        and result["doubled"] == 0
        and result["p99_ms"] is not None
        and result["p99_ms"] <= GOAL_P99_MS
    )
    print(
        f"goal: every /tour answered once, p99 <= {GOAL_P99_MS:.0f} ms: "
        f"{'met' if met else 'MISSED'}"
    )
    result |= {
        "members": args.members,
        "bursts": args.bursts,
        "goal_met": met,
        "nproc": info["nproc"],
        "loadavg_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
