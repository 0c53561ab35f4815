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
    await chat.say("anim", "/seance extra")  # the planned ones are months away
    assert chat.refused is None, chat.text
    assert len(any_db.cache.open_seances) == 1

    any_db.cache.clear()
    purged = await chat.core.retention.run(chat.clock.now())
    assert purged.notes == 4  # those over 30 days old, deleted in the database
    assert cached_seances(any_db) == set()  # and no séance loaded to do it


async def test_circles_without_an_open_seance_are_kept_in_a_bounded_cache(
    any_db: Database,
) -> None:
    any_db.cache.idle_limit = 2
    live = Chat(any_db, channel="vivant")
    await live.script(
        "anim: /cercle creer Vivant",
        "anim: /cercle protocole libre",
        "anim: /seance",
        "alice: /present",
        "alice: /tour",
    )
    quiet = [Chat(any_db, channel=f"calme{i}", clock=live.clock, core=live.core) for i in range(4)]
    for i, chat in enumerate(quiet):
        await chat.script(
            f"anim: /cercle creer Calme {i}", "anim: /seance planifier 2027-03-04 14:00"
        )
    assert len(any_db.cache.circles) == 3  # the one with an open séance, and the last two
    async with any_db() as uow:
        circle = await uow.circles.by_channel(live.channel)
    assert circle is not None
    assert circle.id in any_db.cache.circles
    assert set(any_db.cache.idle_circles) == {
        any_db.cache.by_channel[chat.channel.key] for chat in quiet[2:]
    }

    # a circle that left the cache is read again as stored, and its séance is still there
    await quiet[0].say("alice", "/seance liste")
    assert quiet[0].refused is None, quiet[0].text
    assert "2027" in quiet[0].text
    await live.say("alice", "/fini")
    assert live.refused is None, live.text
    assert len(any_db.cache.circles) == 3
