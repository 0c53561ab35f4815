"""SQLite's write-ahead log copied into the database file on a thread of its own.

In WAL mode, a commit appends the pages it changed to the `-wal` file; a checkpoint copies them
into the database file and syncs it, after which the log can start over from its beginning. By
default the connection that commits runs the checkpoint itself, inside the commit that takes
the log past 1,000 pages. With SQLite inline in the event loop (storage/inline.py) that is the
loop thread copying a thousand pages and syncing the file in the middle of a command: about a
tenth of the time of bench/core.py, and the slowest commands.

So the inline connection leaves checkpoints to a thread with its own connection: every
CHECKPOINT_EVERY commits the loop wakes it (setting an event, nothing more) and carries on. Its
checkpoints are PASSIVE: they neither wait for the writer nor stop it (SQLite's statements
release the GIL), and copy what no reader still needs.

The log only starts over when a transaction begins while every page of it has been copied,
which a thread cannot see to while commits keep arriving. So the thread copies the bulk, then
again what came meanwhile (a pass or two, each shorter than the last), and leaves the last few
pages to the loop: it copies them right after its next commit, when no other commit can slip in
(a few dozen pages, once every CHECKPOINT_EVERY commits), and the next transaction starts the
log over. Should the thread fall behind anyway, the inline connection keeps SQLite's own
automatic checkpoint, at a larger size (SAFETY_PAGES): the log stays bounded.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)

# About 10 pages a command: the log grows to a few megabytes between checkpoints. Less often
# means fewer copies in all (a page changed by many commands is copied once).
CHECKPOINT_EVERY = 250
# Passes after the first, for the pages committed meanwhile, before leaving the rest to the loop.
PASSES = 2
# The inline connection's own automatic checkpoint (in pages, of 4 KiB): only if the thread
# fell behind.
SAFETY_PAGES = 10_000


class Checkpointer:
    """The checkpoint thread of one SQLite file, with its connection."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._commits = 0
        self._wake = threading.Event()
        self._left_to_loop = False  # the thread copied all but the pages of the latest commits
        self._stopping = False
        # held while a checkpoint runs: a TRUNCATE checkpoint must not run at the same time
        # (SQLite refuses a second checkpoint at once, without waiting)
        self._running = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def committed(self) -> bool:
        """Called by the loop after each commit of the inline connection: whether to copy the
        last pages now (`finish`). Commits are counted from the loop's last copy."""
        if self._left_to_loop:
            return True
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY:
            self._commits = 0
            self._wake.set()
        return False

    def finish(self, connection: sqlite3.Connection) -> None:
        """Copy what the thread left, on the loop's connection between two transactions: all of
        the log is then copied, and the next transaction starts it over."""
        if not self._running.acquire(blocking=False):
            return  # the thread is copying again: it will leave the rest again
        try:
            self._left_to_loop = False
            _copy(connection)
        finally:
            self._running.release()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No checkpoint of this thread runs inside the block (waits for the one running, which
        copies at most the pages of CHECKPOINT_EVERY commands)."""
        with self._running:
            yield

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                if self._left_to_loop:
                    continue  # woken during the last passes: the loop's copy comes first
                with self._running:
                    self._checkpoint(connection)
                    self._left_to_loop = True
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        """The bulk, then what was committed meanwhile (a pass copies the log as it was when
        the pass began), until a pass finds nothing new."""
        before = None
        for _ in range(1 + PASSES):
            pages = _copy(connection)
            if pages is None or pages == before:
                return
            before = pages


def _copy(connection: sqlite3.Connection) -> int | None:
    """One PASSIVE checkpoint: the pages in the log when it began, or None if it failed (the
    next one tries again; the safety net holds meanwhile)."""
    try:
        _busy, pages, _copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error:
        log.exception("the write-ahead log could not be checkpointed")
        return None
    return int(pages)
