"""In-memory repositories and unit of work for the core's unit tests.

A unit of work works on a deep copy of the store and swaps it in on commit, so a rollback
really forgets everything the command did.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from bot.domain.case_vote import CaseVote
from bot.domain.cases import CaseProposal
from bot.domain.circle import Circle
from bot.domain.items import Item, ItemKind
from bot.domain.live import LiveKind, LiveMessage
from bot.domain.numbering import numbers_by_date
from bot.domain.preparation import PrepAnswer
from bot.domain.prompts import Prompt
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.rsvp import Rsvp
from bot.domain.seance import Seance, SeanceStatus, SeanceSummary, SeanceTrail
from bot.effects import Effect
from bot.partition import EVERYTHING, Partition
from bot.ports import Anonymised, Waiting


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row of the fake: replaced, never changed, so copies can share it."""

    effect: Effect | None  # None once delivered: what it said is not kept
    home: str | None
    created_at: datetime
    attempts: int = 0
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None


class Shallow(dict[Any, Any]):
    """A dict of immutable values: a unit of work's copy need not copy them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Shallow:
        return Shallow(self)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class MemoryStore:
    circles: dict[int, Circle] = field(default_factory=dict)
    seances: dict[int, Seance] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    prompts: dict[int, Prompt] = field(default_factory=dict)
    outbox: Shallow = field(default_factory=Shallow)
    handled: Shallow = field(default_factory=Shallow)
    answers: dict[tuple[int, UserRef], PrepAnswer] = field(default_factory=dict)
    rsvps: dict[tuple[int, UserRef], Rsvp] = field(default_factory=dict)
    cases: dict[tuple[int, int], CaseProposal] = field(default_factory=dict)
    case_votes: dict[int, CaseVote] = field(default_factory=dict)
    live: dict[tuple[int, LiveKind], LiveMessage] = field(default_factory=dict)
    next_id: int = 1
    commits: int = 0


class _Circles:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def by_channel(self, channel: ChannelRef) -> Circle | None:
        return next((c for c in self.store.circles.values() if c.channel == channel), None)

    async def get(self, circle_id: int) -> Circle | None:
        return self.store.circles.get(circle_id)

    async def channels(self, circle_ids: Sequence[int]) -> dict[int, ChannelRef]:
        circles = self.store.circles
        return {i: circles[i].channel for i in circle_ids if i in circles}

    async def of_member(self, user: UserRef) -> dict[int, ChannelRef]:
        return {
            i: c.channel
            for i, c in sorted(self.store.circles.items())
            if (m := c.members.get(user)) is not None and m.active
        }

    async def all(self, partition: Partition = EVERYTHING) -> list[Circle]:
        return [c for c in self.store.circles.values() if c.owned_by(partition)]

    async def retaining(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef, int]]:
        return [
            (c.id, c.channel, c.settings.retention_days)
            for c in await self.all(partition)
            if c.settings.retention_days
        ]

    async def adopt(self, home: str, platform: str) -> int:
        orphans = [
            c
            for c in self.store.circles.values()
            if c.home is None and c.channel.platform == platform
        ]
        for circle in orphans:
            circle.home = home
        return len(orphans)

    async def add(self, circle: Circle) -> None:
        circle.id = self.store.next_id
        self.store.next_id += 1
        self.store.circles[circle.id] = circle


class _Seances:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, seance_id: int) -> Seance | None:
        return self.store.seances.get(seance_id)

    async def channel_of(self, seance_id: int) -> ChannelRef | None:
        seance = self.store.seances.get(seance_id)
        circle = self.store.circles.get(seance.circle_id) if seance else None
        return circle.channel if circle else None

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

    async def summaries(
        self,
        circle_id: int,
        statuses: Sequence[SeanceStatus] = (),
        last: int | None = None,
        below: int | None = None,
    ) -> list[SeanceSummary]:
        found = [
            SeanceSummary.of(s)
            for s in await self.for_circle(circle_id)
            if (not statuses or s.status in statuses) and (below is None or s.number < below)
        ]
        return found[-last:] if last else found

    async def renumbering(self, circle_id: int) -> tuple[dict[int, int], int]:
        summaries = await self.summaries(circle_id)
        wanted = numbers_by_date(summaries)
        return {s.id: wanted[s.id] for s in summaries if wanted[s.id] != s.number}, len(summaries)

    async def count(self, circle_id: int, statuses: Sequence[SeanceStatus]) -> int:
        return len(await self.summaries(circle_id, statuses))

    async def recent_trails(self, circle_id: int, count: int) -> list[SeanceTrail]:
        closed = [s for s in await self.for_circle(circle_id) if s.status is SeanceStatus.CLOSED]
        latest = sorted(closed, key=lambda s: (s.closed_at or EPOCH, s.number))[-count:]
        return [SeanceTrail.of(s) for s in sorted(latest, key=lambda s: s.number)]

    async def purge_checkins(self, circle_id: int, cutoff: datetime) -> int:
        words = 0
        for seance in await self.for_circle(circle_id):
            old = [u for u, c in seance.checkins.items() if c.at <= cutoff]
            for user in old:
                del seance.checkins[user]
            words += len(old)
        return words

    async def open_channels(
        self, partition: Partition = EVERYTHING
    ) -> list[tuple[int, ChannelRef]]:
        circles = self.store.circles
        return [
            (s.id, circles[s.circle_id].channel)
            for s in self.store.seances.values()
            if s.status is SeanceStatus.OPEN and circles[s.circle_id].owned_by(partition)
        ]

    async def add(self, seance: Seance) -> None:
        seance.id = self.store.next_id
        self.store.next_id += 1
        self.store.seances[seance.id] = seance

    async def anonymise(self, circle_id: int, user: UserRef, anonymous: UserRef) -> Anonymised:
        turns = seances = marks = words = 0
        for seance in await self.for_circle(circle_id):
            mine = [t for t in seance.turns if t.user == user]
            for turn in mine:
                turn.user = anonymous
            turns += len(mine)
            for turn in seance.turns:
                if turn.corrected is not None and turn.corrected.by == user:
                    turn.corrected = replace(turn.corrected, by=anonymous)
            seances += 1 if mine else 0
            if user in seance.attendance:
                status = seance.attendance.pop(user)
                seance.excuse_reasons.pop(user, None)
                marks += 1
                if seance.status is not SeanceStatus.PLANNED:
                    seance.attendance[anonymous] = status
            if seance.checkins.pop(user, None) is not None:
                words += 1
            if seance.case_owner == user:
                seance.case_owner = anonymous
            for phase in seance.phases:
                if phase.speaker == user:
                    phase.speaker = anonymous
        return Anonymised(turns=turns, seances=seances, attendance=marks, checkins=words)


class _Items:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_seance(self, seance_id: int) -> list[Item]:
        found = [i for i in self.store.items if i.seance_id == seance_id]
        return copy.deepcopy(sorted(found, key=lambda i: i.number))

    async def for_circle(self, circle_id: int) -> list[Item]:
        found = [i for i in self.store.items if i.circle_id == circle_id]
        return copy.deepcopy(sorted(found, key=lambda i: i.number))

    async def open_actions(self, circle_id: int) -> list[Item]:
        return [i for i in await self.for_circle(circle_id) if i.is_open_action]

    async def get(self, circle_id: int, number: int) -> Item | None:
        found = next(
            (i for i in self.store.items if i.circle_id == circle_id and i.number == number), None
        )
        return copy.deepcopy(found)  # like a row read from the database: a detached copy

    async def add(self, item: Item) -> None:
        self.store.items.append(copy.deepcopy(item))

    async def update(self, item: Item) -> None:
        for index, stored in enumerate(self.store.items):
            if (stored.circle_id, stored.number) == (item.circle_id, item.number):
                self.store.items[index] = copy.deepcopy(item)

    async def delete(self, circle_id: int, numbers: Sequence[int]) -> None:
        gone = set(numbers)
        self.store.items = [
            i for i in self.store.items if not (i.circle_id == circle_id and i.number in gone)
        ]

    async def purge_notes(self, circle_id: int, cutoff: datetime) -> int:
        old = [
            i.number
            for i in self.store.items
            if i.circle_id == circle_id and i.kind is ItemKind.NOTE and i.created_at <= cutoff
        ]
        await self.delete(circle_id, old)
        return len(old)


class _Prompts:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_seance(self, seance_id: int) -> list[Prompt]:
        return [p for p in self.store.prompts.values() if p.seance_id == seance_id]

    async def pending(self, partition: Partition = EVERYTHING) -> list[Prompt]:
        return sorted(
            (
                p
                for p in self.store.prompts.values()
                if p.pending and self.store.circles[p.circle_id].owned_by(partition)
            ),
            key=lambda p: p.due_at,
        )

    async def due(
        self, now: datetime, limit: int, partition: Partition = EVERYTHING
    ) -> list[Prompt]:
        return [p for p in await self.pending(partition) if p.due_at <= now][:limit]

    async def add(self, prompt: Prompt) -> None:
        if any(
            p.seance_id == prompt.seance_id and p.kind is prompt.kind
            for p in self.store.prompts.values()
        ):
            raise ValueError("one prompt per (seance, kind)")
        prompt.id = self.store.next_id
        self.store.next_id += 1
        self.store.prompts[prompt.id] = prompt

    async def reschedule(self, prompt_id: int, due_at: datetime) -> None:
        self.store.prompts[prompt_id].due_at = due_at

    async def delete(self, prompt_id: int) -> None:
        del self.store.prompts[prompt_id]

    async def claim(self, prompt_ids: Sequence[int], now: datetime, claimer: str) -> list[Prompt]:
        claimed = []
        for prompt_id in prompt_ids:
            prompt = self.store.prompts.get(prompt_id)
            if prompt is not None and prompt.pending:
                prompt.sent_at = now
                claimed.append(prompt)
        return claimed

    async def drop(self, prompt_id: int, now: datetime) -> None:
        prompt = self.store.prompts[prompt_id]
        prompt.sent_at = None
        prompt.dropped_at = now


class _Outbox:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def add(
        self, effects: Sequence[Effect], home: str | None, shard_key: int | None, now: datetime
    ) -> list[int]:
        ids = []
        for effect in effects:
            ids.append(self.store.next_id)
            self.store.outbox[self.store.next_id] = OutboxEntry(effect, home, now)
            self.store.next_id += 1
        return ids

    def _change(self, outbox_id: int, **changes: Any) -> None:
        self.store.outbox[outbox_id] = dataclasses.replace(self.store.outbox[outbox_id], **changes)

    async def replace(self, outbox_id: int, effect: Effect) -> None:
        self._change(outbox_id, effect=dataclasses.replace(effect, outbox_id=None))

    async def waiting(
        self, partition: Partition = EVERYTHING, created_before: datetime | None = None
    ) -> list[Waiting]:
        entries: dict[int, OutboxEntry] = self.store.outbox
        return [
            Waiting(i, dataclasses.replace(e.effect, outbox_id=i), e.created_at, e.attempts, e.home)
            for i, e in sorted(entries.items())
            if e.effect is not None
            and e.delivered_at is None
            and e.failed_at is None
            and (created_before is None or e.created_at < created_before)
            and (partition.everything or any(s.home == e.home for s in partition.shares))
        ]

    async def delivered(self, outbox_ids: Sequence[int], now: datetime) -> None:
        for outbox_id in outbox_ids:
            self._change(outbox_id, delivered_at=now, effect=None)

    async def failed(self, outbox_id: int, now: datetime, reason: str) -> None:
        self._change(outbox_id, failed_at=now, error=reason, effect=None)

    async def retried(self, outbox_id: int) -> None:
        self._change(outbox_id, attempts=self.store.outbox[outbox_id].attempts + 1)

    async def prune(self, before: datetime) -> int:
        done = [
            i
            for i, e in self.store.outbox.items()
            if (e.delivered_at or e.failed_at) and e.created_at < before
        ]
        for outbox_id in done:
            del self.store.outbox[outbox_id]
        return len(done)


class _Handled:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def seen(self, event_id: str) -> bool:
        return event_id in self.store.handled

    async def add(self, event_id: str, now: datetime) -> None:
        self.store.handled[event_id] = now

    async def prune(self, before: datetime) -> int:
        old = [k for k, at in self.store.handled.items() if at < before]
        for key in old:
            del self.store.handled[key]
        return len(old)


class _Answers:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_seance(self, seance_id: int) -> list[PrepAnswer]:
        found = [a for a in self.store.answers.values() if a.seance_id == seance_id]
        return copy.deepcopy(sorted(found, key=lambda a: (a.answered_at, a.user)))

    async def for_circle(self, circle_id: int) -> list[PrepAnswer]:
        found = [a for a in self.store.answers.values() if a.circle_id == circle_id]
        return copy.deepcopy(sorted(found, key=lambda a: (a.seance_id, a.answered_at, a.user)))

    async def put(self, answer: PrepAnswer) -> None:
        self.store.answers[(answer.seance_id, answer.user)] = copy.deepcopy(answer)

    async def delete_for(self, circle_id: int, user: UserRef) -> int:
        keys = [
            k for k, a in self.store.answers.items() if (a.circle_id, a.user) == (circle_id, user)
        ]
        for key in keys:
            del self.store.answers[key]
        return len(keys)

    async def purge(self, circle_id: int, cutoff: datetime) -> int:
        keys = [
            k
            for k, a in self.store.answers.items()
            if a.circle_id == circle_id and a.answered_at <= cutoff
        ]
        for key in keys:
            del self.store.answers[key]
        return len(keys)


class _Rsvps:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_seance(self, seance_id: int) -> list[Rsvp]:
        found = [r for r in self.store.rsvps.values() if r.seance_id == seance_id]
        return copy.deepcopy(sorted(found, key=lambda r: (r.answered_at, r.user)))

    async def for_circle(self, circle_id: int) -> list[Rsvp]:
        found = [r for r in self.store.rsvps.values() if r.circle_id == circle_id]
        return copy.deepcopy(sorted(found, key=lambda r: (r.seance_id, r.answered_at, r.user)))

    async def put(self, rsvp: Rsvp) -> None:
        self.store.rsvps[(rsvp.seance_id, rsvp.user)] = copy.deepcopy(rsvp)

    async def delete_for(self, circle_id: int, user: UserRef) -> int:
        keys = [
            k for k, r in self.store.rsvps.items() if (r.circle_id, r.user) == (circle_id, user)
        ]
        for key in keys:
            del self.store.rsvps[key]
        return len(keys)

    async def delete(self, seance_id: int, user: UserRef) -> None:
        self.store.rsvps.pop((seance_id, user), None)


class _Live:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _last(self, found: list[LiveMessage]) -> LiveMessage | None:
        return copy.deepcopy(max(found, key=lambda m: m.posted_at)) if found else None

    async def get(self, seance_id: int, kind: LiveKind) -> LiveMessage | None:
        return copy.deepcopy(self.store.live.get((seance_id, kind)))

    async def latest(self, circle_id: int, kind: LiveKind) -> LiveMessage | None:
        live = self.store.live.values()
        return self._last([m for m in live if m.circle_id == circle_id and m.kind is kind])

    async def find(self, circle_id: int, message_id: str) -> LiveMessage | None:
        live = self.store.live.values()
        return self._last(
            [m for m in live if m.circle_id == circle_id and m.message_id == message_id]
        )

    async def add(self, live: LiveMessage) -> None:
        self.store.live[(live.seance_id, live.kind)] = copy.deepcopy(live)

    async def replace(self, live: LiveMessage) -> None:
        await self.add(live)

    async def record(self, seance_id: int, kind: LiveKind, message_id: str) -> None:
        if (seance_id, kind) in self.store.live:
            self.store.live[(seance_id, kind)].message_id = message_id


class _Cases:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def for_circle(self, circle_id: int) -> list[CaseProposal]:
        found = [c for (cid, _), c in self.store.cases.items() if cid == circle_id]
        return copy.deepcopy(sorted(found, key=lambda c: c.number))

    async def add(self, case: CaseProposal) -> None:
        numbers = [n for (cid, n) in self.store.cases if cid == case.circle_id]
        case.number = max(numbers, default=0) + 1
        self.store.cases[(case.circle_id, case.number)] = copy.deepcopy(case)

    async def update(self, case: CaseProposal) -> None:
        self.store.cases[(case.circle_id, case.number)] = copy.deepcopy(case)

    async def delete(self, circle_id: int, number: int) -> None:
        self.store.cases.pop((circle_id, number), None)


class _CaseVotes:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def get(self, circle_id: int) -> CaseVote | None:
        return copy.deepcopy(self.store.case_votes.get(circle_id))

    async def put(self, vote: CaseVote) -> None:
        self.store.case_votes[vote.circle_id] = copy.deepcopy(vote)

    async def pending(self, partition: Partition = EVERYTHING) -> list[tuple[int, datetime]]:
        found = [
            (v.circle_id, v.closes_at)
            for v in self.store.case_votes.values()
            if v.closed_at is None
            and v.closes_at is not None
            and (c := self.store.circles.get(v.circle_id)) is not None
            and c.owned_by(partition)
        ]
        return sorted(found, key=lambda f: f[1])

    async def claim(self, circle_id: int, now: datetime, claimer: str) -> bool:
        vote = self.store.case_votes.get(circle_id)
        if vote is None or vote.closed_at is not None or vote.closes_at is None:
            return False
        if vote.closes_at > now:
            return False
        vote.closed_at, vote.claimed_by = now, claimer
        return True


class MemoryUnitOfWork:
    def __init__(self, owner: MemoryDatabase) -> None:
        self._owner = owner
        self._work = copy.deepcopy(owner.store)
        self._bind()

    def _bind(self) -> None:
        self.circles = _Circles(self._work)
        self.seances = _Seances(self._work)
        self.items = _Items(self._work)
        self.prompts = _Prompts(self._work)
        self.outbox = _Outbox(self._work)
        self.handled = _Handled(self._work)
        self.answers = _Answers(self._work)
        self.rsvps = _Rsvps(self._work)
        self.cases = _Cases(self._work)
        self.case_votes = _CaseVotes(self._work)
        self.live = _Live(self._work)

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
        self._bind()

    async def rollback(self) -> None:
        self._work = copy.deepcopy(self._owner.store)
        self._bind()

    def erase_traces(self) -> None:
        return None


class MemoryDatabase:
    """A unit-of-work factory over one in-memory store."""

    def __init__(self) -> None:
        self.store = MemoryStore()

    def __call__(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)
