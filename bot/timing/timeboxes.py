"""Time boxes: what must happen at an instant (warn a speaker, end a turn, end a phase).

The core answers "what is due at T" (bot/timing/deadlines.py); a scheduler wakes it at the
séance's next deadline (the console's simulated clock or APScheduler on real time). Due events
are applied in order at their own instants, so moving a clock by an hour gives the same
result as living it.
"""

from __future__ import annotations

from datetime import datetime

from bot.commands.context import Context
from bot.domain.protocol import PhaseMode, ProtocolBook
from bot.domain.seance import Seance
from bot.effects import Effect, Reply
from bot.errors import again_on_conflict
from bot.handlers.seance import next_protocol_phase, start_phase
from bot.locks import KeyedLocks
from bot.ports import Scheduler, Translator, UnitOfWorkFactory
from bot.timing.deadlines import WARNING_SHARE, Due, TimeboxKind, pending
from bot.timing.schedule import apply_wakeups, note_timebox, nudge_of
from bot.views.status import status_view
from bot.views.wording import floor_messages, phase_title


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

    async def run_seance(self, seance_id: int, now: datetime) -> list[Effect]:
        """Apply, in order and each at its own instant, every event of the séance due by `now`
        (again on fresh data if another instance changed the séance meanwhile: what it already
        applied is then not applied twice)."""
        return await again_on_conflict(lambda: self._run_seance(seance_id, now))

    async def _run_seance(self, seance_id: int, now: datetime) -> list[Effect]:
        async with self._uow_factory() as uow:
            seance = await uow.seances.get(seance_id)
            circle = await uow.circles.get(seance.circle_id) if seance else None
            if seance is None or circle is None:
                return []
            channel_key, circle_id = circle.channel.key, circle.id
            await uow.commit()  # nothing to write; keeps what it loaded cached
        async with self._locks.hold(channel_key), self._uow_factory() as uow:
            circle = await uow.circles.get(circle_id)
            seance = await uow.seances.get(seance_id)
            if circle is None or seance is None:
                return []
            ctx = Context.for_system(uow, circle, now, self._tr, self._protocols, seance)
            nudge = nudge_of(circle.settings)
            while seance.is_open and (events := pending(seance, nudge)) and events[0].at <= now:
                ctx.now = events[0].at
                self._apply(ctx, seance, events[0])
            ctx.now = now
            if ctx.effects:
                ctx.effects.append(status_view(self._tr, circle, seance, now))
            note_timebox(ctx, seance)
            await uow.commit()
        apply_wakeups(self._scheduler, ctx.wakeups)
        return ctx.effects

    def _apply(self, ctx: Context, seance: Seance, due: Due) -> None:
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
            title = phase_title(self._tr, ctx.lang, phase.key, phase.title)
            spec = next_protocol_phase(ctx, seance) if phase.index >= 0 else None
            if circle.settings.phase_auto_advance and spec is not None:
                ctx.say("timebox.phase_over_moving", title=title)
                start_phase(ctx, seance, spec, from_protocol=True)
            elif spec is not None:
                ctx.say("timebox.phase_over", title=title)
            else:
                ctx.say("timebox.last_phase_over", title=title)
