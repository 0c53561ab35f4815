"""A turn's corrected length is stored beside the turn (the closed turn's row is never
rewritten) and survives a reload, a rollback and a facilitator's erasure, on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from bot.domain.refs import ChannelRef
from bot.domain.seance import TurnCorrection
from storage.database import Database
from tests.conftest import migrated_sqlite
from tests.conversation import START, Chat, user

SALON = ChannelRef("console", "salon")


@pytest.fixture(scope="module", autouse=True)
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Migrate the SQLite template outside the event loop (Alembic's env runs its own loop)."""
    migrated_sqlite(tmp_path_factory.mktemp("template") / "warm.sqlite3")


async def _seance_with_a_forgotten_fini(db: Database) -> Chat:
    chat = Chat(db)
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /cercle approbation oui",
        "alice: /aide",
        "anim: /seance",
        "anim: /seance phase libre",
        "alice: /tour",
    )
    await chat.wait(minutes=20)
    await chat.say("anim", "/seance fin")
    return chat


async def test_a_corrected_turn_survives_a_reload(any_db: Database) -> None:
    chat = await _seance_with_a_forgotten_fini(any_db)
    await chat.say("anim", "/recap duree @alice 4")
    assert chat.refused is None
    async with any_db() as uow:
        circle = await uow.circles.by_channel(SALON)
        assert circle is not None
        cached = copy.deepcopy(await uow.seances.for_circle(circle.id))
    any_db.cache.clear()
    async with any_db() as uow:
        (stored,) = await uow.seances.for_circle(circle.id)
    assert [stored] == cached
    (turn,) = stored.turns
    assert turn.corrected is not None
    assert turn.corrected.length == timedelta(minutes=4)
    assert turn.corrected.by == user("anim")
    assert turn.corrected.at == START + timedelta(minutes=20)
    assert turn.ended_at == START + timedelta(minutes=20)  # what was recorded stays
    assert stored.speaking_times(START)[user("alice")] == (timedelta(minutes=4), 1)

    await chat.say("anim", "/recap duree @alice 5")  # a second correction replaces the first
    any_db.cache.clear()
    async with any_db() as uow:
        (stored,) = await uow.seances.for_circle(circle.id)
    assert stored.turns[0].corrected is not None
    assert stored.turns[0].corrected.length == timedelta(minutes=5)


async def test_a_correction_rolled_back_is_not_kept_in_the_cache(any_db: Database) -> None:
    chat = await _seance_with_a_forgotten_fini(any_db)
    async with any_db() as uow:
        circle = await uow.circles.by_channel(SALON)
        assert circle is not None
        (seance,) = await uow.seances.for_circle(circle.id)
        loaded = await uow.seances.get(seance.id)  # the cached aggregate, as commands get it
        assert loaded is not None
        loaded.turns[0].corrected = TurnCorrection(timedelta(minutes=1), user("anim"), START)
        await uow.rollback()
    async with any_db() as uow:
        again = await uow.seances.get(seance.id)
    assert again is not None
    assert again.turns[0].corrected is None
    await chat.say("anim", "/recap publier")
    assert "20 min 00 s" in chat.recaps()[-1]


async def test_a_corrector_who_is_forgotten_leaves_no_name_on_the_correction(
    any_db: Database,
) -> None:
    chat = await _seance_with_a_forgotten_fini(any_db)
    await chat.say("anim", "/cercle animateur @co")
    await chat.say("co", "/recap duree @alice 4")
    assert chat.refused is None
    async with any_db() as uow:
        circle = await uow.circles.by_channel(SALON)
        assert circle is not None
        anonymous = user("anonyme")
        await uow.seances.anonymise(circle.id, user("co"), anonymous)
        await uow.commit()
    any_db.cache.clear()
    async with any_db() as uow:
        (stored,) = await uow.seances.for_circle(circle.id)
    assert stored.turns[0].corrected is not None
    assert stored.turns[0].corrected.by == anonymous
    assert stored.turns[0].corrected.length == timedelta(minutes=4)
