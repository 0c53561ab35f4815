"""The small interfaces the core talks to the outside through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain.case_vote import CaseVote
from bot.domain.cases import CaseProposal
from bot.domain.circle import Circle
from bot.domain.items import Item
from bot.domain.live import LiveKind, LiveMessage
from bot.domain.preparation import PrepAnswer
from bot.domain.prompts import Prompt
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.rsvp import Rsvp
from bot.domain.seance import Seance, SeanceStatus, SeanceSummary, SeanceTrail
from bot.effects import Effect
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

    async def channels(self, circle_ids: Sequence[int]) -> dict[int, ChannelRef]:
        """The channel of each of these circles that exists, without loading the circles."""

    async def all(self, partition: Partition = EVERYTHING) -> list[Circle]:
        """Every circle of the partition, by id."""

    async def of_member(self, user: UserRef) -> dict[int, ChannelRef]:
        """The channel of each circle `user` is an active member of, without loading them."""

    async def retaining(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef, int]]:
        """Id, channel and `retention_days` of the partition's circles that keep notes for a
        limited time, without loading them."""

    async def add(self, circle: Circle) -> None:
        """Store a new circle and give it its id."""

    async def adopt(self, home: str, platform: str) -> int:
        """Give `home` to the circles of `platform` that have none yet; how many."""


class SeanceRepository(Protocol):
    """Séances of circles."""

    async def get(self, seance_id: int) -> Seance | None: ...

    async def channel_of(self, seance_id: int) -> ChannelRef | None:
        """The channel of the séance's circle, without loading either."""

    async def open_for(self, circle_id: int) -> Seance | None: ...

    async def by_number(self, circle_id: int, number: int) -> Seance | None: ...

    async def summaries(
        self,
        circle_id: int,
        statuses: Sequence[SeanceStatus] = (),
        last: int | None = None,
        below: int | None = None,
    ) -> list[SeanceSummary]:
        """Numbers, statuses and dates of the circle's séances (of `statuses`, if given;
        numbered below `below`, if given; the `last` ones by number, if given), by number, as
        this unit of work changed them, without loading any séance."""

    async def renumbering(self, circle_id: int) -> tuple[dict[int, int], int]:
        """The séances whose number should change (by id: the number by date, see
        bot/domain/numbering.py), as this unit of work changed them; and how many séances the
        circle has."""

    async def count(self, circle_id: int, statuses: Sequence[SeanceStatus]) -> int:
        """How many of the circle's séances are in one of `statuses`, as this unit of work
        changed them."""

    async def recent_trails(self, circle_id: int, count: int) -> list[SeanceTrail]:
        """Who came and who spoke at the circle's last `count` closed séances (closed in this
        unit of work included; the last by closing time), by number."""

    async def for_circle(self, circle_id: int) -> list[Seance]:
        """Every séance of the circle, loaded whole: for the cycle report and exports only."""

    async def purge_checkins(self, circle_id: int, cutoff: datetime) -> int:
        """Delete the circle's check-in words given at or before `cutoff`; how many."""

    async def open_channels(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef]]:
        """Id and circle channel of the open séances of the partition's circles."""

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

    async def open_actions(self, circle_id: int) -> list[Item]:
        """The circle's actions not done yet, by number."""

    async def get(self, circle_id: int, number: int) -> Item | None: ...

    async def add(self, item: Item) -> None: ...

    async def update(self, item: Item) -> None:
        """Store the item's changed fields (done, withheld, author, owner); raises
        ConcurrentChange if another instance changed it since this unit of work read it."""

    async def delete(self, circle_id: int, numbers: Sequence[int]) -> None: ...

    async def purge_notes(self, circle_id: int, cutoff: datetime) -> int:
        """Delete the circle's notes recorded at or before `cutoff`; how many."""


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


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message of the outbox still waiting for the platform's acknowledgement."""

    id: int
    effect: Effect
    created_at: datetime
    attempts: int = 0
    home: str | None = None


