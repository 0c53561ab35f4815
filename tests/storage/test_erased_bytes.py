"""Erased means erased: after /oubli and retention, the erased text is in none of SQLite's files
(the database and its write-ahead log), searched byte by byte while the bot still runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.database import Database
from tests.conftest import migrated_sqlite
from tests.conversation import Chat
from tests.storage.test_data_rights import first_seance, say


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[Database, Path]]:
    path = tmp_path / "cercle.sqlite3"
    database = Database(await asyncio.to_thread(migrated_sqlite, path))
    yield database, path
    await database.close()


def files_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk now."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_forgotten_text_is_in_no_file(sqlite_file: tuple[Database, Path]) -> None:
    db, path = sqlite_file
    chat = Chat(db)
    await first_seance(chat)
    assert "pédagogique".encode() in files_bytes(path)
    await say(chat, "bob: /oubli confirmer")
    raw = files_bytes(path)  # the connection is still open: nothing was checkpointed on close
    for trace in ("pédagogique", "essoufflé"):
        assert trace.encode() not in raw, trace
    assert b"mutualiser la compta" in raw  # what others wrote stays


async def test_text_past_retention_is_in_no_file(sqlite_file: tuple[Database, Path]) -> None:
    db, path = sqlite_file
    chat = Chat(db)
    await say(
        chat,
        "anim: /cercle creer Nord",
        "anim: /cercle conservation 30",
        "anim: /seance",
        "alice: /present",
        "anim: /seance phase suivante",
        "alice: /meteo ensoleillée",
        "alice: /note un secret bien gardé",
        "anim: /seance fin",
    )
    assert "un secret bien gardé".encode() in files_bytes(path)
    await chat.core.start()
    await chat.wait(days=32)  # the daily retention has run
    raw = files_bytes(path)
    assert "un secret bien gardé".encode() not in raw
    assert "ensoleillée".encode() not in raw
