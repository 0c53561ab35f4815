"""What members say between séances, in every store: kept, replaced, erased and purged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.effects import FilePost
from bot.ports import UnitOfWorkFactory
from storage.database import Database
from tests.conftest import PostgresServer, migrated_sqlite
from tests.conversation import Chat
from tests.fakes import MemoryDatabase
from tests.storage.test_data_rights import dump_text


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> None:
    migrated_sqlite(tmp_path_factory.mktemp("template") / "warm.sqlite3")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    if request.param == "memory":
        yield MemoryDatabase()
        return
    if request.param == "sqlite":
        url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = await asyncio.to_thread(server.create_database)
    database = Database(url)
    yield database
    await database.close()


async def export(chat: Chat) -> dict[str, Any]:
    await chat.say("anim", "/export json")
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    data: dict[str, Any] = json.loads(file.content)
    return data


async def test_answers_and_rsvps_are_kept_replaced_exported_and_erased(
    db: UnitOfWorkFactory,
) -> None:
    chat = Chat(db)
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?",
        "alice: /prepa Première idée",
        "alice: /prepa La compta, toujours",
        "alice: /prepa partager",
        "bob: /prepa Les relations avec la banque",
        "alice: /presence oui",
        "bob: /presence peut-etre",
        "bob: /presence non",
    )
    data = await export(chat)
    seance = data["seances"][0]
    assert [(a["name"], a["text"], a["shared"]) for a in seance["preparation"]] == [
        ("alice", "La compta, toujours", True),
        ("bob", "Les relations avec la banque", False),
    ]
    assert sorted((r["name"], r["answer"]) for r in seance["rsvps"]) == [
        ("alice", "yes"),
        ("bob", "no"),
    ]
    assert seance["attendance"] == {"console:bob": "excused"}
    assert "Première idée" not in await dump_text(db)

    await chat.script("bob: /oubli confirmer")
    after = await dump_text(db)
    assert "banque" not in after
    assert "console:bob" not in after
    assert "La compta, toujours" in after


async def test_retention_deletes_old_answers_only(db: UnitOfWorkFactory) -> None:
    chat = Chat(db)
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle conservation 30",
        "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que ne déléguez-vous pas ?",
        "alice: /prepa Une vieille réponse",
        "alice: /presence oui",
    )
    await chat.wait(days=20)
    await chat.script(
        "anim: /seance planifier 2027-01-07 14:00 | Suite | Et depuis ?",
        "alice: /prepa Une réponse récente",
    )
    await chat.core.start()
    await chat.wait(days=12)
    assert chat.clock.now() > datetime(2026, 12, 3, 13, tzinfo=UTC) + timedelta(days=31)
    kept = await dump_text(db)
    assert "Une vieille réponse" not in kept
    assert "Une réponse récente" in kept
    data = await export(chat)
    assert [r["answer"] for r in data["seances"][0]["rsvps"]] == ["yes"]  # RSVPs stay
