"""Keeping wake-ups in step with séances: prompt rows and the next time box of an open séance.

Handlers call these while they hold a séance; what to wake is collected on the context and
handed to the scheduler only after the transaction commits.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.commands.context import Context
from bot.domain.circle import CircleSettings
from bot.domain.prompts import (
    GRACE,
    OWN_SCHEDULE,
    Prompt,
    PromptKind,
    expected_length,
    wanted_prompts,
)
from bot.domain.seance import Seance
from bot.effects import Effect
from bot.handlers import live
from bot.ports import Scheduler, Wakeup
from bot.timing.deadlines import next_deadline

TIMEBOX_GRACE = timedelta(days=1)


def timebox_key(seance_id: int) -> str:
    return f"timebox:{seance_id}"


def nudge_of(settings: CircleSettings | None) -> timedelta | None:
    """The circle's long-turn nudge (the default where the circle is not at hand)."""
    minutes = (settings or CircleSettings()).nudge_minutes
    return timedelta(minutes=minutes) if minutes > 0 else None


def note_timebox(ctx: Context, seance: Seance) -> None:
    """Schedule (or cancel) the séance's next time box event."""
    deadline = next_deadline(seance, nudge_of(ctx.circle.settings if ctx.circle else None))
    key = timebox_key(seance.id)
    ctx.wakeups[key] = Wakeup(deadline, TIMEBOX_GRACE) if deadline else None


async def sync_prompts(ctx: Context, seance: Seance) -> None:
    """Make the séance's pending prompt rows match what its state calls for.

    A prompt whose instant has already passed is not created (planning a séance for tomorrow
    does not post a "day before" reminder now); one that moved into the past is removed. The
    preparation question is the exception: people need it whenever the séance is still ahead,
    so when its day has passed it goes out at once (`question_goes_now` says when)."""
    circle = ctx.require_circle()
    length = expected_length(ctx.protocols.get(seance.protocol))
    wanted = wanted_prompts(seance, circle.settings, length)
    if question_goes_now(ctx, seance, wanted):
        wanted[PromptKind.PREPARATION] = ctx.now + _AT_ONCE
    existing = {p.kind: p for p in await ctx.uow.prompts.for_seance(seance.id)}
    for kind, prompt in existing.items():
        if not prompt.pending or kind in OWN_SCHEDULE:
            continue
        due = wanted.get(kind)
        if due is None or due <= ctx.now:
            await ctx.uow.prompts.delete(prompt.id)
            ctx.wakeups[prompt.key] = None
        elif due != prompt.due_at:
            await ctx.uow.prompts.reschedule(prompt.id, due)
            ctx.wakeups[prompt.key] = Wakeup(due, GRACE[kind])
    for kind, due in wanted.items():
        if kind in existing or due <= ctx.now:
            continue
        prompt = Prompt(id=0, seance_id=seance.id, circle_id=circle.id, kind=kind, due_at=due)
        await ctx.uow.prompts.add(prompt)
        ctx.wakeups[prompt.key] = Wakeup(due, GRACE[kind])
    # moved, opened or cancelled: its RSVP question, if posted, says so (and takes no answers)
    await live.refresh_rsvp(ctx, seance)


# "At once" is a tick after now, so that a prompt row written now is due, not already past.
_AT_ONCE = timedelta(seconds=1)


def question_goes_now(ctx: Context, seance: Seance, wanted: dict[PromptKind, datetime]) -> bool:
    """The preparation question's day has passed but the séance is still ahead."""
    due = wanted.get(PromptKind.PREPARATION)
    start = seance.planned_at
    return due is not None and start is not None and due <= ctx.now < start


def apply_wakeups(scheduler: Scheduler, wakeups: dict[str, Wakeup | None]) -> None:
    for key, wakeup in wakeups.items():
        if wakeup is None:
            scheduler.cancel(key)
        else:
            scheduler.wake_at(key, wakeup.at, wakeup.grace)


WakeHandler = Callable[[str, datetime], Awaitable[list[Effect]]]


@dataclass(slots=True)
class ManualScheduler:
    """A scheduler on a simulated clock: `advance_to(t)` wakes every due key in time order.

    Used by the console's scripts and by tests; production uses APScheduler on real time."""

    handler: WakeHandler | None = None
    _jobs: dict[str, datetime] = field(default_factory=dict)
    _heap: list[tuple[datetime, int, str]] = field(default_factory=list)
    _counter: int = 0

    def wake_at(self, key: str, at: datetime, grace: timedelta) -> None:
        if self._jobs.get(key) == at:
            return  # already waiting in the heap for that instant
        self._jobs[key] = at
        self._counter += 1
        heapq.heappush(self._heap, (at, self._counter, key))
        if len(self._heap) > 2 * len(self._jobs) + 64:
            # moved and cancelled keys leave entries behind: drop them, so that a séance whose
            # time box moves at every command does not grow the heap until its time comes
            self._heap = [entry for entry in self._heap if self._jobs.get(entry[2]) == entry[0]]
            heapq.heapify(self._heap)

    def cancel(self, key: str) -> None:
        self._jobs.pop(key, None)

    def jobs(self) -> dict[str, datetime]:
        return dict(self._jobs)

    async def advance_to(self, now: datetime) -> list[Effect]:
        """Wake every key due by `now`, each at its own instant, including keys added meanwhile."""
        assert self.handler is not None, "ManualScheduler has no handler"
        effects: list[Effect] = []
        while self._heap and self._heap[0][0] <= now:
            at, _, key = heapq.heappop(self._heap)
            if self._jobs.get(key) != at:
                continue  # cancelled or moved
            del self._jobs[key]
            effects.extend(await self.handler(key, at))
        return effects
