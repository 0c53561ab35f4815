"""Instances on record: each `cercle run` checks in every minute, and operators list them.

The records live in the database (SQLite and PostgreSQL); an instance that stops deletes its
own, one that dies is shown as not seen since, and after a day it is forgotten. Each instance
logs what is wrong in how the work is shared out, once per change; `cercle instances` prints
the same for operators, with exit status 1 when something is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.instances import CheckIn, table
from bot.partition import Partition, Share
from storage.database import Database, sqlite_url
from storage.registry import announce, instances, withdraw
from tests.cli import run_cercle

NOW = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
A = Partition((Share("discord", 3, (0,)), Share("matrix:@cercle-a:example.org")))
B = Partition((Share("discord", 3, (1,)),))
C = Partition((Share("discord", 3, (2,)),))


async def test_instances_check_in_stop_and_are_forgotten(any_db: Database) -> None:
    assert await announce(any_db, "a", A, NOW, NOW) == []
    [other] = await announce(any_db, "b", B, NOW, NOW + timedelta(seconds=5))
    assert (other.name, other.partition, other.started_at) == ("a", A, NOW)
    assert other.live(NOW + timedelta(minutes=2))

    # b checks in again a minute later: one record, seen later
    await announce(any_db, "b", B, NOW, NOW + timedelta(minutes=1))
    recorded = await instances(any_db)
    assert [(i.name, i.seen_at) for i in recorded] == [
        ("a", NOW),
        ("b", NOW + timedelta(minutes=1)),
    ]
    later = NOW + timedelta(minutes=5)
    assert [i.live(later) for i in recorded] == [False, False]
    assert table(recorded, NOW + timedelta(minutes=1, seconds=30)) == [
        "a  running  started 2026-12-03 13:00 UTC  discord (shards 0 of 3); "
        "matrix:@cercle-a:example.org",
        "b  running  started 2026-12-03 13:00 UTC  discord (shards 1 of 3)",
        "warning: discord: no running instance has shards 2",
    ]

    await withdraw(any_db, "b")
    assert [i.name for i in await instances(any_db)] == ["a"]
    # a died a day ago: the next check-in forgets it
    await announce(any_db, "c", C, NOW, NOW + timedelta(days=1, minutes=1))
    assert [i.name for i in await instances(any_db)] == ["c"]


async def test_an_instance_logs_what_is_wrong_once_per_change(
    any_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    check = CheckIn("b", B)
    caplog.set_level(logging.INFO, logger="adapters.instances")
    await announce(any_db, "a", A, NOW, NOW)
    others = await announce(any_db, "b", B, NOW, NOW)
    assert check.note(others, NOW) == ["discord: no running instance has shards 2"]
    assert check.note(others, NOW) == ["discord: no running instance has shards 2"]
    # a second instance for shard 1 (a mistake, or a hand-over in progress)
    await announce(any_db, "b2", Partition((Share("discord", 3, (1, 2)),)), NOW, NOW)
    others = await announce(any_db, "b", B, NOW, NOW + timedelta(seconds=30))
    [twice] = check.note(others, NOW + timedelta(seconds=30))
    assert twice.startswith("discord shards 1: also run by instance b2 (seen 30 s ago)")
    await withdraw(any_db, "b2")
    others = await announce(any_db, "b", B, NOW, NOW + timedelta(minutes=1))
    assert check.note(others, NOW + timedelta(minutes=1)) == [
        "discord: no running instance has shards 2"
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3  # the first finding, the overlap and shard 2 again, not repeats
    assert warnings[1].startswith("sharing out the work: discord shards 1: also run by")


def test_operators_list_the_instances(tmp_path: Path) -> None:
    def listed() -> subprocess.CompletedProcess[str]:
        return run_cercle("--data-dir", str(tmp_path), "instances")

    empty = listed()
    assert (empty.returncode, empty.stdout) == (1, "no instance is running\n")

    async def two_instances() -> None:
        database = Database(sqlite_url(tmp_path / "cercle.sqlite3"))
        now = datetime.now(UTC)
        await announce(database, "host:1", Partition((Share("discord", 2, (0,)),)), now, now)
        await announce(database, "host:2", Partition((Share("discord", 2, (1,)),)), now, now)
        await database.close()

    asyncio.run(two_instances())
    done = listed()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("  ")[:2] for line in lines[:2]] == [
        ["host:1", "running"],
        ["host:2", "running"],
    ]
    assert lines[2] == "every share is run by one instance"
