"""Opening the database: the engine, SQLite's settings, migrations, units of work."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.ports import UnitOfWork
from storage.inline import InlineSqliteEngine
from storage.uow import AggregateCache, SqlUnitOfWork

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

STORAGE_DIR = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # first: setting the journal mode waits for another process's write lock like any statement
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Deleted and overwritten content is zeroed, so what /oubli and retention erase is not left
    # readable in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig(str(STORAGE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(STORAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (safe to run at every start).

    Two processes starting together on one SQLite file take turns through a lock file, so
    the second finds the schema done instead of creating the tables again."""
    from alembic import command  # only here: a running bot does not keep Alembic in memory

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        lock_path = Path(parsed.database).with_suffix(".migrate.lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    command.upgrade(alembic_config(url), "head")


_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?:: [^=]+)? = "([^"]+)"', re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The newest migration's revision, read from the migration files without Alembic (a test
    checks it against Alembic's own answer)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (STORAGE_DIR / "migrations" / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        parent = _DOWN_REVISION.search(source)
        if parent is not None:
            parents.add(parent.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


class DatabaseProblem(RuntimeError):
    """The database cannot be opened or brought up to date; the message is one line, for the
    operator, without the URL (which may hold a password)."""


class MigrationFailed(DatabaseProblem):
    """The migrations failed (the child's last error line is kept)."""


async def upgrade_in_child(url: str) -> None:
    """Run the migrations in a child process, so this long-running process never loads Alembic
    (and its templates and highlighter: about 11 MB that would stay for the life of the bot).
    The URL, which may hold a password, goes through the child's standard input, not its
    arguments (which `ps` shows)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storage.migrations",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=STORAGE_DIR.parent,
    )
    _, errors = await child.communicate(url.encode())
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit code {child.returncode}"
        raise MigrationFailed(f"the database could not be brought up to date: {reason}")


def only_writer(url: str) -> IO[str] | None:
    """Take the SQLite file's writer lock (a sidecar file, locked for the life of the process):
    the open lock file if this process is now the only Cercle process writing to the file,
    None if another one holds it."""
    path = make_url(url).database
    if not path or path == ":memory:":
        return None
    lock = Path(path).with_suffix(".writer.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock


class Database:
    """One database: its engine, the aggregate cache, and a unit of work per command.

    SQLite runs inline in the event loop only when this process is the file's only writer (it
    holds the writer lock): nobody else can then make a statement wait for the file's lock, so
    no statement blocks. When another process writes to the same file, statements go through
    aiosqlite's thread, so waiting for that process (up to the busy timeout) never freezes the
    loop, health checks included."""

    def __init__(self, url: str, *, inline: bool = True) -> None:
        """`inline=False` never runs SQLite inline: for several instances in one process (tests
        that stand for several processes), where one's wait would freeze the other's loop."""
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._writer_lock = only_writer(url) if self.is_sqlite and inline else None
        self.inline = self._writer_lock is not None
        self.engine: AsyncEngine | InlineSqliteEngine = (
            InlineSqliteEngine(url)
            if self.inline
            else create_async_engine(url)
            if self.is_sqlite
            # No ping at each checkout (it cost a quarter of the throughput): a connection the
            # server dropped fails its first statement, the pool drops it, and the unit of work
            # runs again (ConnectionLost). The pool covers a busy instance's concurrent commands.
            else create_async_engine(url, pool_size=20, max_overflow=10)
        )
        if self.is_sqlite and not self.inline:
            log.info("another process writes to %s: SQLite runs on a worker thread", url)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.cache = AggregateCache()
        # SQLite has one writer; queueing here avoids "database is locked" between our own tasks.
        self._lock = asyncio.Lock() if self.is_sqlite else None

    def __call__(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.cache, self._lock)

    async def upgrade(self) -> None:
        """Bring the schema up to date: nothing to do at most starts (one query); otherwise the
        migrations run in a child process (see `upgrade_in_child`)."""
        try:
            current = await self.schema_revision()
        except (DBAPIError, OSError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()
            raise DatabaseProblem(
                f"the database cannot be opened: {reason[0] if reason else type(error).__name__}"
            ) from error
        if current != head_revision():
            await upgrade_in_child(self.url)

    async def schema_revision(self) -> str | None:
        """The migration the database is at (None for an empty database)."""
        connection = await self.engine.connect()
        try:
            await connection.begin()
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar()
        except DBAPIError:  # no such table yet
            return None
        finally:
            await connection.rollback()
            await connection.close()

    async def close(self) -> None:
        await self.engine.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()  # and with it the lock
            self._writer_lock = None
