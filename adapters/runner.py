"""`cercle run`: the adapters of the configuration, one real-time scheduler, a clean stop.

SIGTERM or SIGINT (or the first adapter to end) stops the process in order, within
`STOP_BOUND_SECONDS` even if an adapter hangs:

1. no new work: the health check answers 503 "stopping" and the scheduler wakes nothing more;
2. the commands and wake-ups in hand finish (each holds its circle's lock and commits or rolls
   back as a whole); then the adapters stop listening;
3. each adapter sends what it has queued, within the time left, and closes its connection;
4. the web pages, the metrics endpoint, the scheduler and the database are closed.

The exit status is 0, or 1 if an adapter failed; a stop that overran is logged as a warning.
With `[metrics] enabled`, the health and metrics endpoint (adapters/metrics.py) runs meanwhile;
with `[web] enabled`, the circles' pages (adapters/web/), whose forms' messages for a channel
go to the running adapters like any other effect.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from adapters.bootstrap import Runtime, open_runtime
from adapters.config import Config
from adapters.console.adapter import ConsoleAdapter, ScriptError
from adapters.metrics import Health, Metrics, bounded
from adapters.scheduler import ApsScheduler
from bot.effects import Effect
from bot.timing.clock import SystemClock

if TYPE_CHECKING:
    from adapters.web.server import HttpServer

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

STOP_BOUND_SECONDS = 10.0
IN_HAND_SHARE = 0.4  # of the bound, at most this much for the work in hand to finish
CANCEL_SECONDS = 1.0  # for a cancelled task to end
WELCOME = (
    "Cercle — console. Tapez « nom: /commande » (ex. « alice: /aide »), Ctrl-D pour quitter.\n"
    "Cercle — console. Type 'name: /command' (e.g. 'alice: /help'), Ctrl-D to quit."
)


class Adapter(Protocol):
    """What the runner needs of a platform adapter."""

    async def run(self) -> None: ...

    async def deliver(self, effects: list[Effect]) -> None: ...

    async def stop(self, flush_seconds: float = ...) -> None: ...


def stdin_lines() -> asyncio.Queue[str]:
    """Lines of standard input as they come, then "" at the end.

    A daemon thread reads the file descriptor itself: an executor thread blocked in
    `sys.stdin.readline` would keep the process from exiting, and one holding the buffered
    reader's lock at exit makes Python abort."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def put(line: str) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop is closed: the process is ending
            return False
        return True

    def read() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        try:
            fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            put("")
            return
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                if not put(line + "\n"):
                    return
            if not chunk:
                if pending:
                    put(pending)
                put("")
                return

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return queue


class InteractiveConsole:
    """The console adapter reading a person's lines from standard input."""

    name = "console"
    reconnects = 0

    def __init__(self, runtime: Runtime) -> None:
        self.console = ConsoleAdapter(
            runtime.core,
            sys.stdout,
            echo=False,
            recaps_dir=runtime.config.data_dir / "recaps",
            account=runtime.config.console.account,
        )

    async def run(self) -> None:
        print(WELCOME, flush=True)
        lines = stdin_lines()
        while line := await lines.get():
            try:
                await self.console.feed(line)
            except ScriptError as error:
                print(f"[console] {error}", flush=True)

    async def deliver(self, effects: list[Effect]) -> None:
        await self.console.deliver(effects)

    async def stop(self, flush_seconds: float = 0.0) -> None:
        sys.stdout.flush()

    def send_queue_length(self) -> int:
        return 0  # printed at once


def build_adapters(config: Config, runtime: Runtime) -> list[Adapter]:
    adapters: list[Adapter] = []
    for name in config.adapters:
        if name == "console":
            adapters.append(InteractiveConsole(runtime))
        elif name == "discord":
            from adapters.discord.adapter import DiscordAdapter

            assert config.discord is not None
            discord = DiscordAdapter(runtime.core, config.discord)
            discord.count_reconnections()
            adapters.append(discord)
        elif name == "matrix":
            from adapters.matrix.adapter import MatrixAdapter

            assert config.matrix is not None
            adapters.append(MatrixAdapter(runtime.core, config.matrix, config.data_dir))
    return adapters


class InHand:
    """Counts the commands and wake-ups being handled, so that a stop can let them finish."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, work: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        @functools.wraps(work)
        async def tracked(*args: P.args, **kwargs: P.kwargs) -> T:
            self.count += 1
            self._idle.clear()
            try:
                return await work(*args, **kwargs)
            finally:
                self.count -= 1
                if self.count == 0:
                    self._idle.set()

        return tracked

    async def idle(self, seconds: float) -> bool:
        """Wait until nothing is in hand (True) or `seconds` have passed (False).

        It returns to the caller without yielding once the count is 0, so the caller can
        cancel tasks knowing none of them is inside a command."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self.count:
            left = deadline - loop.time()
            if left <= 0:
                return False
            await bounded(self._idle.wait(), left)
        return True


def _name(adapter: object) -> str:
    return str(getattr(adapter, "name", type(adapter).__name__))


async def run_service(config: Config) -> int:
    code = await _serve(config)
    log.info("stopped (exit status %d)", code)
    return code


