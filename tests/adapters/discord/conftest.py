"""Fixtures for Discord tests: a loopback Discord per test, and real discord.py clients on it.

`loopback` starts a `LoopbackDiscord` on 127.0.0.1 and stops it after the test.
`discord_client_factory` points discord.py at it (Route.BASE and DEFAULT_GATEWAY, restored after
the test) and gives an async function that starts a client and returns it once ready:

    client = await discord_client_factory()              # a plain discord.Client
    bot = await discord_client_factory(MyBot)            # MyBot(intents=..., **CLIENT_OPTIONS)
    bot = await discord_client_factory(MyBot(...))       # an instance made by the test

Clients are closed after the test, and an ERROR logged by discord.py (an exception in a command,
a view or an event handler) fails the test, unless it sets `discord_client_factory.allow_errors`.
Without discord.py (the `.[discord]` extra) the directory fails: it is never skipped.

Sharded clients work the same way; the factory then waits only for the guilds of their shards:

    client = await discord_client_factory(ShardedClient, shard_count=2, shard_ids=[1])

`ShardedClient` is discord.py's `AutoShardedClient` without the 5 s pause between the IDENTIFYs
of its shards (the loopback has no identify rate limit); `guild_id_on_shard` makes guild ids
that fall on a given shard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection
from typing import Any

import discord
import pytest
import yarl

from tests.adapters.discord.loopback import SHARD_SHIFT, LoopbackDiscord, shard_of

READY_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
# No member chunking (no privileged intents anyway) and a short wait for GUILD_CREATEs after
# READY: discord.py waits guild_ready_timeout after the last one before it says it is ready.
CLIENT_OPTIONS: dict[str, Any] = {"chunk_guilds_at_startup": False, "guild_ready_timeout": 0.05}


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackDiscord]:
    server = LoopbackDiscord()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class DiscordClientFactory:
    """Starts discord.py clients against the loopback and closes them at the end of the test."""

    def __init__(self, loopback: LoopbackDiscord) -> None:
        self.loopback = loopback
        self.allow_errors = False
        self.error_log = _ErrorLog()
        self._running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def __call__(
        self,
        client: discord.Client | type[discord.Client] | None = None,
        /,
        *,
        intents: discord.Intents | None = None,
        ready_timeout: float = READY_TIMEOUT,
        **options: Any,
    ) -> discord.Client:
        if not isinstance(client, discord.Client):
            factory = client or discord.Client
            client = factory(
                intents=intents or discord.Intents.default(), **CLIENT_OPTIONS | options
            )
        started = asyncio.create_task(client.start(self.loopback.token), name="discord-client")
        self._running.append((client, started))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, started}, timeout=ready_timeout, return_when="FIRST_COMPLETED"
        )
        if ready not in done:
            ready.cancel()
            self._running.remove((client, started))
            await client.close()
            if started in done:
                started.result()  # raises what made start() fail
                raise RuntimeError("the client stopped before it was ready")
            started.cancel()
            raise TimeoutError(f"the client was not ready within {ready_timeout}s")
        await self._wait_for_guilds(client, ready_timeout)
        return client

    async def _wait_for_guilds(self, client: discord.Client, limit: float) -> None:
        """discord.py may call itself ready before a slow GUILD_CREATE: wait for those (of the
        client's shards only: the others never come)."""
        for guild_id in guilds_of(client, self.loopback.guilds):
            if client.get_guild(guild_id) is None:
                await client.wait_for(
                    "guild_available", check=lambda g, i=guild_id: g.id == i, timeout=limit
                )

    async def close_all(self) -> None:
        failures: list[BaseException] = []
        for client, started in reversed(self._running):
            await client.close()
            try:
                await asyncio.wait_for(started, CLOSE_TIMEOUT)
            except Exception as error:
                failures.append(error)
        if failures:
            raise failures[0]


class ShardedClient(discord.AutoShardedClient):
    """discord.py's AutoShardedClient, minus the pause between the IDENTIFYs of its shards."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the loopback has no identify rate limit: no 5 s sleep


def client_shards(client: discord.Client) -> tuple[int, frozenset[int]] | None:
    """The shard count and the shard ids a client runs, or None when it is not sharded."""
    count = client.shard_count
    if count is None:
        return None
    if isinstance(client, discord.AutoShardedClient):
        return count, frozenset(client.shard_ids or range(count))
    return count, frozenset({client.shard_id or 0})


def guilds_of(client: discord.Client, guild_ids: Collection[int]) -> list[int]:
    """Those of `guild_ids` whose events reach `client` (all of them if it is not sharded)."""
    shards = client_shards(client)
    if shards is None:
        return list(guild_ids)
    count, ids = shards
    return [guild_id for guild_id in guild_ids if shard_of(guild_id, count) in ids]


def guild_id_on_shard(shard_id: int, shard_count: int, n: int = 0) -> int:
    """A made-up guild id (the `n`th, from 0) on shard `shard_id` of `shard_count`."""
    return ((n + 1) * shard_count + shard_id) << SHARD_SHIFT


@pytest.fixture
async def discord_client_factory(
    loopback: LoopbackDiscord, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DiscordClientFactory]:
    monkeypatch.setattr(discord.http.Route, "BASE", loopback.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(loopback.gateway_url)
    )
    factory = DiscordClientFactory(loopback)
    logger = logging.getLogger("discord")
    logger.addHandler(factory.error_log)
    try:
        yield factory
        await factory.close_all()
    finally:
        logger.removeHandler(factory.error_log)
    if factory.error_log.records and not factory.allow_errors:
        formatter = logging.Formatter("%(name)s: %(message)s")
        messages = "\n".join(formatter.format(record) for record in factory.error_log.records)
        pytest.fail(f"discord.py logged errors during the test:\n{messages}")
