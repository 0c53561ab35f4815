"""Benchmark: 200 members of one circle send `/tour` at the same moment on Discord.

Run with no arguments from the repository root:

    .venv/bin/python bench/discord_burst.py

Everything runs in one event loop on 127.0.0.1: the loopback Discord of the tests, the
unmodified discord.py pointed at it, and Cercle as `cercle run` builds it (configuration from a
[discord] table, a migrated SQLite file in a temporary directory, the real-time scheduler, the
DiscordAdapter). A facilitator creates the circle (`libre` protocol), opens a séance and its
open floor; each of the `--members` members says `/present` (one after the other, not measured),
so the circle holds them all. Then every member sends `/tour` at once: the loopback writes the
INTERACTION_CREATEs back to back, and the bench waits for every callback.

Per interaction, the time is the loopback's own, from the INTERACTION_CREATE frame written to the
bot's socket to the first callback handled (`Interaction.delivered_at` → `Callback.at`). Discord
drops a callback that comes more than 3 s after the interaction; the loopback does the same.

- `answered`: interactions whose first callback came in time (a deferral counts: the answer
  follows as a follow-up);
- `doubled`: interactions the bot tried to answer twice (more than one callback request);
- `p50_ms`, `p99_ms`, `max_ms`: over all of them.

`cpu_ms_per_tour` is the process's CPU (the bot and the loopback together) from the burst until
every answer is there, per `/tour`: the figure that does not depend on the machine's load.

`--bursts N` repeats the burst N times on fresh séances; `--profile FILE` writes a cProfile of
the bursts. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
from discord_roundtrip import (  # noqa: E402  (bench/discord_roundtrip.py)
    TIMEOUT,
    TOKEN_ENV,
    finish,
    machine,
    new_client,
    percentile,
    point_discord_py_at,
    start_client,
)

from adapters.bootstrap import open_runtime  # noqa: E402
from adapters.config import parse_config  # noqa: E402
from adapters.discord.adapter import DiscordAdapter  # noqa: E402
from adapters.scheduler import ApsScheduler  # noqa: E402
from bot.timing.clock import SystemClock  # noqa: E402
from tests.adapters.discord.loopback import (  # noqa: E402
    Channel,
    Interaction,
    LoopbackDiscord,
    Member,
    Permission,
)

GOAL_P99_MS = 500.0
CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{interaction_token}/callback"


async def command(
    loopback: LoopbackDiscord, who: Member, channel: Channel, name: str, **o: Any
) -> None:
    interaction = await loopback.send_slash(who, channel, name, o)
    await interaction.wait_callback(TIMEOUT)


async def burst(
    loopback: LoopbackDiscord, channel: Channel, members: list[Member]
) -> list[Interaction]:
    """Every member sends /tour at once; returns the interactions once all have an answer."""
    sent = await asyncio.gather(*(loopback.send_slash(m, channel, "tour") for m in members))
    # One waiter for them all: 200 waiters, each woken by every call the loopback records,
    # would cost the shared event loop more than the bot it measures.
    with contextlib.suppress(TimeoutError):
        await loopback.wait_for(lambda: all(i.callback for i in sent), TIMEOUT)
    return list(sent)


async def answers(loopback: LoopbackDiscord, sent: list[Interaction]) -> None:
    """Until every deferred interaction has its answer as a follow-up (the person's place in
    the queue), so the next séance (or the stop) does not cut them off."""

    def answered(i: Interaction) -> bool:
        return i.callback is None or i.callback.type != 5 or bool(i.followups)

    with contextlib.suppress(TimeoutError):
        await loopback.wait_for(lambda: all(answered(i) for i in sent), TIMEOUT)


def callback_requests(loopback: LoopbackDiscord) -> Counter[str]:
    """How many callback requests the bot made per interaction id."""
    counts: Counter[str] = Counter()
    for call in loopback.calls:
        if call.route == CALLBACK_ROUTE:
            counts[call.path.split("/")[2]] += 1
    return counts


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    loopback = LoopbackDiscord()
    await loopback.start()
    profiler = cProfile.Profile() if args.profile else None
    try:
        point_discord_py_at(loopback)
        guild = loopback.add_guild("Burst", channels=("cercle",), locale="fr")
        channel = guild.channel("cercle")
        anim = loopback.add_member(guild, "camille", locale="fr")
        loopback.set_permissions(channel, anim, allow=Permission.MANAGE_CHANNELS)
        members = [
            loopback.add_member(guild, f"membre{n:03d}", locale="fr") for n in range(args.members)
        ]
        config = parse_config(
            {
                "cercle": {"data_dir": str(tmp / "data"), "adapters": ["discord"]},
                "discord": {"token_env": TOKEN_ENV, "guild_ids": [guild.id]},
            },
            {TOKEN_ENV: loopback.token},
        )
        clock = SystemClock()
        scheduler = ApsScheduler(clock)
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
            task = await start_client(adapter.client, loopback)
            await asyncio.wait_for(adapter.ready.wait(), TIMEOUT)
            try:
                await command(loopback, anim, channel, "cercle creer", nom="Burst")
                await command(loopback, anim, channel, "cercle protocole", nom="libre")
                interactions: list[Interaction] = []
                cpu_seconds: list[float] = []  # the process's (bot and loopback) per burst
                for n in range(args.bursts):
                    if n:
                        await command(loopback, anim, channel, "seance fin")
                    await command(loopback, anim, channel, "seance ouvrir")
                    await command(loopback, anim, channel, "seance phase", phase="suivante")
                    for member in members:
                        await command(loopback, member, channel, "present")
                    await adapter._queues.drained(TIMEOUT * 6)
                    if profiler is not None:
                        profiler.enable()
                    began, cpu = time.perf_counter(), time.process_time()
                    done = await burst(loopback, channel, members)
                    took = time.perf_counter() - began
                    await answers(loopback, done)
                    whole, cpu = time.perf_counter() - began, time.process_time() - cpu
                    if profiler is not None:
                        profiler.disable()
                    times = [
                        (i.callback.at - i.delivered_at) * 1000
                        for i in done
                        if i.callback is not None and i.delivered_at is not None
                    ]
                    p50 = percentile(times, 50) if times else float("nan")
                    p99 = percentile(times, 99) if times else float("nan")
                    print(
                        f"burst {n + 1}/{args.bursts}: {len(times)}/{len(done)} acknowledged "
                        f"in {took:.2f} s, every answer in {whole:.2f} s (CPU {cpu:.2f} s), "
                        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
                        flush=True,
                    )
                    to_handler = [
                        (reached[i.id] - i.delivered_at) * 1000
                        for i in done
                        if i.id in reached and i.delivered_at is not None
                    ]
                    if to_handler:
                        print(
                            f"  frame written -> the command's callback runs: "
                            f"p50 {percentile(to_handler, 50):.0f} ms, "
                            f"p99 {percentile(to_handler, 99):.0f} ms"
                        )
                    interactions.extend(done)
                    cpu_seconds.append(cpu)
                    await adapter._queues.drained(TIMEOUT * 6)
            finally:
                await adapter.stop(flush_seconds=TIMEOUT)
                await finish(task)
        requests = callback_requests(loopback)
    finally:
        await loopback.stop()
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    times = [
        (i.callback.at - i.delivered_at) * 1000
        for i in interactions
        if i.callback is not None and i.delivered_at is not None
    ]
    in_time = [i for i in interactions if i.callback is not None]
    return {
        "interactions": len(interactions),
        "answered": len(in_time),
        "doubled": sum(1 for i in interactions if requests[str(i.id)] > 1),
        "late": sum(i.late_callbacks for i in interactions),
        "deferred": sum(1 for i in in_time if i.callback and i.callback.type == 5),
        "p50_ms": round(percentile(times, 50), 1) if times else None,
        "p99_ms": round(percentile(times, 99), 1) if times else None,
        "max_ms": round(max(times), 1) if times else None,
        # what a /tour costs the process, whatever the load (the bot and the loopback together)
        "cpu_ms_per_tour": round(1000 * sum(cpu_seconds) / len(interactions), 2)
        if interactions
        else None,
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
    with tempfile.TemporaryDirectory(prefix="cercle-bench-burst-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
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
