"""Migrations run in a child process; a running bot never loads Alembic.

`Database.upgrade` asks the database which migration it is at (one query) and, only when it is
behind, runs the migrations in `python -m storage.migrations`. These tests run the bot's side in
a fresh interpreter, because this test process has imported Alembic for other tests."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from storage.database import (
    Database,
    DatabaseProblem,
    MigrationFailed,
    alembic_config,
    head_revision,
    sqlite_url,
)

ROOT = Path(__file__).resolve().parents[2]

BOT_SIDE = textwrap.dedent(
    """
    import asyncio, json, sys
    from storage.database import Database

    async def main(url):
        database = Database(url)
        try:
            before = await database.schema_revision()
            await database.upgrade()
            after = await database.schema_revision()
        finally:
            await database.close()
        print(json.dumps({"before": before, "after": after, "alembic": "alembic" in sys.modules}))

    asyncio.run(main(sys.stdin.read().strip()))
    """
)


def bot_side_upgrade(url: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", BOT_SIDE],
        input=url,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_head_read_from_the_files_is_alembics() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_an_empty_database_is_migrated_without_alembic_in_the_bot(empty_url: str) -> None:
    result = bot_side_upgrade(empty_url)
    assert result == {"before": None, "after": head_revision(), "alembic": False}


async def test_a_database_at_the_head_starts_without_a_child(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot_side_upgrade(empty_url)

    async def no_child(_url: str) -> None:
        raise AssertionError("a child process was started for a database already up to date")

    monkeypatch.setattr("storage.database.upgrade_in_child", no_child)
    database = Database(empty_url, inline=False)
    try:
        await database.upgrade()
        assert await database.schema_revision() == head_revision()
    finally:
        await database.close()


async def test_a_file_that_is_not_a_database_is_one_clear_line_and_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cercle.sqlite3"
    garbage = bytes(range(256)) * 20
    path.write_bytes(garbage)
    database = Database(sqlite_url(path))
    try:
        with pytest.raises(DatabaseProblem) as raised:
            await database.upgrade()
    finally:
        await database.close()
    assert str(raised.value) == "the database cannot be opened: file is not a database"
    assert path.read_bytes() == garbage


async def test_a_failed_migration_says_why_in_one_line(tmp_path: Path) -> None:
    """A database whose recorded migration does not exist (made by a newer Cercle): the child
    fails, and its last line is the reason given."""
    url = sqlite_url(tmp_path / "newer.sqlite3")
    bot_side_upgrade(url)
    database = Database(url)
    try:
        connection = await database.engine.connect()
        await connection.begin()
        from sqlalchemy import text

        await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        await connection.commit()
        await connection.close()
        with pytest.raises(MigrationFailed) as raised:
            await database.upgrade()
    finally:
        await database.close()
    message = str(raised.value)
    assert message.startswith("the database could not be brought up to date: ")
    assert "9999" in message
    assert "\n" not in message


def test_cercle_db_upgrade_on_a_bad_file_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "cercle.sqlite3").write_bytes(b"not a database at all" * 100)
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--data-dir", str(data), "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "cercle: the database cannot be opened: file is not a database"
    ]