async def _serve(config: Config) -> int:
    clock = SystemClock()
    scheduler = ApsScheduler(clock)
    metrics = Metrics()
    in_hand = InHand()
    loop = asyncio.get_running_loop()
    async with open_runtime(config, clock, scheduler, on_outcome=metrics.observe) as runtime:
        core = runtime.core
        core.handle = in_hand.track(core.handle)  # type: ignore[method-assign]
        if scheduler.handler is not None:
            scheduler.handler = in_hand.track(scheduler.handler)
        adapters = build_adapters(config, runtime)
        metrics.watch_core(core)
        for adapter in adapters:
            metrics.watch_adapter(adapter)

        @in_hand.track
        async def deliver(effects: list[Effect]) -> None:
            for adapter in adapters:
                await adapter.deliver(effects)

        scheduler.deliver = deliver
        health = Health(runtime.database, clock)
        servers: list[HttpServer] = []
        if config.metrics.enabled:
            from adapters.web.server import OpsServer

            host, port = config.metrics.host, config.metrics.port
            ops = OpsServer(metrics, health, host, port)
            try:
                await ops.start()
            except OSError as error:
                log.error("metrics endpoint: cannot listen on %s:%d: %s", host, port, error)
                return 1
            servers.append(ops)
            log.info("health and metrics on http://%s:%d (/healthz, /metrics)", host, ops.port)
        if config.web.enabled:
            from adapters.web.app import create_app
            from adapters.web.server import HttpServer as WebServer

            host, port = config.web.host, config.web.port
            pages = WebServer(create_app(core, deliver), host, port)
            try:
                await pages.start()
            except OSError as error:
                log.error("web pages: cannot listen on %s:%d: %s", host, port, error)
                for server in servers:
                    await server.close()
                return 1
            servers.append(pages)
            log.info(
                "circle pages on http://%s:%d (links: %s)", host, pages.port, config.web.base_url
            )
        stop = asyncio.Event()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(a.run(), name=_name(a)) for a in adapters]
        stopping = asyncio.create_task(stop.wait())
        try:
            log.info("running: %s", ", ".join(_name(a) for a in adapters))
            await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            # also on an error above: nothing is left running
            done = {t for t in tasks if t.done()} | ({stopping} if stopping.done() else set())
            failed = [t for t in done if t is not stopping and not t.cancelled() and t.exception()]
            for task in failed:
                log.error("adapter %s stopped: %r", task.get_name(), task.exception())
            if not failed and done - {stopping}:
                log.info("adapter %s ended", ", ".join(t.get_name() for t in done - {stopping}))
            await _stop(loop, adapters, tasks, stopping, in_hand, health, scheduler, servers)
            for sig in signals:
                loop.remove_signal_handler(sig)
        return 1 if failed else 0


async def _stop(
    loop: asyncio.AbstractEventLoop,
    adapters: list[Adapter],
    tasks: list[asyncio.Task[None]],
    stopping: asyncio.Task[Any],
    in_hand: InHand,
    health: Health,
    scheduler: ApsScheduler,
    servers: list[HttpServer],
) -> None:
    """Steps 1 to 3 of the module docstring; never longer than STOP_BOUND_SECONDS (about)."""
    deadline = loop.time() + STOP_BOUND_SECONDS
    log.info("stopping: taking no new work, finishing what is in hand")
    health.stopping = True
    scheduler.shutdown()
    in_hand_seconds = STOP_BOUND_SECONDS * IN_HAND_SHARE
    if not await in_hand.idle(in_hand_seconds):
        log.warning(
            "stopping: %d commands or wake-ups still running after %.1f s; cancelled",
            in_hand.count,
            in_hand_seconds,
        )
    # No await between the check above and these cancellations: no command is cut short.
    stopping.cancel()
    for task in tasks:
        task.cancel()
    await _settle(tasks, CANCEL_SECONDS, "stop listening")
    # what is left, less a second for a late adapter's cancellation and one for the rest
    left = deadline - loop.time() - 2 * CANCEL_SECONDS
    flush = max(left - CANCEL_SECONDS, 0.0)  # and a second for the adapter to close after it
    stops = [asyncio.create_task(a.stop(flush), name=_name(a)) for a in adapters]
    if stops:
        _, late = await asyncio.wait(stops, timeout=max(left, 0.1))
        if late:
            names = ", ".join(t.get_name() for t in late)
            log.warning("stopping: %s did not stop within %.1f s; leaving it", names, left)
            for task in late:
                task.cancel()
            await _settle(late, CANCEL_SECONDS, "stop")
        for task in stops:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("stopping: %s failed to stop: %r", task.get_name(), task.exception())
    for server in servers:
        await server.close()
    took = loop.time() - (deadline - STOP_BOUND_SECONDS)
    log.info("adapters stopped in %.1f s; closing the scheduler and the database", took)


async def _settle(
    tasks: list[asyncio.Task[None]] | set[asyncio.Task[None]], bound: float, what: str
) -> None:
    """Wait (at most `bound`) for cancelled tasks to end; say which did not."""
    if not tasks:
        return
    _, late = await asyncio.wait(set(tasks), timeout=bound)
    for task in late:
        log.warning("stopping: %s did not %s within %.1f s", task.get_name(), what, bound)
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()
