"""Data rights: /oubli erases a person, retention deletes what is due — in every store.

After /oubli, neither the database (every table, on SQLite and PostgreSQL, and the SQLite
file's bytes) nor any new export holds the person's name or notes; their speaking time is still
counted, under an anonymous id. Retention deletes notes and check-in words past the circle's
limit and nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import NullPool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.effects import FilePost, RecapPost
from bot.ports import UnitOfWorkFactory
from storage.database import Database
from tests.conftest import PostgresServer, migrated_sqlite
from tests.conversation import Chat
from tests.fakes import MemoryDatabase


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Migrate the template once, outside any event loop (see test_sqlite_storage.py)."""
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


async def dump_text(db: UnitOfWorkFactory) -> str:
    """Everything the store holds, as text: every row of every table (read on a connection of
    its own), or the memory store."""
    if isinstance(db, MemoryDatabase):
        return repr(dataclasses.replace(db.store, commits=0))
    assert isinstance(db, Database)
    engine = create_async_engine(db.url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            rows = {
                t: [tuple(r) for r in await conn.execute(sa.text(f'SELECT * FROM "{t}"'))]
                for t in sorted(names)
            }
    finally:
        await engine.dispose()
    return repr(rows)


async def say(chat: Chat, *lines: str) -> None:
    for line in lines:
        name, _, text = line.partition(": ")
        await chat.say(name, text)
        assert chat.refused is None, f"{line!r}: {chat.text}"


async def first_seance(chat: Chat) -> None:
    await say(
        chat,
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole meteo",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance cas @bob",
        "anim: /seance phase suivante",  # check-in round: anim, alice, bob
        "anim: /fini",
        "alice: /meteo sereine",
        "alice: /fini",
        "bob: /meteo essoufflé",
    )
    await chat.wait(seconds=60)
    await say(
        chat,
        "bob: /fini",
        "anim: /seance phase suivante",
        "bob: /tour",
    )
    await chat.wait(seconds=45)
    await say(
        chat,
        "bob: /fini",
        "bob: /note Ma ferme pédagogique perd son agrément",
        "alice: /note Une idée pour toutes : mutualiser la compta",
        "bob: /action @alice Relancer le conseil d'administration",
        "alice: /action @bob Appeler le réseau rural",
        "anim: /decision On se revoit en janvier",
        "anim: /seance fin",
        "anim: /seance planifier 2027-01-07 14:00 | Suite | Où en êtes-vous ?",
        "bob: /excuse 2",
    )


async def test_a_member_erases_what_the_circle_stores_about_them(db: UnitOfWorkFactory) -> None:
    chat = Chat(db)
    await first_seance(chat)
    before = await dump_text(db)
    assert "bob" in before
    assert "ferme pédagogique" in before

    await chat.say("bob", "/oubli")
    preview = chat.private_to("bob")
    assert preview == [
        "Voici ce que le cercle garde au sujet de bob, et ce que /oubli en fera :\n"
        "- le nom, retiré de la liste des membres ;\n"
        "- notes supprimées : 1 ;\n"
        "- météos supprimées : 1 ;\n"
        "- tours de parole (2 ; séances concernées : 1) gardés sans nom (« Personne anonyme »), "
        "pour que les temps de parole du cercle restent justes ;\n"
        "- présences et absences (2) gardées sans nom ;\n"
        "- décisions et actions notées par cette personne ou à son nom (2) gardées sans nom.\n"
        "Ce que d'autres ont écrit dans leurs propres notes n'est pas modifié.\n"
        "Pour confirmer : /oubli confirmer"
    ]
    assert chat.last[0].confidential  # type: ignore[union-attr]
    assert await dump_text(db) == before  # asking changes nothing

    await chat.say("alice", "/oubli @bob confirmer")
    assert chat.refused == "forget.facilitator_only"
    await chat.say("bob", "/oubli confirmer")
    assert chat.refused is None
    (done,) = chat.private_to("bob")
    assert done.startswith("C'est fait : ce que le cercle gardait au sujet de bob est effacé.")
    assert "gardés sans nom (Personne anonyme 1)" in done

    after = await dump_text(db)
    for trace in ("bob", "ferme pédagogique", "essoufflé"):
        assert trace not in after, trace
    assert "mutualiser la compta" in after
    assert "sereine" in after
    assert "anon" in after
    if isinstance(db, Database) and db.is_sqlite:
        await db.engine.dispose()  # checkpoint the WAL into the file
        raw = await asyncio.to_thread(Path(make_url(db.url).database or "").read_bytes)
        assert b"bob" not in raw
        assert "pédagogique".encode() not in raw

    # New exports hold no trace either; the speaking time still adds up, anonymously.
    await chat.say("anim", "/recap 1")
    (recap,) = [e for e in chat.last if isinstance(e, RecapPost)]
    assert "- Personne anonyme 1 : 1 min 45 s (2 tours)" in recap.markdown
    assert "- Présent·es (3) : anim, alice, Personne anonyme 1" in recap.markdown
    assert "#4 Appeler le réseau rural — responsable : Personne anonyme 1" in recap.markdown
    assert "### Météo\n- alice : « sereine »\n" in recap.markdown
    for fmt in ("json", "md", "ics"):
        await chat.say("anim", f"/export {fmt}")
        (file,) = [e for e in chat.last if isinstance(e, FilePost)]
        text = file.content.decode("utf-8")
        assert "bob" not in text, fmt
        assert "ferme" not in text, fmt
    await chat.say("anim", "/export json")
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    data: dict[str, Any] = json.loads(file.content)
    turns = data["seances"][0]["turns"]
    assert [(t["speaker"], t["name"], t["duration_s"]) for t in turns if t["name"] is None] == [
        ("anon:1", None, 60.0),
        ("anon:1", None, 45.0),
    ]
    assert [m["name"] for m in data["members"]] == ["anim", "alice"]
    assert data["seances"][1]["attendance"] == {}  # the excuse for a planned séance is gone

    # Coming back later is joining afresh.
    await chat.say("bob", "/aide")
    await chat.say("bob", "/oubli")
    assert "notes supprimées : 0" in chat.private_to("bob")[0]


async def test_a_facilitator_erases_someone_who_left(db: UnitOfWorkFactory) -> None:
    chat = Chat(db)
    await first_seance(chat)
    await chat.say("anim", "/oubli @bob")
    assert chat.private_to("anim")[0].endswith("Pour confirmer : /oubli @bob confirmer")
    await chat.say("anim", "/oubli @bob confirmer")
    assert chat.refused is None
    assert "bob" not in await dump_text(db)
    await chat.say("anim", "/oubli @bob confirmer")
    assert chat.refused == "forget.not_a_member"
    await chat.say("anim", "/oubli")
    assert chat.refused == "forget.last_facilitator"
    await chat.say("anim", "/seance extra")
    await chat.say("anim", "/oubli @alice")
    assert chat.refused == "forget.seance_open"


async def test_retention_deletes_notes_and_check_in_words_when_due_and_nothing_else(
    db: UnitOfWorkFactory,
) -> None:
    chat = Chat(db)
    await say(
        chat,
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle conservation 30",
        "anim: /seance",
        "alice: /present",
        "anim: /seance phase suivante",
        "alice: /meteo sereine",
        "alice: /note première note",
        "anim: /decision décision gardée",
        "alice: /action Action gardée",
        "anim: /seance fin",
    )
    other = Chat(db, channel="autre", clock=chat.clock, core=chat.core)
    await say(
        other,
        "bea: /cercle creer Autre",
        "bea: /cercle conservation jamais",
        "bea: /seance",
        "bea: /meteo calme",
        "bea: /note à garder toujours",
        "bea: /seance fin",
    )
    await chat.wait(days=20)
    await say(
        chat,
        "anim: /seance",
        "alice: /meteo pressée",
        "alice: /note deuxième note",
        "anim: /seance fin",
    )
    await chat.core.start()  # schedules the daily retention (first run at once)
    await chat.wait(seconds=1)
    assert "première note" in await dump_text(db)

    async def kept() -> tuple[list[str], list[str], int]:
        async with db() as uow:
            texts, words, turns = [], [], 0
            for circle in await uow.circles.all():
                texts += [i.text for i in await uow.items.for_circle(circle.id)]
                for seance in await uow.seances.for_circle(circle.id):
                    words += [c.word for c in seance.checkins.values()]
                    turns += len(seance.turns)
            return sorted(texts), sorted(words), turns

    _, _, turns = await kept()
    await chat.wait(days=9, hours=13)  # day 30, 02:00: due at 13:00, not deleted yet
    assert "première note" in (await kept())[0]
    await chat.wait(hours=26)  # day 31, 04:00: the daily run at 03:00 deleted them
    assert await kept() == (
        ["Action gardée", "deuxième note", "décision gardée", "à garder toujours"],
        ["calme", "pressée"],
        turns,
    )
    await chat.wait(days=20)  # day 50: the second séance's too
    assert await kept() == (
        ["Action gardée", "décision gardée", "à garder toujours"],
        ["calme"],
        turns,
    )
    await chat.say("anim", "/recap 1")
    (recap,) = [e for e in chat.last if isinstance(e, RecapPost)]
    assert "première note" not in recap.markdown
    assert "### Météo" not in recap.markdown
    assert "#2 décision gardée" in recap.markdown
