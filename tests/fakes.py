"""In-memory repositories and unit of work for the core's unit tests.

A unit of work works on a deep copy of the store and swaps it in on commit, so a rollback
really forgets everything the command did.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from bot.circle import Circle
from bot.items import Item
from bot.refs import ChannelRef
from bot.seance import Seance, SeanceStatus


@dataclass
class MemoryStore:
    circles: dict[int, Circle] = field(default_factory=dict)
    seances: dict[int, Seance] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    next_id: int = 1
    commits: int = 0


class _Circles:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def by_channel(self, channel: ChannelRef) -> Circle | None:
        return next((c for c in self.store.circles.values() if c.channel == channel), None)

    async def get(self, circle_id: int) -> Circle | None:
        return self.store.circles.get(circle_id)

    async def all(self) -> list[Circle]:
        return list(self.store.circles.values())

    async def add(self, circle: Circle) -> None:
        circle.id = self.store.next_id
        self.store.next_id += 1
        self.store.circles[circle.id] = circle


class _Seances:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, seance_id: int) -> Seance | None:
        return self.store.seances.get(seance_id)

    async def open_for(self, circle_id: int) -> Seance | None:
        return next(
            (
                s
                for s in self.store.seances.values()
                if s.circle_id == circle_id and s.status is SeanceStatus.OPEN
            ),
            None,
        )

    async def by_number(self, circle_id: int, number: int) -> Seance | None:
        return next(
            (
                s
                for s in self.store.seances.values()
                if s.circle_id == circle_id and s.number == number
            ),
            None,
        )

    async def for_circle(self, circle_id: int) -> list[Seance]:
        found = [s for s in self.store.seances.values() if s.circle_id == circle_id]
        return sorted(found, key=lambda s: s.number)

    async def all_open(self) -> list[Seance]:
        return [s for s in self.store.seances.values() if s.status is SeanceStatus.OPEN]

    async def add(self, seance: Seance) -> None:
        seance.id = self.store.next_id
        self.store.next_id += 1
        self.store.seances[seance.id] = seance


class _Items:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_seance(self, seance_id: int) -> list[Item]:
        return [i for i in self.store.items if i.seance_id == seance_id]

    async def for_circle(self, circle_id: int) -> list[Item]:
        return [i for i in self.store.items if i.circle_id == circle_id]

    async def add(self, item: Item) -> None:
        self.store.items.append(item)


class MemoryUnitOfWork:
    def __init__(self, owner: MemoryDatabase) -> None:
        self._owner = owner
        self._work = copy.deepcopy(owner.store)
        self.circles = _Circles(self._work)
        self.seances = _Seances(self._work)
        self.items = _Items(self._work)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        self._work.commits += 1
        self._owner.store = self._work
        self._work = copy.deepcopy(self._work)

    async def rollback(self) -> None:
        self._work = copy.deepcopy(self._owner.store)


class MemoryDatabase:
    """A unit-of-work factory over one in-memory store."""

    def __init__(self) -> None:
        self.store = MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)
