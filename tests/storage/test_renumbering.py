"""Séance numbers by date, computed in SQL, are the numbers bot/domain/numbering.py defines —
including what the transaction changed and has not committed — and a transaction that read
them, then rolled back, leaves nothing behind."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.domain.circle import Circle
from bot.domain.numbering import numbers_by_date
from bot.domain.refs import ChannelRef
from bot.domain.seance import Seance, SeanceStatus
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
        assert moved is not None and cancelled is not None
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
        assert again is not None and again.planned_at != START - timedelta(days=3)
        again.subject = "Déléguer"
        await uow.commit()
    async with any_db() as uow:
        stored = await uow.seances.get(summaries[3].id)
        assert stored is not None and stored.subject == "Déléguer"
