"""Builds a running Cercle from a configuration: storage, core, and clean shutdown."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from adapters.config import Config
from adapters.scheduler import ApsScheduler
from bot.app import CercleCore
from bot.clock import Clock
from storage.database import Database, sqlite_url

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


def instance_name() -> str:
    """Who claimed a prompt, in the database: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@asynccontextmanager
async def open_runtime(
    config: Config, clock: Clock, scheduler: ApsScheduler | None = None
) -> AsyncIterator[Runtime]:
    """Migrate the database, build the core, rebuild its wake-ups, and close it all after.

    Without `scheduler`, the core keeps a manual one that the console's `:clock` moves."""
    database = Database(database_url(config))
    try:
        await database.upgrade()
        core = CercleCore(
            database,
            clock,
            config.protocol_book(),
            defaults=config.defaults,
            scheduler=scheduler,
            instance=instance_name(),
        )
        if scheduler is not None:
            scheduler.handler = core.wake
        await core.start()
        if scheduler is not None:
            scheduler.every(RESYNC_SECONDS, "resync", core.start)
            scheduler.start()
        yield Runtime(config, database, core)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        await database.close()
