"""With SQLite inline, the write-ahead log is copied into the database file by a thread of its
own: under a steady stream of commits the log still starts over (stays small), and the thread
ends with the database."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.refs import ChannelRef
from bot.effects import Reply
from storage import checkpoints
from storage.database import Database
from tests.conftest import migrated_sqlite

WHEN = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PAGE = 4096


def checkpoint_threads() -> int:
    return sum(t.name == "sqlite-checkpoints" for t in threading.enumerate())


async def test_the_log_starts_over_while_commits_keep_coming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "CHECKPOINT_EVERY", 20)
    path = tmp_path / "cercle.sqlite3"
    database = Database(await asyncio.to_thread(migrated_sqlite, path))
    assert database.inline
    threads = checkpoint_threads()
    wal = path.with_name(path.name + "-wal")
    reply = Reply(ChannelRef("matrix", "!r"), "x" * 3000)  # a page or more a row
    try:
        for i in range(600):
            async with database() as uow:
                await uow.outbox.add([reply, reply], None, None, WHEN)
                await uow.commit()
            if i % 20 == 19:
                await asyncio.sleep(0.02)  # the thread's turn, even on a busy machine
        assert checkpoint_threads() == threads + 1
        # 600 commits wrote about 3,000 pages, and SQLite's own checkpoint waits for 10,000:
        # the log started over several times
        assert wal.stat().st_size < 1000 * PAGE
    finally:
        await database.close()
    assert checkpoint_threads() == threads
