"""SQLite never freezes the event loop: inline only while this process is the file's only
writer; with another process writing to the file, statements wait on a worker thread."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from storage.database import Database
from tests.conftest import REPO, migrated_sqlite
from tests.conversation import Chat

# Another Cercle process on the same file: it opens the database (taking the writer lock),
# then holds SQLite's write lock for a while, as a long transaction would.
OTHER_WRITER = """
import asyncio, sqlite3, sys, time
from sqlalchemy.engine import make_url
from storage.database import Database

async def main(url):
    database = Database(url)
    assert database.inline
    async with database() as uow:  # it connects (the file is in WAL mode from now on)
        await uow.commit()
    raw = sqlite3.connect(make_url(url).database, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    print("writing", flush=True)
    time.sleep(float(sys.argv[2]))
    raw.execute("COMMIT")
    print("done", flush=True)
    sys.stdin.read()
    await database.close()

asyncio.run(main(sys.argv[1]))
"""


async def test_a_second_process_on_the_file_makes_sqlite_wait_off_the_loop(
    tmp_path: Path,
) -> None:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    other = subprocess.Popen(  # noqa: ASYNC220 (started once, read from a thread)
        [sys.executable, "-c", OTHER_WRITER, url, "1.5"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout is not None
        assert await asyncio.to_thread(other.stdout.readline) == "writing\n"
        database = Database(url)
        try:
            assert not database.inline  # the other process is a writer too
            gaps: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                last = time.perf_counter()
                while not stop.is_set():
                    await asyncio.sleep(0.01)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            ticking = asyncio.create_task(ticker())
            began = time.perf_counter()
            chat = Chat(database)
            await chat.say("anim", "/cercle creer Nord")  # waits for the other's transaction
            waited = time.perf_counter() - began
            stop.set()
            await ticking
            assert chat.refused is None, chat.text
            assert waited > 0.5  # it did wait for the other process...
            # ...and the loop kept running meanwhile: a frozen loop would tick once or twice
            assert len(gaps) >= 10
        finally:
            await database.close()
    finally:
        other.communicate("", timeout=30)
    assert other.returncode == 0


async def test_the_only_writer_runs_inline_and_lets_the_next_process_know(
    tmp_path: Path,
) -> None:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    first = Database(url)
    second = Database(url)
    assert first.inline
    assert not second.inline
    await second.close()
    await first.close()
    again = Database(url)  # the lock went with the first
    assert again.inline
    await again.close()
