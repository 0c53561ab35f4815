"""Memory stays flat as a circle's history grows: only circles, open séances and a few recent
séances stay cached, and planning, excuses, listings and retention read light rows instead of
loading every séance."""

from __future__ import annotations

from storage.database import Database
from tests.conversation import Chat


def cached_seances(db: Database) -> set[int]:
    return set(db.cache.open_seances) | set(db.cache.recent_seances)


async def held_seances(chat: Chat, count: int) -> None:
    for n in range(count):
        await chat.script(
            "anim: /seance",
            "alice: /present",
            f"alice: /note idée {n}",
            "anim: /seance fin",
        )
        await chat.wait(days=7)


async def test_a_long_history_leaves_a_bounded_cache(any_db: Database) -> None:
    any_db.cache.recent_limit = 3
    chat = Chat(any_db)
    await chat.script("anim: /cercle creer Nord", "anim: /cercle conservation 30")
    await held_seances(chat, 8)
    await chat.script("anim: /bilan", "anim: /recap 2")  # these read the whole history
    assert len(any_db.cache.recent_seances) <= 3
    assert not any_db.cache.open_seances

    any_db.cache.clear()
    await chat.script(
        "anim: /seance planifier 2027-03-04 14:00",
        "anim: /seance planifier 2027-03-11 14:00",
        "anim: /seance liste",
        "bob: /excuse",
        "anim: /cercle rappels veille non",
    )
    assert len(cached_seances(any_db)) == 2  # the planned ones only, never the closed ones
    await chat.say("anim", "/seance")
    assert chat.refused is None, chat.text
    assert len(any_db.cache.open_seances) == 1

    any_db.cache.clear()
    purged = await chat.core.retention.run(chat.clock.now())
    assert purged.notes == 4  # those over 30 days old, deleted in the database
    assert cached_seances(any_db) == set()  # and no séance loaded to do it
