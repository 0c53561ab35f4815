"""Builds a running Cercle from a configuration: storage, core, and clean shutdown."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.config import Config
from adapters.homes import DISCORD_HOME, console_home, matrix_home
from adapters.instances import CheckIn
from adapters.scheduler import ApsScheduler
from adapters.web.links import link_issuer
from bot.app import CercleCore
from bot.dispatcher import Outcome
from bot.partition import Partition, Share
from bot.timing.clock import Clock
from storage.database import Database, sqlite_url
from storage.registry import announce, withdraw

# Another process may plan or open séances in the same database: every minute, wake-ups are
# rebuilt from it, so nothing waits for a restart (the claim still posts each prompt once).
RESYNC_SECONDS = 60


@dataclass(slots=True)
class Runtime:
    """The parts of a started Cercle that adapters and commands need."""

    config: Config
    database: Database
    core: CercleCore


def database_url(config: Config) -> str:
    if config.database_url:
        return config.database_url
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return sqlite_url(config.sqlite_path().resolve())


def partition_of(config: Config) -> Partition:
    """The circles this instance looks after: those of its adapters' accounts and shards."""
    shares: list[Share] = []
    for name in config.adapters:
        if name == "console":
            shares.append(Share(console_home(config.console.account)))
        elif name == "matrix" and config.matrix is not None:
            shares.append(Share(matrix_home(config.matrix.user_id)))
        elif name == "discord" and config.discord is not None:
            discord = config.discord
            shares.append(Share(DISCORD_HOME, discord.shard_count, discord.shard_ids))
    return Partition(tuple(shares))


def instance_name() -> str:
    """Who claimed a prompt, in the database: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@asynccontextmanager
async def open_runtime(
    config: Config,
    clock: Clock,
    scheduler: ApsScheduler | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> AsyncIterator[Runtime]:
    """Migrate the database, build the core, rebuild its wake-ups, and close it all after.

    Without `scheduler`, the core keeps a manual one that the console's `:clock` moves."""
    database = Database(database_url(config))
    instance = instance_name()
    try:
        await database.upgrade()
        core = CercleCore(
            database,
            clock,
            config.protocol_book(),
            defaults=config.defaults,
            scheduler=scheduler,
            instance=instance,
            partition=partition_of(config),
            on_outcome=on_outcome,
            links=link_issuer(config),
        )
        if scheduler is not None:
            scheduler.handler = core.wake
        await core.start()
        if scheduler is not None:
            # a real-time run: tell the other instances, and see how the work is shared out
            partition, started = core.partition, clock.now()
            check = CheckIn(instance, partition)

            async def check_in() -> None:
                others = await announce(database, instance, partition, started, clock.now())
                check.note(others, clock.now())

            await check_in()
            scheduler.every(RESYNC_SECONDS, "resync", core.start)
            scheduler.every(RESYNC_SECONDS, "check-in", check_in)
            scheduler.start()
        yield Runtime(config, database, core)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
            with contextlib.suppress(Exception):
                await withdraw(database, instance)
        await database.close()
