"""A vote on cases in every store: its closing time and poll kept and exported, closed once
by the claim, members' DM choice kept, and the poll votes of a forgotten member gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.case_vote import close_key
from bot.domain.refs import ChannelRef
from bot.native_votes import PollVote
from bot.partition import Partition, Share
from bot.ports import UnitOfWorkFactory
from storage.database import Database
from tests.conftest import PostgresServer, migrated_sqlite
from tests.conversation import Chat, user
from tests.fakes import MemoryDatabase
from tests.storage.test_between_storage import export

CLOSES = datetime(2026, 12, 5, 13, 0, tzinfo=UTC)  # 48 hours after the Chat clock's start


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


async def test_a_vote_is_kept_claimed_once_and_exported(db: UnitOfWorkFactory) -> None:
    chat = Chat(db)
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "alice: /cas proposer Déléguer",
        "bob: /cas proposer Recruter",
        "bob: /prepa dm non",
        "anim: /cas ouvrir 48h",
    )
    await chat.core.record_poll(1, "poll-1")
    async with db() as uow:
        pending = await uow.case_votes.pending()
        elsewhere = await uow.case_votes.pending(Partition((Share("matrix:@other:x"),)))
        early = await uow.case_votes.claim(1, datetime(2026, 12, 4, tzinfo=UTC), "a")
        await uow.commit()
    assert pending == [(1, CLOSES)]
    assert elsewhere == []
    assert not early
    data = await export(chat)
    assert data["case_vote"] == {
        "opened_at": "2026-12-03T13:00:00+00:00",
        "closes_at": CLOSES.isoformat(),
        "closed_at": None,
        "poll": "poll-1",
    }
    assert [m["direct_prompts"] for m in data["members"]] == [True, True, False]

    effects = await chat.core.poll_vote(
        PollVote(ChannelRef("console", "salon"), user("alice"), "poll-1", {"1": True, "2": True})
    )
    assert effects == []
    async with db() as uow:
        first = await uow.case_votes.claim(1, CLOSES, "instance-a")
        second = await uow.case_votes.claim(1, CLOSES, "instance-b")
        await uow.rollback()  # the scheduler's own claim below must find it open
    assert (first, second) == (True, False)
    said = await chat.core.wake(close_key(1), CLOSES)
    assert len(said) == 2  # the result, and the poll's end
    assert await chat.core.wake(close_key(1), CLOSES) == []
    data = await export(chat)
    assert data["case_vote"]["closed_at"] == CLOSES.isoformat()
    assert data["case_vote"]["poll"] is None
    assert [c["votes"] for c in data["cases"]] == [{"console:alice": 1}, {"console:alice": 1}]

    await chat.script("alice: /oubli confirmer")
    data = await export(chat)
    assert all(c["votes"] == {} for c in data["cases"])
