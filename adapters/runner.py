"""`cercle run`: the adapters of the configuration, one real-time scheduler, a clean stop.

SIGTERM or SIGINT stops taking new work, lets each adapter send what it has queued (within a
bound), closes connections and the database, and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Protocol

from adapters.bootstrap import Runtime, open_runtime
from adapters.config import Config
from adapters.console.adapter import ConsoleAdapter, ScriptError
from adapters.scheduler import ApsScheduler
from bot.clock import SystemClock
from bot.effects import Effect

log = logging.getLogger(__name__)

STOP_BOUND_SECONDS = 10.0
WELCOME = (
    "Cercle — console. Tapez « nom: /commande » (ex. « alice: /aide »), Ctrl-D pour quitter.\n"
    "Cercle — console. Type 'name: /command' (e.g. 'alice: /help'), Ctrl-D to quit."
)


class Adapter(Protocol):
    """What the runner needs of a platform adapter."""

    async def run(self) -> None: ...

    async def deliver(self, effects: list[Effect]) -> None: ...

    async def stop(self, flush_seconds: float = ...) -> None: ...


class InteractiveConsole:
    """The console adapter reading a person's lines from standard input."""

    def __init__(self, runtime: Runtime) -> None:
        self.console = ConsoleAdapter(
            runtime.core,
            sys.stdout,
            echo=False,
            recaps_dir=runtime.config.data_dir / "recaps",
        )

    async def run(self) -> None:
        print(WELCOME, flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            try:
                await self.console.feed(line)
            except ScriptError as error:
                print(f"[console] {error}")

    async def deliver(self, effects: list[Effect]) -> None:
        await self.console.deliver(effects)

    async def stop(self, flush_seconds: float = 0.0) -> None:
        return None


def build_adapters(config: Config, runtime: Runtime) -> list[Adapter]:
    adapters: list[Adapter] = []
    for name in config.adapters:
        if name == "console":
            adapters.append(InteractiveConsole(runtime))
        elif name == "discord":
            from adapters.discord.adapter import DiscordAdapter

            assert config.discord is not None
            adapters.append(DiscordAdapter(runtime.core, config.discord))
        elif name == "matrix":
            from adapters.matrix.adapter import MatrixAdapter

            assert config.matrix is not None
            adapters.append(MatrixAdapter(runtime.core, config.matrix, config.data_dir))
    return adapters


async def run_service(config: Config) -> int:
    clock = SystemClock()
    scheduler = ApsScheduler(clock)
    async with open_runtime(config, clock, scheduler) as runtime:
        adapters = build_adapters(config, runtime)

        async def deliver(effects: list[Effect]) -> None:
            for adapter in adapters:
                await adapter.deliver(effects)

        scheduler.deliver = deliver
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(a.run(), name=type(a).__name__) for a in adapters]
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in done if t is not stopping and t.exception() is not None]
        for task in failed:
            log.error("adapter %s stopped: %r", task.get_name(), task.exception())
        log.info("stopping")
        for task in [stopping, *tasks]:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await asyncio.wait_for(
            asyncio.gather(*(a.stop(STOP_BOUND_SECONDS / 2) for a in adapters)),
            STOP_BOUND_SECONDS,
        )
        return 1 if failed else 0
