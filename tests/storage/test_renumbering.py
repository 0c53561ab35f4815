"""What planning and drift notes read of a long history in SQL, rather than loading séances,
is what the domain would compute from the séances themselves: numbers by date (including
what the transaction changed and has not committed; a transaction that read them, then
rolled back, leaves nothing behind) and the trails of the last closed séances."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.domain.circle import Circle
from bot.domain.numbering import numbers_by_date
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.seance import (
    AttendanceStatus,
    Seance,
    SeanceStatus,
    SeanceSummary,
    SeanceTrail,
    Turn,
    TurnOutcome,
)
from storage.database import Database

START = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)
STATUSES = (
    SeanceStatus.PLANNED,
    SeanceStatus.CLOSED,
    SeanceStatus.CANCELLED,
    SeanceStatus.NOT_HELD,
)


def a_seance(rng: random.Random, circle_id: int, number: int) -> Seance:
    status = rng.choice(STATUSES)
    when = START + timedelta(days=rng.randrange(0, 60), minutes=rng.choice((0, 0, 30)))
    planned = None if rng.random() < 0.2 else when  # some opened without being planned
    opened = None if status is SeanceStatus.PLANNED else when + timedelta(minutes=5)
    return Seance(
        0,
        circle_id,
        number,
        "libre",
        status=status,
        planned_at=planned,
        opened_at=opened,
        closed_at=None if opened is None else opened + timedelta(hours=1),
    )


async def test_numbers_by_date_in_sql_are_the_domain_rule(any_db: Database) -> None:
    rng = random.Random(11)
    async with any_db() as uow:
        circle = Circle(0, "Cercle", ChannelRef("console", "renumber"), START)
        await uow.circles.add(circle)
        numbers = list(range(1, 41))
        rng.shuffle(numbers)  # stored in any order: the numbers to fix are many
        for number in numbers:
            await uow.seances.add(a_seance(rng, circle.id, number))
        await uow.commit()

    async with any_db() as uow:
        # changed in this transaction, not committed yet: a move, a cancellation, a new one
        summaries = await uow.seances.summaries(circle.id)
        moved = await uow.seances.get(summaries[3].id)
        cancelled = await uow.seances.get(summaries[7].id)
        assert moved is not None
        assert cancelled is not None
        moved.planned_at = START - timedelta(days=3)
        moved.status = SeanceStatus.PLANNED
        cancelled.status = SeanceStatus.CANCELLED
        await uow.seances.add(Seance(0, circle.id, 41, "libre", planned_at=START + timedelta(1)))

        changes, total = await uow.seances.renumbering(circle.id)

        summaries = await uow.seances.summaries(circle.id)
        wanted = numbers_by_date(summaries)
        assert total == len(summaries) == 41
        assert changes == {s.id: wanted[s.id] for s in summaries if wanted[s.id] != s.number}
        assert changes  # the test would prove nothing otherwise
        await uow.rollback()

    # rolled back: the stored séances are as committed, and can be changed again
    async with any_db() as uow:
        assert len(await uow.seances.summaries(circle.id)) == 40
        again = await uow.seances.get(summaries[3].id)
        assert again is not None
        assert again.planned_at != START - timedelta(days=3)
        again.subject = "Déléguer"
        await uow.commit()
    async with any_db() as uow:
        stored = await uow.seances.get(summaries[3].id)
        assert stored is not None
        assert stored.subject == "Déléguer"


async def test_trails_read_in_sql_are_those_of_the_loaded_seances(any_db: Database) -> None:
    """Drift notes read who came and who spoke in the last closed séances without loading
    them: the same as the séances loaded whole, a pass not counted as speaking, a séance
    closed in the transaction itself included."""
    alice, bob, carla = (UserRef("console", n) for n in ("alice", "bob", "carla"))
    async with any_db() as uow:
        circle = Circle(0, "Cercle", ChannelRef("console", "trails"), START)
        await uow.circles.add(circle)
        for n in range(1, 5):
            at = START + timedelta(weeks=n)
            seance = Seance(0, circle.id, n, "libre", status=SeanceStatus.CLOSED, planned_at=at)
            seance.opened_at, seance.closed_at = at, at + timedelta(hours=1)
            seance.attendance = {
                alice: AttendanceStatus.PRESENT,
                bob: AttendanceStatus.PRESENT if n % 2 else AttendanceStatus.ABSENT,
                carla: AttendanceStatus.PRESENT,
            }
            seance.turns = [
                Turn(1, alice, 0, at, at + timedelta(minutes=3), outcome=TurnOutcome.FINISHED),
                Turn(2, carla, 0, at, at + timedelta(minutes=4), outcome=TurnOutcome.PASSED),
            ]
            await uow.seances.add(seance)
        await uow.commit()
    ids = [s.id for s in await _summaries(any_db, circle.id)]

    for seance_id in ids:  # nothing cached: the trails are read in SQL
        any_db.cache.forget_seance(seance_id)
    async with any_db() as uow:
        trails = await uow.seances.recent_trails(circle.id, 3)
        loaded = [await uow.seances.get(i) for i in ids[-3:]]
        assert trails == [SeanceTrail.of(s) for s in loaded if s is not None]
        assert [t.number for t in trails] == [2, 3, 4]
        assert all(carla not in t.speakers and alice in t.speakers for t in trails)
        assert trails[0].attendance[bob] is AttendanceStatus.ABSENT

        # the open one closed in this transaction counts, not written yet
        now = START + timedelta(weeks=5)
        new = Seance(0, circle.id, 5, "libre", status=SeanceStatus.OPEN, planned_at=now)
        new.opened_at = now
        await uow.seances.add(new)
        new.attendance = {carla: AttendanceStatus.PRESENT}
        new.turns = [
            Turn(1, carla, 0, now, now + timedelta(minutes=2), outcome=TurnOutcome.FINISHED)
        ]
        new.status, new.closed_at = SeanceStatus.CLOSED, now + timedelta(hours=1)
        trails = await uow.seances.recent_trails(circle.id, 2)
        assert [t.number for t in trails] == [4, 5]
        assert trails[1].speakers == frozenset({carla})


async def _summaries(db: Database, circle_id: int) -> list[SeanceSummary]:
    async with db() as uow:
        return await uow.seances.summaries(circle_id)
