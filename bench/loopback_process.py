"""The loopback Discord in a process of its own, driven by a bench through a pipe.

In production Discord's servers are not on the bot's CPU. A bench that runs the loopback in the
bot's event loop charges the bot for Discord's work too (building and writing every
INTERACTION_CREATE, reading every callback) and makes the bot wait for the loopback's turn in the
loop. Here the loopback serves its gateway and REST on 127.0.0.1 from its own process; the bench
keeps the unmodified discord.py and Cercle in its own process and sends this one small requests
through a `multiprocessing` pipe: build the world, run a command as a user, fire a burst and time
it. Every instant is measured here, on the loopback's clock, as Discord would see it, and the
CPU this process spends is reported apart from the bot's.

Requests are `(op, arguments)` tuples; each gets one answer, `("ok", value)` or
`("error", text)`. `start()` spawns the process and returns a `LoopbackProcess` proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.adapters.discord.loopback import (  # noqa: E402
    Channel,
    Interaction,
    LoopbackDiscord,
    Member,
    Permission,
)

CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{token}/callback"
DEFERRED = 5


@dataclass
class World:
    """The guild the bench plays in, on the loopback side."""

    channel: Channel
    anim: Member
    members: list[Member]


class Server:
    """The loopback and its world, answering the bench's requests (in the loopback's process)."""

    def __init__(self, loopback: LoopbackDiscord) -> None:
        self.loopback = loopback
        self.world: World | None = None

    def _world(self) -> World:
        assert self.world is not None, "build the world first"
        return self.world

    def _who(self, who: str | int) -> Member:
        world = self._world()
        return world.anim if who == "anim" else world.members[int(who)]

    async def handle(self, op: str, arguments: dict[str, Any]) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise LookupError(f"unknown request {op!r}")
        return await handler(**arguments)

    async def op_world(self, members: int) -> dict[str, Any]:
        """A guild with a #cercle channel, a facilitator and `members` members; the URLs."""
        loopback = self.loopback
        guild = loopback.add_guild("Burst", channels=("cercle",), locale="fr")
        channel = guild.channel("cercle")
        anim = loopback.add_member(guild, "camille", locale="fr")
        loopback.set_permissions(channel, anim, allow=Permission.MANAGE_CHANNELS)
        people = [loopback.add_member(guild, f"membre{n:03d}", locale="fr") for n in range(members)]
        self.world = World(channel, anim, people)
        return {
            "api_base": loopback.api_base,
            "gateway_url": loopback.gateway_url,
            "token": loopback.token,
            "guild_id": guild.id,
        }

    async def op_command(
        self, who: str | int, name: str, options: dict[str, Any], seconds: float
    ) -> dict[str, Any]:
        """`who` ("anim" or a member's index) runs `/name`; its first callback."""
        interaction = await self.loopback.send_slash(
            self._who(who), self._world().channel, name, options
        )
        callback = await interaction.wait_callback(seconds)
        return {"type": callback.type, "content": callback.content or ""}

    async def op_everyone(self, name: str, seconds: float) -> int:
        """Every member runs `/name`, one after the other; how many got a callback."""
        world = self._world()
        for member in world.members:
            interaction = await self.loopback.send_slash(member, world.channel, name)
            await interaction.wait_callback(seconds)
        return len(world.members)

    async def op_burst(self, name: str, seconds: float) -> dict[str, Any]:
        """Every member runs `/name` at once: the frames written back to back, then one wait for
        every first callback, then for every deferred one's follow-up. Per interaction, its
        times on this process's clock (time.monotonic, the same clock in every process of the
        machine), and this process's CPU over the burst."""
        loopback, world = self.loopback, self._world()
        calls_before = len(loopback.calls)
        cpu, began = time.process_time(), time.monotonic()
        sent = await asyncio.gather(
            *(loopback.send_slash(m, world.channel, name) for m in world.members)
        )
        with contextlib.suppress(TimeoutError):
            await loopback.wait_for(lambda: all(i.callback for i in sent), seconds)
        acknowledged = time.monotonic()

        def answered(i: Interaction) -> bool:
            return i.callback is None or i.callback.type != DEFERRED or bool(i.followups)

        with contextlib.suppress(TimeoutError):
            await loopback.wait_for(lambda: all(answered(i) for i in sent), seconds)
        ended, cpu = time.monotonic(), time.process_time() - cpu
        requests: Counter[str] = Counter(
            call.path.split("/")[2]
            for call in loopback.calls[calls_before:]
            if call.route == CALLBACK_ROUTE
        )
        return {
            "began": began,
            "acknowledged": acknowledged,
            "ended": ended,
            "cpu": cpu,
            "interactions": [
                {
                    "id": i.id,
                    "delivered_at": i.delivered_at,
                    "callback_at": i.callback.at if i.callback else None,
                    "callback_type": i.callback.type if i.callback else None,
                    "answered": answered(i),
                    "late": i.late_callbacks,
                    "requests": requests[str(i.id)],
                }
                for i in sent
            ],
        }


async def serve(conn: Connection) -> None:
    """Answer requests from `conn` until it says "stop" (or closes)."""
    loopback = LoopbackDiscord()
    await loopback.start()
    server = Server(loopback)
    try:
        conn.send(("ok", None))  # listening
        while True:
            try:
                op, arguments = await asyncio.to_thread(conn.recv)
            except EOFError:
                break
            if op == "stop":
                break
            try:
                conn.send(("ok", await server.handle(op, arguments)))
            except Exception as error:  # the bench shows it and stops
                conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        await loopback.stop()
        conn.send(("ok", None))


def main(conn: Connection) -> None:
    asyncio.run(serve(conn))


class LoopbackProcess:
    """The bench's handle on the loopback's process: one request at a time."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=main, args=(child,), name="loopback-discord")
        self.process.start()
        child.close()
        self._answer()  # listening

    def _answer(self) -> Any:
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"loopback process: {value}")
        return value

    async def request(self, op: str, **arguments: Any) -> Any:
        """Send a request and wait for its answer without blocking the bot's event loop."""
        self._conn.send((op, arguments))
        return await asyncio.to_thread(self._answer)

    def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(BrokenPipeError, EOFError, RuntimeError):
            self._conn.send(("stop", {}))
            self._answer()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
