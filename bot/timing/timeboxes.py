"""Time boxes: what must happen at an instant (warn a speaker, end a turn, end a phase).

The core answers "what is due at T" (bot/timing/deadlines.py); a scheduler wakes it at the
séance's next deadline (the console's simulated clock or APScheduler on real time). Due events
are applied in order at their own instants, so moving a clock by an hour gives the same
result as living it.

Each séance's time boxes run in their own unit of work: one that fails is logged, counted and
tried again a minute later a bounded number of times; other séances are not held back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.commands.context import Context
from bot.domain.protocol import PhaseMode, ProtocolBook
from bot.domain.seance import Seance
from bot.effects import Effect, Reply
from bot.errors import again_on_conflict
from bot.handlers.leancoffee import is_topic, time_up
from bot.handlers.seance import enter_phase, next_protocol_phase
from bot.locks import KeyedLocks
from bot.outbox import record
from bot.ports import Scheduler, Translator, UnitOfWorkFactory
from bot.timing.deadlines import WARNING_SHARE, Due, TimeboxKind, pending
from bot.timing.schedule import TIMEBOX_GRACE, apply_wakeups, note_timebox, nudge_of, timebox_key
from bot.views.status import status_view
from bot.views.wording import floor_messages, phase_title
from bot.voice import floor_speaker

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a séance whose time boxes fail this many times in a row waits for a command
RETRY_AFTER = timedelta(minutes=1)
FAILURES_KEPT = 1000


class TimeKeeper:
    """Applies the due time box events of an open séance, when the scheduler wakes it."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        translator: Translator,
        protocols: ProtocolBook,
        locks: KeyedLocks,
        scheduler: Scheduler,
    ) -> None:
        self._uow_factory = uow_factory
        self._tr = translator
        self._protocols = protocols
        self._locks = locks
        self._scheduler = scheduler
        self.failed = 0  # attempts that raised (each one logged)
        self._failures: dict[int, int] = {}  # séance id -> failed attempts in a row

    async def run_seance(self, seance_id: int, now: datetime) -> list[Effect]:
        """Apply, in order and each at its own instant, every event of the séance due by `now`
        (again on fresh data if another instance changed the séance meanwhile: what it already
        applied is then not applied twice)."""
        try:
            effects = await again_on_conflict(lambda: self._run_seance(seance_id, now))
        except Exception:
            self.failed += 1
            attempts = self._failures[seance_id] = self._failures.get(seance_id, 0) + 1
            log.exception(
                "time boxes of seance %s failed (attempt %d of %d)", seance_id, attempts, ATTEMPTS
            )
            if attempts < ATTEMPTS:
                self._scheduler.wake_at(timebox_key(seance_id), now + RETRY_AFTER, TIMEBOX_GRACE)
            else:
                del self._failures[seance_id]
            while len(self._failures) > FAILURES_KEPT:  # séances closed since they failed
                del self._failures[next(iter(self._failures))]
            return []
        self._failures.pop(seance_id, None)
        return effects

    async def _run_seance(self, seance_id: int, now: datetime) -> list[Effect]:
        async with self._uow_factory() as uow:
            channel = await uow.seances.channel_of(seance_id)
            await uow.commit()
        if channel is None:
            return []
        async with self._locks.hold(channel.key), self._uow_factory() as uow:
            seance = await uow.seances.get(seance_id)
            circle = await uow.circles.get(seance.circle_id) if seance else None
            if circle is None or seance is None:
                return []
            ctx = Context.for_system(uow, circle, now, self._tr, self._protocols, seance)
            nudge = nudge_of(circle.settings)
            while seance.is_open and (events := pending(seance, nudge)) and events[0].at <= now:
                ctx.now = events[0].at
                await self._apply(ctx, seance, events[0])
            ctx.now = now
            if ctx.effects:
                ctx.effects.append(status_view(self._tr, circle, seance, now))
                ctx.effects.extend(floor_speaker(circle, seance))
            note_timebox(ctx, seance)
            ctx.effects = await record(uow, ctx.effects, circle.home, circle.shard_key, now)
            await uow.commit()
        apply_wakeups(self._scheduler, ctx.wakeups)
        return ctx.effects

    async def _apply(self, ctx: Context, seance: Seance, due: Due) -> None:
        circle = ctx.require_circle()
        phase = seance.phase
        turn = seance.turn
        if due.kind is TimeboxKind.TURN_WARNING and turn is not None and phase is not None:
            turn.warned = True
            assert phase.turn_limit is not None
            left = phase.turn_limit * (1 - WARNING_SHARE)
            ctx.effects.append(
                Reply(
                    circle.channel,
                    ctx.t("timebox.turn_warning", left=self._tr.duration_text(ctx.lang, left)),
                    to=turn.user,
                    private=True,
                )
            )
        elif due.kind is TimeboxKind.TURN_NUDGE and turn is not None:
            turn.warned = True
            spoken = self._tr.span_text(ctx.lang, turn.elapsed(ctx.now, seance.paused_since))
            ctx.effects.append(
                Reply(
                    circle.channel,
                    ctx.t("timebox.turn_nudge", spoken=spoken),
                    to=turn.user,
                    private=True,
                )
            )
        elif due.kind is TimeboxKind.TURN_END and turn is not None and phase is not None:
            turn.overrun_notified = True
            if phase.mode is PhaseMode.ROUND and circle.settings.round_auto_advance:
                change = seance.time_out_turn(circle.settings.queue_order, ctx.now)
                ctx.effects.extend(floor_messages(self._tr, circle, seance, change, ctx.now))
            else:
                ctx.say("timebox.turn_over", name=circle.name_of(turn.user), mentions=(turn.user,))
        elif due.kind is TimeboxKind.PHASE_END and phase is not None:
            phase.end_notified = True
            if is_topic(phase):  # a Lean Coffee topic: the circle votes on more time
                await time_up(ctx, seance, phase)
                return
            title = phase_title(self._tr, ctx.lang, phase.key, phase.title)
            spec = next_protocol_phase(ctx, seance) if phase.index >= 0 else None
            if circle.settings.phase_auto_advance and spec is not None:
                ctx.say("timebox.phase_over_moving", title=title)
                await enter_phase(ctx, seance, spec, from_protocol=True)
            elif spec is not None:
                ctx.say("timebox.phase_over", title=title)
            else:
                ctx.say("timebox.last_phase_over", title=title)
