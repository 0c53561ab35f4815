"""The manual scheduler wakes each key once at its last instant, and a key moved at every
command (a séance's time box) does not make it grow."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.effects import Effect
from bot.timing.schedule import ManualScheduler
from tests.conversation import START

GRACE = timedelta(days=1)


async def test_moved_keys_wake_once_at_their_last_instant_and_the_heap_stays_small() -> None:
    woken: list[tuple[str, datetime]] = []

    async def wake(key: str, at: datetime) -> list[Effect]:
        woken.append((key, at))
        return []

    scheduler = ManualScheduler(wake)
    for i in range(5_000):
        key = f"timebox:{i % 10}"
        scheduler.wake_at(key, START + timedelta(minutes=1 + i // 100), GRACE)
        scheduler.wake_at("same", START + timedelta(minutes=3), GRACE)
    scheduler.wake_at("gone", START + timedelta(minutes=2), GRACE)
    scheduler.cancel("gone")
    assert len(scheduler._heap) < 200  # 5,000 moves and 5,000 repeats left few entries behind

    await scheduler.advance_to(START + timedelta(hours=2))

    expected = [(f"timebox:{k}", START + timedelta(minutes=50)) for k in range(10)]
    assert sorted(woken) == sorted([*expected, ("same", START + timedelta(minutes=3))])
    assert scheduler.jobs() == {}
