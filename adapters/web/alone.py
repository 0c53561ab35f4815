"""`cercle web`: the circles' pages alone, for a data directory (to try them beside
`cercle console`, or to serve them from a separate process).

No chat adapter runs here, so what a facilitator's form tells the channel cannot be posted by
this process: it is written to standard output, the way the console shows it, and the page
says so. The séances, prompts and reminders the form changes are in the database; a running
bot picks them up at its next resync (every minute), so reminders are never lost. To have the
channel told at once, enable `[web]` in the bot's own configuration and use `cercle run`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import replace

from adapters.bootstrap import open_runtime
from adapters.config import Config
from adapters.web.app import create_app
from adapters.web.server import HttpServer
from bot.effects import Effect, RecapPost, Reply
from bot.timing.clock import SystemClock

log = logging.getLogger(__name__)


async def print_effects(effects: list[Effect]) -> None:
    """What the channel would be told, on standard output."""
    for effect in effects:
        if isinstance(effect, Reply) and not effect.private:
            print(f"[{effect.channel.key}] Cercle: {effect.text}", flush=True)
        elif isinstance(effect, RecapPost) and not effect.private:
            print(f"[{effect.channel.key}] Cercle:\n{effect.markdown}", flush=True)


async def serve_web(config: Config, host: str | None, port: int | None) -> int:
    web = config.web
    listen_host, listen_port = host or web.host, port if port is not None else web.port
    # the pages need links even where the bot itself gives none
    config = replace(config, web=replace(web, enabled=True))
    async with open_runtime(config, SystemClock()) as runtime:
        core = runtime.core
        server = HttpServer(
            create_app(core, print_effects, channel_told=False), listen_host, listen_port
        )
        try:
            await server.start()
        except OSError as error:
            print(f"cercle: cannot listen on {listen_host}:{listen_port}: {error}", file=sys.stderr)
            return 1
        print(
            f"Cercle — pages web sur http://{listen_host}:{server.port} "
            f"(liens : {web.base_url}). Ctrl-C pour arrêter.\n"
            f"Cercle — web pages on http://{listen_host}:{server.port} "
            f"(links: {web.base_url}). Ctrl-C to stop.",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await server.close()
    return 0
