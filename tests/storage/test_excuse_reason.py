"""An excuse's reason is kept with the attendance mark, read back for the facilitators, and
erased with the person by /oubli — on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import NullPool
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import Database
from tests.conversation import Chat


async def _reasons(database: Database) -> list[tuple[str, str | None]]:
    engine = create_async_engine(database.url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            query = sa.text('SELECT "user", reason FROM attendance ORDER BY "user"')
            return [(str(user), reason) for user, reason in await conn.execute(query)]
    finally:
        await engine.dispose()


async def test_the_reason_survives_a_restart_and_goes_with_oubli(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/seance planifier jeudi 10 décembre 14h")
    await chat.say("alice", "/excuse 1 je serai en déplacement")
    assert chat.refused is None
    assert await _reasons(any_db) == [("console:alice", "je serai en déplacement")]
    again = Chat(any_db, clock=chat.clock)  # a fresh core: everything read from the database
    await again.say("anim", "/seance liste")
    assert "excusé·es : alice (je serai en déplacement)" in again.text
    await again.wait(days=7)  # the séance is held without alice
    await again.say("anim", "/seance")
    await again.say("anim", "/seance fin")
    await again.say("alice", "/oubli confirmer")
    assert again.refused is None
    reasons = await _reasons(any_db)
    assert [reason for _, reason in reasons] == [None] * len(reasons)
