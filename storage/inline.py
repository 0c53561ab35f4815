"""SQLite used inline in the event loop: one long-lived connection, no thread hand-offs.

aiosqlite runs every statement on a worker thread; for a single-writer SQLite file whose
statements take tens of microseconds, the hand-offs cost far more than the work (measured in
bench/core.py). This engine gives the unit of work the same `await conn.execute(...)` shape
over a plain synchronous connection. PostgreSQL keeps its real async driver.

Checkpoints of the write-ahead log run on a thread of their own (storage/checkpoints.py), not in
the commits of the loop.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.pool import StaticPool

from storage.checkpoints import SAFETY_PAGES, Checkpointer


class InlineConnection:
    """The subset of AsyncConnection the unit of work uses, over a sync connection."""

    def __init__(self, connection: Connection, checkpointer: Checkpointer) -> None:
        self._connection = connection
        self._checkpointer = checkpointer
        self._driver: sqlite3.Connection | None = None

    @property
    def dialect(self) -> Dialect:
        return self._connection.dialect

    @property
    def driver(self) -> sqlite3.Connection:
        """The `sqlite3` connection underneath, for storage/direct.py's statements (looked up
        once per unit of work: the engine's one connection stays open)."""
        if self._driver is None:
            driver = self._connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            self._driver = driver
        return self._driver

    def watched(self) -> bool:
        """Whether someone listens to the statements sent (then they all go through
        SQLAlchemy, which tells the listeners)."""
        connection = self._connection
        # SQLAlchemy's own quick test, before it looks for listeners: none was ever added
        if not (connection._has_events or connection.engine._has_events):
            return False
        return bool(connection.dispatch.before_cursor_execute)

    async def begin(self) -> None:
        if not self._connection.in_transaction():
            self._connection.begin()

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if parameters is None:
            return self._connection.execute(statement)
        return self._connection.execute(statement, parameters)

    async def commit(self) -> None:
        self._connection.commit()
        if self._checkpointer.committed():
            self._checkpointer.finish(self.driver)

    def checkpoints_paused(self) -> contextlib.AbstractContextManager[None]:
        """For a checkpoint of its own (TRUNCATE): the thread's must not run meanwhile."""
        return self._checkpointer.paused()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        """The connection stays open for the next unit of work; only the transaction ends."""
        if self._connection.in_transaction():
            self._connection.rollback()


class InlineSqliteEngine:
    """Hands out the one connection; callers take turns (the Database's lock)."""

    def __init__(self, url: str) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        assert sync_url.database, "inline SQLite needs a file"
        self._path = sync_url.database
        self.sync_engine: Engine = create_engine(sync_url, poolclass=StaticPool)
        event.listen(self.sync_engine, "connect", _own_checkpoints_only_if_behind)
        self._connection: Connection | None = None
        self._checkpointer: Checkpointer | None = None

    async def connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self.sync_engine.connect()
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(self._path)
        return InlineConnection(self._connection, self._checkpointer)

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.sync_engine.dispose()


def _own_checkpoints_only_if_behind(dbapi_connection: Any, _record: Any) -> None:
    """The checkpoint thread copies the log; SQLite's automatic checkpoint in the loop's commits
    stays, at a larger size, in case it falls behind."""
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")
