from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import Database, sqlite_url, upgrade
from tests.conversation import Chat
from tests.fakes import MemoryDatabase

MIGRATED_TEMPLATE: dict[str, bytes] = {}


@pytest.fixture
def memory_db() -> MemoryDatabase:
    return MemoryDatabase()


# The conversation suite (tests/unit) runs on every store a circle can live in: the memory
# fake and a real SQLite file by default, and PostgreSQL too when CERCLE_TEST_CHAT_STORES names
# it (.ci/run does). A test that also asks for `memory_db` reads the fake's insides: memory only.
CHAT_STORES = tuple(
    s.strip() for s in os.environ.get("CERCLE_TEST_CHAT_STORES", "memory,sqlite").split(",")
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    in_unit = "unit" in metafunc.definition.path.parts
    if in_unit and "chat" in names and "memory_db" not in names:
        metafunc.parametrize("chat_store", CHAT_STORES, indirect=True)


@pytest.fixture
def chat_store(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "memory"))


@pytest.fixture
async def chat(
    chat_store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Chat]:
    if chat_store == "memory":
        yield Chat(request.getfixturevalue("memory_db"))
        return
    if chat_store == "sqlite":
        url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = await asyncio.to_thread(server.create_database)
    database = Database(url)
    yield Chat(database)
    await database.close()


def migrated_sqlite(path: Path) -> str:
    """A migrated SQLite file at `path` (migrations run once per test session, then copied)."""
    if "db" not in MIGRATED_TEMPLATE:
        template = path.with_name("template.sqlite3")
        upgrade(sqlite_url(template))
        MIGRATED_TEMPLATE["db"] = template.read_bytes()
        template.unlink()
    path.write_bytes(MIGRATED_TEMPLATE["db"])
    return sqlite_url(path)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    database = Database(url)
    yield database
    await database.close()


# -- PostgreSQL ---------------------------------------------------------------------------------
# One throw-away cluster per test session (scripts/postgres.py); the schema is migrated once into
# a template database, and each test gets a fresh copy of it (CREATE DATABASE ... TEMPLATE).
# CERCLE_TEST_POSTGRES_URL (an SQLAlchemy URL without a database, e.g.
# postgresql+asyncpg://cercle@127.0.0.1:5432) uses a running server instead.

REPO = Path(__file__).resolve().parents[1]
PG_TEMPLATE = "cercle_template"
T = TypeVar("T")
_pg_counter = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    url: str  # no database name
    directory: Path | None = None  # the throw-away cluster's, when the tests started it

    def stop(self) -> None:
        """Stop the server (only one these tests started): an outage."""
        assert self.directory is not None, "CERCLE_TEST_POSTGRES_URL: not ours to stop"
        _postgres_script("stop", "--dir", str(self.directory))

    def start(self) -> None:
        """Start it again, on the same port, with the same data."""
        assert self.directory is not None
        port = make_url(self.url).port
        _postgres_script("start", "--dir", str(self.directory), "--port", str(port))

    def database_url(self, name: str) -> str:
        return f"{self.url}/{name}"

    def create_database(self, template: str | None = PG_TEMPLATE) -> str:
        """A new, empty (or template-copied) database; its SQLAlchemy URL."""
        name = f"t{os.getpid()}_{next(_pg_counter)}"
        suffix = f" TEMPLATE {template}" if template else ""
        statement = f"CREATE DATABASE {name}{suffix}"
        _in_thread(lambda: asyncio.run(_pg_admin(self.database_url("postgres"), statement)))
        return self.database_url(name)


def _in_thread(work: Callable[[], T]) -> T:
    """Run `work` on a thread of its own: it may call asyncio.run, even when this thread is
    inside a running event loop (an async fixture asking for a sync one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def _postgres_script(*args: str) -> None:
    script = REPO / "scripts" / "postgres.py"
    subprocess.run([sys.executable, str(script), *args], check=True, stdout=subprocess.DEVNULL)


async def _pg_admin(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    external = os.environ.get("CERCLE_TEST_POSTGRES_URL")
    directory: Path | None = None
    if external:
        server = PostgresServer(external.rstrip("/"))
    else:
        # not under pytest's temporary tree: the server runs as "postgres" when we are root,
        # and pytest's directories are private to us
        directory = Path(tempfile.mkdtemp(prefix="cercle-pg-"))
        _postgres_script("start", "--dir", str(directory))
        state = json.loads((directory / "postgres.json").read_text())
        server = PostgresServer(state["url"], directory)
    try:
        admin = server.database_url("postgres")
        drop, create = f"DROP DATABASE IF EXISTS {PG_TEMPLATE}", f"CREATE DATABASE {PG_TEMPLATE}"
        _in_thread(lambda: asyncio.run(_pg_admin(admin, drop, create)))
        _in_thread(lambda: upgrade(server.database_url(PG_TEMPLATE)))
        yield server
    finally:
        if directory is not None:
            subprocess.run(
                [
                    sys.executable,
                    str(REPO / "scripts" / "postgres.py"),
                    "stop",
                    "--dir",
                    str(directory),
                ]
            )
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def postgres_db(postgres: PostgresServer) -> AsyncIterator[Database]:
    url = await asyncio.to_thread(postgres.create_database)
    database = Database(url)
    yield database
    await database.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = await asyncio.to_thread(server.create_database)
    database = Database(url)
    yield database
    await database.close()