class OutboxRepository(Protocol):
    """What the core decided to post, kept until the platform acknowledged it (bot/outbox.py)."""

    async def add(
        self, effects: Sequence[Effect], home: str | None, shard_key: int | None, now: datetime
    ) -> list[int]:
        """Store the effects, in order; their row ids."""

    async def replace(self, outbox_id: int, effect: Effect) -> None:
        """Store the effect as it is now (its chart drawn after commit)."""

    async def waiting(
        self, partition: Partition = EVERYTHING, created_before: datetime | None = None
    ) -> list[Waiting]:
        """What the partition's homes still have to deliver, oldest first."""

    async def delivered(self, outbox_ids: Sequence[int], now: datetime) -> None: ...

    async def failed(self, outbox_id: int, now: datetime, reason: str) -> None:
        """Refused by the platform for good: kept for operators, never retried."""

    async def retried(self, outbox_id: int) -> None:
        """Count one more failed attempt."""

    async def prune(self, before: datetime) -> int:
        """Forget the delivered and failed rows older than `before`; how many."""


class HandledEventRepository(Protocol):
    """Platform event ids of the commands handled, so a replayed event is not handled again."""

    async def seen(self, event_id: str) -> bool: ...

    async def add(self, event_id: str, now: datetime) -> None: ...

    async def prune(self, before: datetime) -> int: ...


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

    async def delete(self, seance_id: int, user: UserRef) -> None:
        """Delete the person's answer for that séance (withdrawn), if any."""


class LiveMessageRepository(Protocol):
    """Which platform message shows a séance's live message of each kind (bot/domain/live.py)."""

    async def get(self, seance_id: int, kind: LiveKind) -> LiveMessage | None: ...

    async def latest(self, circle_id: int, kind: LiveKind) -> LiveMessage | None:
        """The circle's live message of that kind posted last."""

    async def find(self, circle_id: int, message_id: str) -> LiveMessage | None:
        """The circle's live message that the platform message `message_id` shows."""

    async def add(self, live: LiveMessage) -> None: ...

    async def replace(self, live: LiveMessage) -> None:
        """Store `live` in place of the séance's live message of its kind, if there is one (a
        message that starts again as a new one: a topic's next thumbs vote)."""

    async def record(self, seance_id: int, kind: LiveKind, message_id: str) -> None:
        """Remember the platform's id of the message, once posted."""


class CaseRepository(Protocol):
    """Cases proposed for coming séances, with their votes."""

    async def for_circle(self, circle_id: int) -> list[CaseProposal]: ...

    async def add(self, case: CaseProposal) -> None:
        """Store a new proposal and give it the circle's next number."""

    async def update(self, case: CaseProposal) -> None: ...

    async def delete(self, circle_id: int, number: int) -> None: ...


class CaseVoteRepository(Protocol):
    """Each circle's current round of votes on the next case (at most one row a circle)."""

    async def get(self, circle_id: int) -> CaseVote | None: ...

    async def put(self, vote: CaseVote) -> None:
        """Store the circle's round, replacing the one before."""

    async def pending(self, partition: Partition = EVERYTHING) -> list[tuple[int, datetime]]:
        """(circle id, closing time) of the rounds still open that have a closing time."""

    async def claim(self, circle_id: int, now: datetime, claimer: str) -> bool:
        """Mark the circle's round closed by `claimer` if it is open and due by `now`; whether
        this call did it (never two callers)."""


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
    def outbox(self) -> OutboxRepository: ...

    @property
    def handled(self) -> HandledEventRepository: ...

    @property
    def answers(self) -> PrepAnswerRepository: ...

    @property
    def rsvps(self) -> RsvpRepository: ...

    @property
    def cases(self) -> CaseRepository: ...

    @property
    def case_votes(self) -> CaseVoteRepository: ...

    @property
    def live(self) -> LiveMessageRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def erase_traces(self) -> None:
        """Once committed, leave what this transaction deleted or overwrote readable nowhere in
        the database's files (SQLite: its write-ahead log is checkpointed and emptied)."""


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

    def warm_up(self) -> None:
        """Load now what rendering loads on first use (a language's calendar and number
        data), so that the first commands after start-up do not pay for it."""
        ...


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
