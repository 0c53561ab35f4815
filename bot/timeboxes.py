"""Time boxes: what must happen at an instant (warn a speaker, end a turn, end a phase).

The core only answers "what is due at T"; whatever drives time (the console's simulated clock,
the scheduler on real time) calls `TimeKeeper.run_due(now)`. Due events are applied in order at
their own instants, so moving a clock by an hour gives the same result as living through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.commands.context import Context
from bot.effects import Effect, Reply
from bot.handlers.seance import next_protocol_phase, start_phase
from bot.locks import KeyedLocks
from bot.ports import Translator, UnitOfWorkFactory
from bot.protocol import PhaseMode, ProtocolBook
from bot.refs import UserRef
from bot.roles import Role
from bot.seance import Seance
from bot.status import status_view
from bot.wording import floor_messages, phase_title

WARNING_SHARE = 0.8
SYSTEM = UserRef("system", "cercle")


class TimeboxKind(StrEnum):
    """The three things a time box can call for."""

    TURN_WARNING = "turn_warning"
    TURN_END = "turn_end"
    PHASE_END = "phase_end"


@dataclass(frozen=True, slots=True)
class Due:
    """One time box event and its instant."""

    kind: TimeboxKind
    at: datetime


def pending(seance: Seance) -> list[Due]:
    """Time box events still to come for an open séance, earliest first (none while paused)."""
    if not seance.is_open or seance.is_paused:
        return []
    out: list[Due] = []
    phase, turn = seance.phase, seance.turn
    if turn is not None and phase is not None and phase.turn_limit:
        base = turn.started_at + turn.paused
        if not turn.warned:
            out.append(Due(TimeboxKind.TURN_WARNING, base + phase.turn_limit * WARNING_SHARE))
        if not turn.overrun_notified:
            out.append(Due(TimeboxKind.TURN_END, base + phase.turn_limit))
    if phase is not None and phase.planned and not phase.end_notified:
        out.append(Due(TimeboxKind.PHASE_END, phase.started_at + phase.paused + phase.planned))
    out.sort(key=lambda d: d.at)
    return out


def next_deadline(seance: Seance) -> datetime | None:
    due = pending(seance)
    return due[0].at if due else None


class TimeKeeper:
    """Applies due time box events to every open séance."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        translator: Translator,
        protocols: ProtocolBook,
        locks: KeyedLocks,
    ) -> None:
        self._uow_factory = uow_factory
        self._tr = translator
        self._protocols = protocols
        self._locks = locks

    async def next_deadline(self) -> datetime | None:
        async with self._uow_factory() as uow:
            instants = [d for s in await uow.seances.all_open() if (d := next_deadline(s))]
        return min(instants, default=None)

    async def run_due(self, now: datetime) -> list[Effect]:
        async with self._uow_factory() as uow:
            due = [
                (s.id, s.circle_id)
                for s in await uow.seances.all_open()
                if (d := next_deadline(s)) is not None and d <= now
            ]
        effects: list[Effect] = []
        for seance_id, circle_id in due:
            effects.extend(await self._run_seance(seance_id, circle_id, now))
        return effects

    async def _run_seance(self, seance_id: int, circle_id: int, now: datetime) -> list[Effect]:
        async with self._uow_factory() as uow:
            circle = await uow.circles.get(circle_id)
            if circle is None:
                return []
        async with self._locks.hold(circle.channel.key), self._uow_factory() as uow:
            circle = await uow.circles.get(circle_id)
            seance = await uow.seances.get(seance_id)
            if circle is None or seance is None:
                return []
            ctx = Context(
                uow=uow,
                circle=circle,
                channel=circle.channel,
                author=SYSTEM,
                author_name="Cercle",
                role=Role.FACILITATOR,
                now=now,
                tr=self._tr,
                protocols=self._protocols,
                seance=seance,
            )
            while seance.is_open and (events := pending(seance)) and events[0].at <= now:
                ctx.now = events[0].at
                self._apply(ctx, seance, events[0])
            ctx.now = now
            ctx.effects.append(status_view(self._tr, circle, seance, now))
            await uow.commit()
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
