from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database, sqlite_url, upgrade
from tests.conversation import Chat
from tests.fakes import MemoryDatabase

MIGRATED_TEMPLATE: dict[str, bytes] = {}


@pytest.fixture
def memory_db() -> MemoryDatabase:
    return MemoryDatabase()


@pytest.fixture
def chat(memory_db: MemoryDatabase) -> Chat:
    return Chat(memory_db)


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
