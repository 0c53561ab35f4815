"""The small interfaces the core talks to the outside through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.cases import CaseProposal
from bot.domain.circle import Circle
from bot.domain.items import Item
from bot.domain.preparation import PrepAnswer
from bot.domain.prompts import Prompt
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.rsvp import Rsvp
from bot.domain.seance import Seance
from bot.partition import EVERYTHING, Partition


@dataclass(frozen=True, slots=True)
class Anonymised:
    """What `SeanceRepository.anonymise` changed: rows rewritten under the anonymous id."""

    turns: int = 0
    seances: int = 0  # séances in which the person had turns
    attendance: int = 0
    checkins: int = 0  # check-in words deleted


class CircleRepository(Protocol):
    """Circles, found by id or by the channel they are bound to."""

    async def by_channel(self, channel: ChannelRef) -> Circle | None: ...

    async def get(self, circle_id: int) -> Circle | None: ...

    async def all(self, partition: Partition = EVERYTHING) -> list[Circle]:
        """Every circle of the partition, by id."""

    async def add(self, circle: Circle) -> None:
        """Store a new circle and give it its id."""

    async def adopt(self, home: str, platform: str) -> int:
        """Give `home` to the circles of `platform` that have none yet; how many."""


class SeanceRepository(Protocol):
    """Séances of circles."""

    async def get(self, seance_id: int) -> Seance | None: ...

    async def open_for(self, circle_id: int) -> Seance | None: ...

    async def by_number(self, circle_id: int, number: int) -> Seance | None: ...

    async def for_circle(self, circle_id: int) -> list[Seance]: ...

    async def all_open(self, partition: Partition = EVERYTHING) -> list[Seance]:
        """The open séances of the partition's circles."""

    async def add(self, seance: Seance) -> None:
        """Store a new séance and give it its id."""

    async def anonymise(self, circle_id: int, user: UserRef, anonymous: UserRef) -> Anonymised:
        """Put `anonymous` in place of `user` in every séance of the circle, at once (turns,
        attendance, case owner, phase speakers); delete their check-in words and their marks on
        planned séances. Séance objects loaded before are stale afterwards: load them again."""


class ItemRepository(Protocol):
    """Notes, decisions and actions."""

    async def for_seance(self, seance_id: int) -> list[Item]: ...

    async def for_circle(self, circle_id: int) -> list[Item]: ...

    async def get(self, circle_id: int, number: int) -> Item | None: ...

    async def add(self, item: Item) -> None: ...

    async def update(self, item: Item) -> None:
        """Store the item's changed fields (done, withheld, author, owner)."""

    async def delete(self, circle_id: int, numbers: Sequence[int]) -> None: ...


class PromptRepository(Protocol):
    """Prompts the bot posts by itself; claiming one marks it sent, atomically."""

    async def for_seance(self, seance_id: int) -> list[Prompt]: ...

    async def pending(self, partition: Partition = EVERYTHING) -> list[Prompt]:
        """Every prompt of the partition's circles neither sent nor dropped, earliest first."""

    async def due(
        self, now: datetime, limit: int, partition: Partition = EVERYTHING
    ) -> list[Prompt]:
        """Pending prompts of the partition's circles due by `now`, earliest first."""

    async def add(self, prompt: Prompt) -> None: ...

    async def reschedule(self, prompt_id: int, due_at: datetime) -> None: ...

    async def delete(self, prompt_id: int) -> None: ...

    async def claim(self, prompt_ids: Sequence[int], now: datetime, claimer: str) -> list[Prompt]:
        """Mark as sent those still pending and return them; others (already claimed) are left."""

    async def drop(self, prompt_id: int, now: datetime) -> None:
        """Mark a claimed prompt as dropped (stale) instead of sent."""


class PrepAnswerRepository(Protocol):
    """Answers to preparation questions, one per person and séance."""

    async def for_seance(self, seance_id: int) -> list[PrepAnswer]: ...

    async def for_circle(self, circle_id: int) -> list[PrepAnswer]: ...

    async def put(self, answer: PrepAnswer) -> None:
        """Store the answer, replacing the person's earlier one for that séance."""

    async def delete_for(self, circle_id: int, user: UserRef) -> int:
        """Delete every answer the person gave in the circle; how many."""

    async def purge(self, circle_id: int, cutoff: datetime) -> int:
        """Delete the circle's answers given at or before `cutoff`; how many."""


class RsvpRepository(Protocol):
    """Who said they would come to which séance."""

    async def for_seance(self, seance_id: int) -> list[Rsvp]: ...

    async def for_circle(self, circle_id: int) -> list[Rsvp]: ...

    async def put(self, rsvp: Rsvp) -> None:
        """Store the answer, replacing the person's earlier one for that séance."""

    async def delete_for(self, circle_id: int, user: UserRef) -> int:
        """Delete every answer the person gave in the circle; how many."""


class CaseRepository(Protocol):
    """Cases proposed for coming séances, with their votes."""

    async def for_circle(self, circle_id: int) -> list[CaseProposal]: ...

    async def add(self, case: CaseProposal) -> None:
        """Store a new proposal and give it the circle's next number."""

    async def update(self, case: CaseProposal) -> None: ...

    async def delete(self, circle_id: int, number: int) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: what a command changes is kept on `commit`, all of it or none."""

    @property
    def circles(self) -> CircleRepository: ...

    @property
    def seances(self) -> SeanceRepository: ...

    @property
    def items(self) -> ItemRepository: ...

    @property
    def prompts(self) -> PromptRepository: ...

    @property
    def answers(self) -> PrepAnswerRepository: ...

    @property
    def rsvps(self) -> RsvpRepository: ...

    @property
    def cases(self) -> CaseRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work for each command."""

    def __call__(self) -> UnitOfWork: ...


class Translator(Protocol):
    """Renders message keys and values in a language and time zone."""

    def text(self, lang: str, key: str, /, **args: Any) -> str: ...

    def has(self, lang: str, key: str) -> bool: ...

    def datetime_text(self, lang: str, tz: str, instant: datetime) -> str: ...

    def day_text(self, lang: str, day: date) -> str: ...

    def time_text(self, lang: str, tz: str, instant: datetime) -> str: ...

    def duration_text(self, lang: str, span: timedelta) -> str: ...

    def span_text(self, lang: str, span: timedelta) -> str:
        """A span in words, to the minute: `15 minutes`, `1 heure 30 minutes`, `2 jours`."""
        ...

    def plural(self, lang: str, key: str, count: int, /, **args: object) -> str:
        """The message `key.one` or `key.other`, by the language's plural rule for `count`."""
        ...

    def languages(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class Wakeup:
    """Wake the core for a key at an instant; `grace` is how late the wake may still happen."""

    at: datetime
    grace: timedelta


class Scheduler(Protocol):
    """Wakes the core at an instant for a key (`prompt:12`, `timebox:3`); knows nothing else."""

    def wake_at(self, key: str, at: datetime, grace: timedelta) -> None:
        """Call the core for `key` at `at` (replacing any earlier wake-up for that key)."""

    def cancel(self, key: str) -> None: ...
