"""Benchmark: how long Cercle takes to answer `/tour` on Discord, next to a bare discord.py bot.

Run with no arguments from the repository root:

    .venv/bin/python bench/discord_roundtrip.py

Everything runs in this one event loop, on 127.0.0.1: a LoopbackDiscord (the fake of Discord's
API v10 gateway + REST used by the tests, tests/adapters/discord/loopback/), and the unmodified
discord.py pointed at it (`Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY`, as the tests'
conftest does). Two bots take turns on it, since the loopback serves one bot session at a time:

- **cercle**: Cercle as `cercle run` builds it: the configuration parsed from a [discord] table,
  a migrated SQLite database in a temporary directory, the core with the real-time scheduler,
  and the DiscordAdapter (its own command tree, status buttons and send queue). A facilitator
  sets up `/cercle creer`, `/cercle protocole libre`, `/seance ouvrir`, `/seance phase suivante`
  (the open floor); each later cercle block starts with `/seance fin` and a fresh séance, so a
  séance holds at most one block's turns, as a real one would (`--one-seance` keeps a single
  séance: the core's cost grows with the turns a séance holds). Each round, one of three
  participants (in turn) runs `/tour` and gets the floor ("…, vous avez la parole."), then
  gives it back with `/fini` or `/passe` (alternately), and the bench waits until the live
  status has been edited back to "Parole : personne" and the adapter's send queue is empty, so
  each round starts with an idle bot.
- **bare**: a discord.Client with a CommandTree whose only command, `/tour`, answers
  `interaction.response.send_message("ok", ephemeral=True)`.

Both clients are built alike (default intents, no member chunking, the same short wait for
GUILD_CREATE); the bots run in blocks, alternately (cercle, bare, bare, cercle, ...), each
block on a freshly started client; the first `--warmup` rounds of each block are discarded.

A round's time is the loopback's own: from the moment it has written the INTERACTION_CREATE
frame to the bot's websocket (`Interaction.delivered_at`) to the moment it has handled the bot's
interaction callback (`Callback.at`), both on time.monotonic. The user-side time (the bench's
`send_slash` → `wait_callback`, which adds building the interaction and waking the waiter) is
shown too. Hooks on the adapter *instance* and on the core instance (the adapter's code is
untouched) split Cercle's time into stages; see `STAGES`.

The last line printed is one JSON object with the figures. Options: --rounds (measured rounds
per bot), --warmup (discarded rounds per block), --blocks (blocks per bot), --split (CPU and wall
time of the steps inside CercleCore.handle, from hooks on classes of bot/ and storage/ for this
run only), --one-seance, --profile FILE (cProfile of Cercle's measured rounds; this process also
runs the loopback, so look at the bot's own functions).

Everything shares one process and one CPU-bound event loop, so the machine's load shows in both
bots' figures; the header and the end give the load average. A full garbage collection (the
loopback keeps every message, call and interaction) pauses whichever bot is running for 0.1-0.2 s
on a small machine: that is the odd outlier in the max column.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import discord  # noqa: E402
import yarl  # noqa: E402
from discord import app_commands  # noqa: E402
from sqlalchemy import event as sqla_event  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection  # noqa: E402

from adapters.bootstrap import Runtime, open_runtime  # noqa: E402
from adapters.config import parse_config  # noqa: E402
from adapters.discord.adapter import DiscordAdapter  # noqa: E402
from adapters.scheduler import ApsScheduler  # noqa: E402
from bot import dispatcher as dispatcher_module  # noqa: E402
from bot.timing.clock import SystemClock  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.adapters.discord.loopback import (  # noqa: E402
    Channel,
    Interaction,
    LoopbackDiscord,
    Member,
    Message,
    Permission,
)

GOAL_RATIO_P50 = 1.10
GOAL_CERCLE_P99_MS = 50.0
TIMEOUT = 10.0  # seconds: the longest any wait may take before the bench fails
READY_TIMEOUT = 15.0
# As the tests' CLIENT_OPTIONS: no member chunking, a short wait for GUILD_CREATEs after READY.
CLIENT_OPTIONS: dict[str, Any] = {"chunk_guilds_at_startup": False, "guild_ready_timeout": 0.05}
SETTLE_SECONDS = 0.005  # idle time after each round, the same for both bots
TOKEN_ENV = "BENCH_CERCLE_DISCORD_TOKEN"
CERCLE_ANSWER = "vous avez la parole."
NOBODY = "Parole : personne"

# Cercle's round trip split at the hooks, in order; they add up to the total (ms).
STAGES = (
    (
        "to_handler",
        "frame written -> the command's callback runs (ws read, zlib, JSON, "
        "discord.py state + CommandTree)",
    ),
    ("pre_core", "callback -> CercleCore.handle (CommandEvent, facilitator check)"),
    ("core", "CercleCore.handle (parse, rules, SQLite commit)"),
    (
        "answer",
        "core returned -> loopback has the callback (effects, discord.py HTTP POST, "
        "loopback route)",
    ),
)


# ------------------------------------------------------------------------------------- records


@dataclass
class Marks:
    """Instants (time.monotonic, as the loopback's) per interaction id, and work counters."""

    at: dict[int, dict[str, float]] = field(default_factory=dict)
    current: int | None = None  # the interaction Cercle's core is working on
    sql: int = 0
    commits: int = 0
    core_cpu: dict[int, float] = field(default_factory=dict)

    def mark(self, interaction_id: int | None, key: str) -> None:
        if interaction_id is not None:
            self.at.setdefault(interaction_id, {}).setdefault(key, time.monotonic())

    def get(self, interaction_id: int, key: str) -> float | None:
        return self.at.get(interaction_id, {}).get(key)


@dataclass
class Round:
    total_ms: float  # loopback: INTERACTION_CREATE written -> callback handled
    user_ms: float  # bench: send_slash -> wait_callback returned
    stages: dict[str, float] | None
    sql: int = 0
    commits: int = 0
    core_cpu_ms: float = 0.0
    cpu_ms: float = 0.0  # this whole process's CPU during the round trip (bots + loopback)


@dataclass
class Series:
    rounds: list[Round] = field(default_factory=list)
    block_p50: list[float] = field(default_factory=list)

    @property
    def totals(self) -> list[float]:
        return [r.total_ms for r in self.rounds]


@dataclass
class Split:
    """With --split: main-thread CPU and wall time (ms) of the core's steps, measured /tour only."""

    on: bool = False
    commands: int = 0
    steps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


# (label, owner, attribute): the steps --split times, patched on the class for the run only.
SPLIT_STEPS: tuple[tuple[str, Any, str], ...] = (
    ("dispatcher._run: checks, handler, status text", dispatcher_module.Dispatcher, "_run"),
    ("  status_view (live status text)", dispatcher_module, "status_view"),
    ("uow enter: DB lock, pool checkout, BEGIN", SqlUnitOfWork, "__aenter__"),
    ("commit: flush the circle (diff + SQL)", SqlUnitOfWork, "_flush_circle"),
    ("commit: flush the séance (diff + SQL)", SqlUnitOfWork, "_flush_seance"),
    ("  AsyncConnection.execute (each)", AsyncConnection, "execute"),
    ("  AsyncConnection.commit (COMMIT)", AsyncConnection, "commit"),
    ("uow exit: pool check-in (reset)", SqlUnitOfWork, "__aexit__"),
)


@contextlib.contextmanager
def split_core(split: Split | None) -> Any:
    """Time SPLIT_STEPS while `split.on`; put the originals back after."""
    if split is None:
        yield
        return
    saved = [(owner, name, owner.__dict__[name]) for _, owner, name in SPLIT_STEPS]

    def record(label: str, cpu: float, wall: float) -> None:
        if split.on:
            split.steps.setdefault(label, []).append(
                ((time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000)
            )

    for label, owner, name in SPLIT_STEPS:
        original = owner.__dict__[name]
        if asyncio.iscoroutinefunction(original):

            async def timed(*a: Any, _f: Any = original, _l: str = label, **k: Any) -> Any:
                cpu, wall = time.thread_time(), time.perf_counter()
                try:
                    return await _f(*a, **k)
                finally:
                    record(_l, cpu, wall)

        else:

            def timed(*a: Any, _f: Any = original, _l: str = label, **k: Any) -> Any:  # type: ignore[misc]
                cpu, wall = time.thread_time(), time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    record(_l, cpu, wall)

        setattr(owner, name, timed)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def split_table(split: Split) -> str:
    n = max(1, split.commands)
    lines = [
        f"CercleCore.handle of the measured /tour, split (--split; {n} commands); ms, medians",
        f"{'step':<50}{'calls':>6}{'CPU':>8}{'wall':>8}{'wall p99':>10}",
        "-" * 82,
    ]
    for label, _, _ in SPLIT_STEPS:
        values = split.steps.get(label, [])
        if not values:
            continue
        cpu = _median([c for c, _ in values])
        walls = [w for _, w in values]
        lines.append(
            f"{label:<50}{len(values) / n:>6.1f}{cpu:>8.3f}{_median(walls):>8.3f}"
            f"{percentile(walls, 99):>10.3f}"
        )
    lines.append("CPU: this (the event loop's) thread only; wall - CPU = waiting (threads, OS)")
    return "\n".join(lines)


class ErrorLog(logging.Handler):
    """ERRORs logged by discord.py or Cercle's adapters: a bench that hides them lies."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# --------------------------------------------------------------------------------------- world


@dataclass
class World:
    loopback: LoopbackDiscord
    cercle_channel: Channel
    bare_channel: Channel
    anim: Member
    people: list[Member]


def build_world(loopback: LoopbackDiscord) -> World:
    guild = loopback.add_guild("Bench", channels=("cercle", "bare"), locale="fr")
    cercle_channel = guild.channel("cercle")
    anim = loopback.add_member(guild, "camille", locale="fr")
    loopback.set_permissions(cercle_channel, anim, allow=Permission.MANAGE_CHANNELS)
    people = [loopback.add_member(guild, name, locale="fr") for name in ("ali", "bea", "chloe")]
    return World(loopback, cercle_channel, guild.channel("bare"), anim, people)


def point_discord_py_at(loopback: LoopbackDiscord) -> None:
    """What the tests' `discord_client_factory` does (this process only, for its whole life)."""
    discord.http.Route.BASE = loopback.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(loopback.gateway_url)


def new_client() -> discord.Client:
    """The client both bots get: the adapter's own intents, the tests' start-up options."""
    intents = discord.Intents.default()
    intents.message_content = False
    intents.members = False
    intents.presences = False
    # as the adapter's own client: it reads the "Interested" dispatches from the raw gateway
    return discord.Client(intents=intents, enable_debug_events=True, **CLIENT_OPTIONS)


async def start_client(client: discord.Client, loopback: LoopbackDiscord) -> asyncio.Task[None]:
    """Start `client` on the loopback; return its task once it is ready and has every guild."""
    started = asyncio.create_task(client.start(loopback.token), name="discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait(
        {ready, started}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        await client.close()
        if started in done:
            started.result()
        raise RuntimeError("the client was not ready in time")
    for guild_id in loopback.guilds:
        if client.get_guild(guild_id) is None:
            await client.wait_for(
                "guild_available", check=lambda g, i=guild_id: g.id == i, timeout=READY_TIMEOUT
            )
    return started


async def finish(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)


# ---------------------------------------------------------------------------------------- bots


class CercleBot:
    """Cercle's DiscordAdapter on a fresh client, with timestamps on this instance only."""

    def __init__(self, runtime: Runtime, marks: Marks) -> None:
        assert runtime.config.discord is not None
        self.runtime, self.marks = runtime, marks
        self.adapter = DiscordAdapter(runtime.core, runtime.config.discord, client=new_client())
        run_command = self.adapter._run_command

        async def timed_run_command(
            interaction: discord.Interaction, command: Any, names: Any
        ) -> None:
            marks.mark(interaction.id, "handler")
            marks.current = interaction.id
            await run_command(interaction, command, names)

        # Set before start(): the command tree and the status buttons are built in setup_hook
        # from `self._run_command`, so they take this instance attribute.
        self.adapter._run_command = timed_run_command  # type: ignore[method-assign]
        self.task: asyncio.Task[None] | None = None

    async def start(self, loopback: LoopbackDiscord) -> None:
        self.task = await start_client(self.adapter.client, loopback)
        await asyncio.wait_for(self.adapter.ready.wait(), TIMEOUT)

    async def stop(self) -> None:
        await self.adapter.stop(flush_seconds=TIMEOUT)
        if self.task is not None:
            await finish(self.task)


def hook_core(runtime: Runtime, marks: Marks) -> None:
    """Timestamps, CPU and SQL statements of CercleCore.handle (on the core instance)."""
    core = runtime.core
    handle = core.handle

    async def timed_handle(event: Any) -> Any:
        interaction_id = marks.current
        marks.mark(interaction_id, "core_start")
        cpu = time.process_time()
        try:
            return await handle(event)
        finally:
            marks.mark(interaction_id, "core_end")
            if interaction_id is not None:
                marks.core_cpu[interaction_id] = time.process_time() - cpu

    core.handle = timed_handle  # type: ignore[method-assign]

    def count_sql(*_: Any) -> None:
        marks.sql += 1

    def count_commit(*_: Any) -> None:
        marks.commits += 1

    engine = runtime.database.engine.sync_engine
    sqla_event.listen(engine, "before_cursor_execute", count_sql)
    sqla_event.listen(engine, "commit", count_commit)


class BareBot:
    """The baseline: the smallest discord.py bot with a `/tour` slash command."""

    def __init__(self, guild_id: int, marks: Marks) -> None:
        self.client = new_client()
        self.tree = app_commands.CommandTree(self.client)
        self.guild = discord.Object(id=guild_id)
        self.task: asyncio.Task[None] | None = None

        @self.tree.command(name="tour", description="lever la main", guild=self.guild)
        async def tour(interaction: discord.Interaction) -> None:
            marks.mark(interaction.id, "handler")
            await interaction.response.send_message("ok", ephemeral=True)

        async def setup_hook() -> None:
            await self.tree.sync(guild=self.guild)

        self.client.setup_hook = setup_hook  # type: ignore[method-assign]

    async def start(self, loopback: LoopbackDiscord) -> None:
        self.task = await start_client(self.client, loopback)

    async def stop(self) -> None:
        await self.client.close()
        if self.task is not None:
            await finish(self.task)


# ------------------------------------------------------------------------------------- rounds


async def slash(world: World, who: Member, command: str, **options: Any) -> tuple[str, float]:
    """Run a command in Cercle's channel; its answer and the instant of the callback."""
    interaction = await world.loopback.send_slash(who, world.cercle_channel, command, options)
    callback = await interaction.wait_callback(TIMEOUT)
    return callback.content or "", callback.at


# (command, options, a piece of the expected answer)
Step = tuple[str, dict[str, Any], str]
SET_UP: tuple[Step, ...] = (
    ("cercle creer", {"nom": "Bench"}, "créé"),
    ("cercle protocole", {"nom": "libre"}, "libre"),
)
OPEN_FLOOR: tuple[Step, ...] = (
    ("seance ouvrir", {}, "Séance"),
    ("seance phase", {"phase": "suivante"}, "Phase : Parole libre"),
)
NEXT_SEANCE: tuple[Step, ...] = (("seance fin", {}, "terminée"), *OPEN_FLOOR)


def posted_after(snowflake: int, text: str) -> Callable[[Message], bool]:
    return lambda message: message.id > snowflake and text in message.content


async def facilitate(world: World, bot: CercleBot, steps: tuple[Step, ...]) -> None:
    """The facilitator's commands, each checked; then wait until the bot has sent everything.

    A command the core takes more than 2 s over (closing a séance computes its recap) is
    deferred by the adapter: its public answer then comes as a channel message."""
    loopback = world.loopback
    for command, options, answer in steps:
        interaction = await loopback.send_slash(world.anim, world.cercle_channel, command, options)
        callback = await interaction.wait_callback(TIMEOUT)
        if callback.type == 5:  # deferred
            print(f"  (/{command} took over 2 s in the core: the adapter deferred its answer)")
            await loopback.wait_message(
                world.cercle_channel, posted_after(interaction.id, answer), TIMEOUT
            )
        elif answer not in (callback.content or ""):
            raise RuntimeError(f"/{command}: unexpected answer {callback.content!r}")
    await loopback.wait_message(
        world.cercle_channel, lambda m: bool(m.embeds) and bool(m.custom_ids()), TIMEOUT
    )
    await bot.adapter._queues.drained(TIMEOUT)


def status_back_to_nobody(loopback: LoopbackDiscord, after: float) -> Callable[[], bool]:
    """A status edit saying nobody speaks, sent after the instant `after`."""

    def check() -> bool:
        for call in reversed(loopback.calls):
            if call.at <= after:
                return False
            if (
                call.method == "PATCH"
                and call.route == "PATCH /channels/{channel_id}/messages/{message_id}"
                and NOBODY in json.dumps(call.json, ensure_ascii=False)
            ):
                return True
        return False

    return check


def timed(interaction: Interaction, started: float, ended: float, marks: Marks) -> Round:
    callback = interaction.callback
    assert callback is not None
    assert interaction.delivered_at is not None
    total = (callback.at - interaction.delivered_at) * 1000
    stages: dict[str, float] | None = None
    get = marks.get
    handler = get(interaction.id, "handler")
    core_start, core_end = get(interaction.id, "core_start"), get(interaction.id, "core_end")
    if handler is not None:
        if core_start is None or core_end is None:  # the bare bot: no core
            core_start = core_end = handler
        stages = {
            "to_handler": (handler - interaction.delivered_at) * 1000,
            "pre_core": (core_start - handler) * 1000,
            "core": (core_end - core_start) * 1000,
            "answer": (callback.at - core_end) * 1000,
        }
    return Round(total, (ended - started) * 1000, stages)


async def cercle_round(
    world: World, bot: CercleBot, index: int, marks: Marks, split: Split | None
) -> Round:
    who = world.people[index % len(world.people)]
    sql, commits, cpu = marks.sql, marks.commits, time.process_time()
    if split is not None:
        split.on = True
        split.commands += 1
    started = time.perf_counter()
    interaction = await world.loopback.send_slash(who, world.cercle_channel, "tour")
    callback = await interaction.wait_callback(TIMEOUT)
    ended = time.perf_counter()
    if split is not None:
        split.on = False
    cpu_ms = (time.process_time() - cpu) * 1000
    if not (callback.content or "").endswith(CERCLE_ANSWER) or callback.ephemeral:
        raise RuntimeError(f"/tour by {who.user.username}: unexpected answer {callback.content!r}")
    result = timed(interaction, started, ended, marks)
    # The core's work for this /tour (the status edit that follows is sent by the queue later).
    result.sql, result.commits = marks.sql - sql, marks.commits - commits
    result.core_cpu_ms = marks.core_cpu.get(interaction.id, 0.0) * 1000
    result.cpu_ms = cpu_ms
    # Out of the clock: give the floor back, wait for the status to say so and the queue to
    # drain, so that no send of this round is pending when the next one is measured.
    release = "fini" if index % 2 == 0 else "passe"
    said, at = await slash(world, who, release)
    if who.user.username not in said:
        raise RuntimeError(f"/{release}: unexpected answer {said!r}")
    await world.loopback.wait_for(
        status_back_to_nobody(world.loopback, at), TIMEOUT, what=f"the status edit after /{release}"
    )
    await bot.adapter._queues.drained(TIMEOUT)
    return result


async def bare_round(world: World, index: int, marks: Marks) -> Round:
    who = world.people[index % len(world.people)]
    cpu = time.process_time()
    started = time.perf_counter()
    interaction = await world.loopback.send_slash(who, world.bare_channel, "tour")
    callback = await interaction.wait_callback(TIMEOUT)
    ended = time.perf_counter()
    cpu_ms = (time.process_time() - cpu) * 1000
    if callback.content != "ok" or not callback.ephemeral:
        raise RuntimeError(f"bare /tour: unexpected answer {callback.content!r}")
    result = timed(interaction, started, ended, marks)
    result.cpu_ms = cpu_ms
    return result


# ------------------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary_table(cercle: Series, bare: Series) -> str:
    lines = []
    head = f"{'bot':<8}{'n':>5}{'min':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'mean':>9}"
    for title, get in (
        ("INTERACTION_CREATE written -> callback handled (loopback clock), ms", "total_ms"),
        ("user side: send_slash -> wait_callback returned, ms", "user_ms"),
    ):
        lines += [title, head, "-" * len(head)]
        for name, series in (("cercle", cercle), ("bare", bare)):
            v = [getattr(r, get) for r in series.rounds]
            lines.append(
                f"{name:<8}{len(v):>5}{min(v):>9.2f}{percentile(v, 50):>9.2f}"
                f"{percentile(v, 90):>9.2f}{percentile(v, 99):>9.2f}{max(v):>9.2f}"
                f"{statistics.fmean(v):>9.2f}"
            )
        lines.append("")
    lines.append("p50 of each block (ms), in the order they ran")
    for name, series in (("cercle", cercle), ("bare", bare)):
        lines.append(f"  {name:<7} " + " ".join(f"{p:.2f}" for p in series.block_p50))
    lines += ["", "median of each stage (ms); medians need not add up to the total's median"]
    head = f"{'stage':<12}{'cercle':>9}{'bare':>9}{'diff':>9}   what"
    lines += [head, "-" * 110]
    for key, what in STAGES:
        c = _median([r.stages[key] for r in cercle.rounds if r.stages])
        b = _median([r.stages[key] for r in bare.rounds if r.stages])
        lines.append(f"{key:<12}{c:>9.3f}{b:>9.3f}{c - b:>+9.3f}   {what}")
    lines += ["", "p99 of each stage (ms)"]
    for key, _ in STAGES:
        c = percentile([r.stages[key] for r in cercle.rounds if r.stages], 99)
        b = percentile([r.stages[key] for r in bare.rounds if r.stages], 99)
        lines.append(f"  {key:<12}{c:>9.3f}{b:>9.3f}")
    lines += ["", "work per /tour (median)"]
    rows: list[tuple[str, Callable[[Round], float], str]] = [
        ("cpu_ms", lambda r: r.cpu_ms, "CPU of this process (bots + loopback), send -> callback"),
        ("core_cpu_ms", lambda r: r.core_cpu_ms, "CPU during CercleCore.handle"),
        ("sql", lambda r: float(r.sql), "SQL statements"),
        ("commits", lambda r: float(r.commits), "transactions committed"),
    ]
    for key, get_value, what in rows:
        c = _median([get_value(r) for r in cercle.rounds])
        b = _median([get_value(r) for r in bare.rounds])
        lines.append(f"  {key:<12}{c:>9.3f}{b:>9.3f}   {what}")
    slow = sorted(cercle.rounds, key=lambda r: r.total_ms)[-5:]
    lines += ["", "cercle's 5 slowest rounds (ms): total = to_handler + pre_core + core + answer"]
    for r in reversed(slow):
        s = r.stages or {}
        parts = " + ".join(f"{s.get(k, float('nan')):.2f}" for k, _ in STAGES)
        lines.append(f"  {r.total_ms:8.2f} = {parts}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


# ---------------------------------------------------------------------------------------- main


def block_sizes(rounds: int, blocks: int) -> list[int]:
    base, extra = divmod(rounds, blocks)
    return [base + (1 if i < extra else 0) for i in range(blocks)]


async def run(
    args: argparse.Namespace, tmp: Path, split: Split | None = None
) -> tuple[Series, Series, int]:
    errors = ErrorLog()
    for name in ("discord", "adapters"):
        logging.getLogger(name).addHandler(errors)
    loopback = LoopbackDiscord()
    await loopback.start()
    try:
        point_discord_py_at(loopback)
        world = build_world(loopback)
        guild_id = world.cercle_channel.guild.id  # type: ignore[union-attr]
        env = {TOKEN_ENV: loopback.token}
        config = parse_config(
            {
                "cercle": {"data_dir": str(tmp / "cercle-data"), "adapters": ["discord"]},
                "discord": {"token_env": TOKEN_ENV, "guild_ids": [guild_id]},
            },
            env,
        )
        marks = Marks()
        clock = SystemClock()
        scheduler = ApsScheduler(clock)
        cercle, bare = Series(), Series()
        profiler = cProfile.Profile() if args.profile else None
        async with open_runtime(config, clock, scheduler) as runtime:
            hook_core(runtime, marks)
            current: list[CercleBot] = []

            async def deliver(effects: list[Any]) -> None:
                if current:
                    await current[0].adapter.deliver(effects)

            scheduler.deliver = deliver
            sizes = block_sizes(args.rounds, args.blocks)
            index = 0
            for block in range(2 * args.blocks):
                # cercle, bare, bare, cercle, cercle, bare, ...: each bot runs first half the time
                which = "cercle" if (block % 4) in (0, 3) else "bare"
                size = sizes[block // 2]
                series = cercle if which == "cercle" else bare
                values: list[float] = []
                bot: CercleBot | BareBot
                if which == "cercle":
                    bot = CercleBot(runtime, marks)
                    current[:] = [bot]
                else:
                    bot = BareBot(guild_id, marks)
                await bot.start(loopback)
                try:
                    if isinstance(bot, CercleBot) and block == 0:
                        await facilitate(world, bot, SET_UP + OPEN_FLOOR)
                    elif isinstance(bot, CercleBot) and not args.one_seance:
                        await facilitate(world, bot, NEXT_SEANCE)
                    for n in range(args.warmup + size):
                        measured = n >= args.warmup
                        if measured and profiler is not None and which == "cercle":
                            profiler.enable()
                        if isinstance(bot, CercleBot):
                            result = await cercle_round(
                                world, bot, index, marks, split if measured else None
                            )
                        else:
                            result = await bare_round(world, index, marks)
                        if profiler is not None:
                            profiler.disable()
                        index += 1
                        if measured:
                            series.rounds.append(result)
                            values.append(result.total_ms)
                        await asyncio.sleep(SETTLE_SECONDS)
                finally:
                    await bot.stop()
                    current.clear()
                series.block_p50.append(percentile(values, 50))
                print(
                    f"block {block + 1}/{2 * args.blocks} {which:<6}: {args.warmup} + {size} "
                    f"rounds, p50 {percentile(values, 50):.2f} ms, "
                    f"p99 {percentile(values, 99):.2f} ms",
                    flush=True,
                )
        if loopback.unknown_routes:
            print(f"warning: the bots used unknown routes: {loopback.unknown_routes}")
        late = sum(i.late_callbacks for i in loopback.interactions)
        if late:
            print(f"warning: {late} callbacks came after Discord's 3 s deadline")
        failed = loopback.failed_calls
        if failed:
            print(f"warning: {len(failed)} REST calls failed, e.g. {failed[0]}")
        if profiler is not None:
            profiler.dump_stats(str(args.profile))
            print(f"\nprofile of cercle's measured rounds written to {args.profile}; top:")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        await loopback.stop()
        for name in ("discord", "adapters"):
            logging.getLogger(name).removeHandler(errors)
    for record in errors.records:
        print(f"error logged: {record.name}: {record.getMessage()}", file=sys.stderr)
    return cercle, bare, len(errors.records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500, help="measured rounds per bot")
    parser.add_argument("--warmup", type=int, default=20, help="discarded rounds per block")
    parser.add_argument("--blocks", type=int, default=5, help="blocks per bot")
    parser.add_argument("--profile", type=Path, help="cProfile of cercle's measured rounds")
    parser.add_argument(
        "--one-seance",
        action="store_true",
        help="keep one séance for the whole run (default: a fresh one per cercle block)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="also split CercleCore.handle of the measured /tour into its steps (CPU and wall)",
    )
    args = parser.parse_args(argv)
    if args.blocks < 1 or args.rounds < args.blocks or args.warmup < 0:
        parser.error("--blocks >= 1, --rounds >= --blocks and --warmup >= 0, please")
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("discord").setLevel(logging.ERROR)  # its start/stop INFO/WARNING chatter
    info = machine()
    print(
        f"discord.py {discord.__version__}; Python {info['python']}; "
        f"{info['nproc']} CPU(s): {info['cpu']}; {args.blocks} blocks per bot, "
        f"{args.warmup} warm-up rounds per block; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    started = time.perf_counter()
    split = Split() if args.split else None
    with (
        tempfile.TemporaryDirectory(prefix="cercle-bench-discord-") as tmp,
        split_core(split),
    ):
        cercle, bare, errors = asyncio.run(run(args, Path(tmp), split))
    print(f"\n{time.perf_counter() - started:.1f} s in all; load average {os.getloadavg()[0]:.2f}")
    print()
    print(summary_table(cercle, bare))
    if split is not None:
        print()
        print(split_table(split))
    c50, b50 = percentile(cercle.totals, 50), percentile(bare.totals, 50)
    c99, b99 = percentile(cercle.totals, 99), percentile(bare.totals, 99)
    ratio50, ratio99 = c50 / b50, c99 / b99
    met = ratio50 <= GOAL_RATIO_P50 and c99 < GOAL_CERCLE_P99_MS
    print(
        f"\ngoals: ratio_p50 <= {GOAL_RATIO_P50:.2f} "
        f"({'met' if ratio50 <= GOAL_RATIO_P50 else 'MISSED'}: {ratio50:.3f}); "
        f"cercle p99 < {GOAL_CERCLE_P99_MS:.0f} ms "
        f"({'met' if c99 < GOAL_CERCLE_P99_MS else 'MISSED'}: {c99:.2f} ms)"
    )
    if errors:
        print(f"{errors} errors were logged during the run (see stderr)")
    print(
        json.dumps(
            {
                "cercle_p50_ms": round(c50, 3),
                "bare_p50_ms": round(b50, 3),
                "ratio_p50": round(ratio50, 3),
                "cercle_p99_ms": round(c99, 3),
                "bare_p99_ms": round(b99, 3),
                "ratio_p99": round(ratio99, 3),
                "rounds": len(cercle.totals),
                "bare_rounds": len(bare.totals),
                "warmup_per_block": args.warmup,
                "blocks": args.blocks,
                "goals_met": met,
                "errors_logged": errors,
                "nproc": info["nproc"],
                "cpu": info["cpu"],
                "loadavg_end": round(os.getloadavg()[0], 2),
            }
        )
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
