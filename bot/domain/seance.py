"""A séance and who has the floor: phases, speaking turns, the queue, the round, attendance.

Every method that changes state takes the instant `now` and checks before it changes anything,
so a refused call leaves the séance as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.circle import QueueOrder
from bot.domain.protocol import PhaseMode, PhaseSpec
from bot.domain.refs import UserRef
from bot.errors import Refusal

ZERO = timedelta(0)


class SeanceStatus(StrEnum):
    """Where a séance is in its life: planned → open → closed, or cancelled; a séance closed
    with nobody there (or marked so by the facilitation) was not held."""

    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    NOT_HELD = "not_held"


class AttendanceStatus(StrEnum):
    """Attendance of one member at one séance."""

    PRESENT = "present"
    EXCUSED = "excused"
    ABSENT = "absent"


class TurnOutcome(StrEnum):
    """How a speaking turn ended."""

    FINISHED = "finished"  # the speaker said /fini
    NEXT = "next"  # a facilitator said /suivant
    TIMEOUT = "timeout"  # the turn's time box ran out
    PASSED = "passed"  # the speaker passed
    PHASE_END = "phase_end"
    SEANCE_END = "seance_end"


@dataclass(slots=True)
class PhaseRun:
    """A phase as it happened in this séance (from the protocol or started ad hoc)."""

    index: int
    key: str
    mode: PhaseMode
    started_at: datetime
    planned: timedelta | None = None
    turn_limit: timedelta | None = None
    title: str | None = None
    speaker: UserRef | None = None  # the named speaker of a single-speaker phase
    ended_at: datetime | None = None
    paused: timedelta = ZERO
    end_notified: bool = False

    def elapsed(self, now: datetime, paused_since: datetime | None) -> timedelta:
        end = self.ended_at or paused_since or now
        return max(ZERO, end - self.started_at - self.paused)


@dataclass(frozen=True, slots=True)
class TurnCorrection:
    """A facilitator's correction of a turn's length (a forgotten `/fini`), kept with who made
    it and when, so the recap's figures stay facts one can trace."""

    length: timedelta
    by: UserRef
    at: datetime


@dataclass(slots=True)
class Turn:
    """One person holding the floor once."""

    seq: int
    user: UserRef
    phase_index: int
    started_at: datetime
    ended_at: datetime | None = None
    paused: timedelta = ZERO
    outcome: TurnOutcome | None = None
    warned: bool = False
    overrun_notified: bool = False
    corrected: TurnCorrection | None = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def elapsed(self, now: datetime, paused_since: datetime | None) -> timedelta:
        if self.corrected is not None:
            return self.corrected.length
        end = self.ended_at or paused_since or now
        return max(ZERO, end - self.started_at - self.paused)


@dataclass(slots=True)
class QueueEntry:
    """A raised hand: who, in which order they arrived, and why (optional)."""

    user: UserRef
    arrival: int
    motive: str | None = None


@dataclass(slots=True)
class CheckIn:
    """The word someone chose to share in the check-in round (`/meteo calme`): opt-in."""

    word: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FloorChange:
    """What happened to the floor after a command or a time box."""

    ended: Turn | None = None
    started: Turn | None = None
    round_complete: bool = False


class TurnRequestResult(StrEnum):
    """The answer to `/tour`."""

    GOT_FLOOR = "got_floor"
    QUEUED = "queued"
    ALREADY_QUEUED = "already_queued"
    ALREADY_SPEAKING = "already_speaking"
    IN_ROUND = "in_round"  # already has a place in the running round
    WAIT_NEXT_PHASE = "wait_next_phase"


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """`/tour`'s result with the position in the queue or round, when there is one."""

    result: TurnRequestResult
    position: int | None = None
    floor: FloorChange = FloorChange()


class PassResult(StrEnum):
    """The answer to `/passe`."""

    PASSED_TURN = "passed_turn"
    LEFT_QUEUE = "left_queue"
    LEFT_ROUND = "left_round"


@dataclass(slots=True)
class Seance:
    """One meeting of a circle; the aggregate for everything that happens during it."""

    id: int
    circle_id: int
    number: int
    protocol: str
    status: SeanceStatus = SeanceStatus.PLANNED
    planned_at: datetime | None = None
    subject: str | None = None
    prep_question: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    phases: list[PhaseRun] = field(default_factory=list)
    next_protocol_phase: int = 0
    turns: list[Turn] = field(default_factory=list)
    queue: list[QueueEntry] = field(default_factory=list)
    round_order: list[UserRef] = field(default_factory=list)
    round_pending: list[UserRef] = field(default_factory=list)
    case_owner: UserRef | None = None
    attendance: dict[UserRef, AttendanceStatus] = field(default_factory=dict)
    excuse_reasons: dict[UserRef, str] = field(default_factory=dict)  # for facilitators only
    paused_since: datetime | None = None
    arrivals: int = 0
    status_message_id: str | None = None
    checkins: dict[UserRef, CheckIn] = field(default_factory=dict)
    recap_published_at: datetime | None = None  # None while closed: awaiting approval
    native_event_id: str | None = None  # the platform's own event for it (Discord's events)
    topic_vote: dict[UserRef, bool] | None = None  # thumbs on extending a topic (Lean Coffee)

    # -- reading -------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.status is SeanceStatus.OPEN

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None

    @property
    def phase(self) -> PhaseRun | None:
        if self.phases and self.phases[-1].ended_at is None:
            return self.phases[-1]
        return None

    @property
    def turn(self) -> Turn | None:
        if self.turns and self.turns[-1].is_open:
            return self.turns[-1]
        return None

    @property
    def speaker(self) -> UserRef | None:
        turn = self.turn
        return turn.user if turn else None

    def spoken(self, user: UserRef, now: datetime) -> timedelta:
        """Speaking time of `user` in this séance (time spent before passing counts too)."""
        return sum((t.elapsed(now, self.paused_since) for t in self.turns if t.user == user), ZERO)

    def speaking_times(self, now: datetime) -> dict[UserRef, tuple[timedelta, int]]:
        """Per person: total speaking time and number of turns (a pass is not a turn)."""
        totals: dict[UserRef, tuple[timedelta, int]] = {}
        for t in self.turns:
            spent, count = totals.get(t.user, (ZERO, 0))
            counted = 0 if t.outcome is TurnOutcome.PASSED else 1
            totals[t.user] = (spent + t.elapsed(now, self.paused_since), count + counted)
        return totals

    def ordered_queue(self, order: QueueOrder, now: datetime) -> list[QueueEntry]:
        if order is QueueOrder.ARRIVAL:
            return sorted(self.queue, key=lambda e: e.arrival)
        waiting = {e.user for e in self.queue}
        spoken: dict[UserRef, timedelta] = {}
        for t in self.turns:  # one pass: a queue of hundreds is sorted on every command
            if t.user in waiting:
                spoken[t.user] = spoken.get(t.user, ZERO) + t.elapsed(now, self.paused_since)
        if not spoken:
            return sorted(self.queue, key=lambda e: e.arrival)
        return sorted(self.queue, key=lambda e: (spoken.get(e.user, ZERO), e.arrival))

    def queue_position(self, user: UserRef, order: QueueOrder, now: datetime) -> int | None:
        for i, entry in enumerate(self.ordered_queue(order, now), start=1):
            if entry.user == user:
                return i
        return None

    def queue_positions(self, order: QueueOrder, now: datetime) -> dict[UserRef, int]:
        """Everyone's place in the queue, from 1, from one sort (not one sort per person)."""
        return {e.user: i for i, e in enumerate(self.ordered_queue(order, now), start=1)}

    def round_position(self, user: UserRef) -> int | None:
        if user in self.round_pending:
            return self.round_pending.index(user) + 1
        return None

    def waiting(self, order: QueueOrder, now: datetime) -> list[UserRef]:
        """Who will get the floor next, in order, for the current phase."""
        phase = self.phase
        if phase is None:
            return []
        if phase.mode is PhaseMode.ROUND:
            return list(self.round_pending)
        if phase.mode is PhaseMode.SINGLE:
            return []
        return [e.user for e in self.ordered_queue(order, now)]

    def in_checkin_round(self) -> bool:
        """Whether the running phase is the séance's check-in round: its first round phase."""
        phase = self.phase
        if phase is None or phase.mode is not PhaseMode.ROUND:
            return False
        return all(p.mode is not PhaseMode.ROUND for p in self.phases[: phase.index])

    @property
    def recap_pending(self) -> bool:
        """Closed, and its recap not yet published (approval mode)."""
        return self.status is SeanceStatus.CLOSED and self.recap_published_at is None

    def present(self) -> set[UserRef]:
        return {u for u, s in self.attendance.items() if s is AttendanceStatus.PRESENT}

    # -- opening, phases, closing --------------------------------------------------------------

    def open(self, now: datetime) -> None:
        if self.status is not SeanceStatus.PLANNED:
            raise Refusal("seance.not_planned", number=self.number)
        self.status = SeanceStatus.OPEN
        self.opened_at = now

    def start_phase(
        self,
        spec: PhaseSpec,
        now: datetime,
        order: QueueOrder,
        roster_order: Iterable[UserRef],
        *,
        from_protocol: bool,
        speaker: UserRef | None = None,
    ) -> FloorChange:
        """End the running phase (and turn) and start `spec`; give the floor if someone waits."""
        self._require_open()
        if self.is_paused:
            raise Refusal("seance.paused")
        ended = self._end_turn(TurnOutcome.PHASE_END, now)
        if (current := self.phase) is not None:
            current.ended_at = now
        if from_protocol:
            self.next_protocol_phase += 1
        run = PhaseRun(
            index=len(self.phases),
            key=spec.key,
            mode=spec.mode,
            started_at=now,
            planned=spec.duration,
            turn_limit=spec.turn_limit,
            title=spec.title,
            speaker=(speaker or self.case_owner) if spec.mode is PhaseMode.SINGLE else None,
        )
        self.phases.append(run)
        self.round_order = []
        self.round_pending = []
        if spec.mode is PhaseMode.ROUND:
            present = self.present()
            self.round_order = [u for u in roster_order if u in present]
            self.round_pending = list(self.round_order)
        started = self._give_floor_if_free(order, now)
        return FloorChange(ended=ended, started=started.started if started else None)

    def lower_hands(self) -> list[UserRef]:
        """The running open-floor phase is ending: the hands raised in it lapse, because they
        were raised about what was being said then. Returns their owners in arrival order.

        Hands raised during a round, a single-speaker phase or before the first phase were
        promised the next open floor (`TurnRequestResult.WAIT_NEXT_PHASE`) and stay."""
        phase = self.phase
        if phase is None or phase.mode is not PhaseMode.QUEUE or not self.queue:
            return []
        lowered = [e.user for e in sorted(self.queue, key=lambda e: e.arrival)]
        self.queue = []
        return lowered

    def raise_hand(self, user: UserRef, motive: str | None = None) -> None:
        """Put `user` in the queue, for the next open floor (nothing if already there)."""
        if not any(e.user == user for e in self.queue):
            self.arrivals += 1
            self.queue.append(QueueEntry(user, self.arrivals, motive))

    def withdraw_hand(self, user: UserRef) -> bool:
        """Take `user`'s raised hand out of the queue; whether there was one."""
        before = len(self.queue)
        self.queue = [e for e in self.queue if e.user != user]
        return len(self.queue) != before

    def close(self, now: datetime, roster: Iterable[UserRef]) -> Turn | None:
        self._require_open()
        if self.is_paused:
            self.resume(now)
        ended = self._end_turn(TurnOutcome.SEANCE_END, now)
        if (current := self.phase) is not None:
            current.ended_at = now
        for user in roster:
            self.attendance.setdefault(user, AttendanceStatus.ABSENT)
        self.queue = []
        self.round_order = []
        self.round_pending = []
        self.status = SeanceStatus.CLOSED
        self.closed_at = now
        return ended

    def last_activity(self) -> datetime | None:
        """When something last happened on the floor: a phase or turn began or ended."""
        moments = [self.opened_at] if self.opened_at else []
        for run in self.phases:
            moments.extend(m for m in (run.started_at, run.ended_at) if m)
        for turn in self.turns:
            moments.extend(m for m in (turn.started_at, turn.ended_at) if m)
        return max(moments, default=None)

    def mark_not_held(self) -> None:
        """Nobody was there after all: no recap, no absences, not counted in the cycle."""
        if self.status is not SeanceStatus.CLOSED:
            raise Refusal("seance.not_closed_yet", number=self.number)
        self.status = SeanceStatus.NOT_HELD
        self.attendance = {
            u: s for u, s in self.attendance.items() if s is not AttendanceStatus.ABSENT
        }

    def cancel(self) -> None:
        if self.status not in (SeanceStatus.PLANNED, SeanceStatus.OPEN):
            raise Refusal("seance.not_cancellable", number=self.number)
        self.status = SeanceStatus.CANCELLED
        self.queue = []
        self.round_order = []
        self.round_pending = []

    def pause(self, now: datetime) -> None:
        self._require_open()
        if self.is_paused:
            raise Refusal("seance.already_paused")
        self.paused_since = now

    def resume(self, now: datetime) -> None:
        self._require_open()
        if self.paused_since is None:
            raise Refusal("seance.not_paused")
        delta = now - self.paused_since
        if (turn := self.turn) is not None:
            turn.paused += delta
        if (phase := self.phase) is not None:
            phase.paused += delta
        self.paused_since = None

    # -- attendance ----------------------------------------------------------------------------

    def mark_present(self, user: UserRef, order: QueueOrder, now: datetime) -> FloorChange | None:
        """Record `user` as present; a late arrival joins the end of a running round.

        Returns None if they were already present, else what happened to the floor."""
        if self.attendance.get(user) is AttendanceStatus.PRESENT:
            return None
        self.attendance[user] = AttendanceStatus.PRESENT
        self.excuse_reasons.pop(user, None)
        phase = self.phase
        in_round = self.is_open and phase is not None and phase.mode is PhaseMode.ROUND
        if in_round and user not in self.round_order:
            self.round_order.append(user)
            self.round_pending.append(user)
            return self._give_floor_if_free(order, now) or FloorChange()
        return FloorChange()

    def excuse(self, user: UserRef, reason: str | None = None) -> None:
        if self.status in (SeanceStatus.CLOSED, SeanceStatus.CANCELLED):
            raise Refusal("seance.not_excusable", number=self.number)
        if self.speaker == user or user in self.round_pending:
            raise Refusal("attendance.excuse_while_taking_part")
        self.attendance[user] = AttendanceStatus.EXCUSED
        if reason:
            self.excuse_reasons[user] = reason
        self.queue = [e for e in self.queue if e.user != user]

    # -- the floor -----------------------------------------------------------------------------

    def request_turn(
        self, user: UserRef, motive: str | None, order: QueueOrder, now: datetime
    ) -> TurnRequest:
        self._require_open()
        phase = self.phase
        if phase is None:  # before the first phase: the hand is raised for when the floor opens
            if not any(e.user == user for e in self.queue):
                self.arrivals += 1
                self.queue.append(QueueEntry(user, self.arrivals, motive or None))
            return TurnRequest(TurnRequestResult.WAIT_NEXT_PHASE)
        if self.speaker == user:
            return TurnRequest(TurnRequestResult.ALREADY_SPEAKING)
        if phase.mode is PhaseMode.ROUND and user in self.round_pending:
            return TurnRequest(TurnRequestResult.IN_ROUND, self.round_position(user))
        if phase.mode is PhaseMode.SINGLE and user == phase.speaker:
            if self.turn is None and not self.is_paused:
                turn = self._start_turn(user, now)
                return TurnRequest(TurnRequestResult.GOT_FLOOR, floor=FloorChange(started=turn))
            return TurnRequest(TurnRequestResult.ALREADY_QUEUED)
        if any(e.user == user for e in self.queue):
            return TurnRequest(
                TurnRequestResult.ALREADY_QUEUED, self.queue_position(user, order, now)
            )
        self.arrivals += 1
        self.queue.append(QueueEntry(user, self.arrivals, motive or None))
        if phase.mode is not PhaseMode.QUEUE:
            return TurnRequest(TurnRequestResult.WAIT_NEXT_PHASE)
        change = self._give_floor_if_free(order, now)
        if change and change.started and change.started.user == user:
            return TurnRequest(TurnRequestResult.GOT_FLOOR, floor=change)
        return TurnRequest(TurnRequestResult.QUEUED, self.queue_position(user, order, now))

    def pass_turn(
        self, user: UserRef, order: QueueOrder, now: datetime
    ) -> tuple[PassResult, FloorChange]:
        self._require_phase()
        if self.speaker == user:
            ended = self._end_turn(TurnOutcome.PASSED, now)
            change = self._give_floor_if_free(order, now)
            return PassResult.PASSED_TURN, self._merge(ended, change)
        if any(e.user == user for e in self.queue):
            self.queue = [e for e in self.queue if e.user != user]
            return PassResult.LEFT_QUEUE, FloorChange()
        if user in self.round_pending:
            self.round_pending.remove(user)
            return PassResult.LEFT_ROUND, FloorChange()
        raise Refusal("turn.nothing_to_pass")

    def finish(self, user: UserRef, order: QueueOrder, now: datetime) -> FloorChange:
        self._require_phase()
        if self.speaker != user:
            mine = [t for t in self.turns if t.user == user]
            if mine and mine[-1].outcome is TurnOutcome.TIMEOUT:
                raise Refusal("turn.time_was_up")
            raise Refusal("turn.not_speaking")
        ended = self._end_turn(TurnOutcome.FINISHED, now)
        return self._merge(ended, self._give_floor_if_free(order, now))

    def next_speaker(self, order: QueueOrder, now: datetime) -> FloorChange:
        """A facilitator ends the current turn (if any) and gives the floor to the next."""
        self._require_phase()
        if self.is_paused:
            raise Refusal("seance.paused")
        if self.turn is None and not self.waiting(order, now):
            raise Refusal("turn.nobody_waiting")
        ended = self._end_turn(TurnOutcome.NEXT, now)
        return self._merge(ended, self._give_floor_if_free(order, now))

    def time_out_turn(self, order: QueueOrder, now: datetime) -> FloorChange:
        """The current turn's time box ran out (round mode moves on by itself)."""
        ended = self._end_turn(TurnOutcome.TIMEOUT, now)
        return self._merge(ended, self._give_floor_if_free(order, now))

    def give_floor_if_free(self, order: QueueOrder, now: datetime) -> FloorChange:
        return self._give_floor_if_free(order, now) or FloorChange()

    # -- internals -----------------------------------------------------------------------------

    def _require_open(self) -> None:
        if not self.is_open:
            raise Refusal("seance.none_open")

    def _require_phase(self) -> PhaseRun:
        self._require_open()
        phase = self.phase
        if phase is None:
            raise Refusal("seance.no_phase")
        return phase

    def _start_turn(self, user: UserRef, now: datetime) -> Turn:
        """Give `user` the floor; whoever speaks is never also waiting, in any mode."""
        phase = self._require_phase()
        self.queue = [e for e in self.queue if e.user != user]
        if user in self.round_pending:
            self.round_pending.remove(user)
        seq = self.turns[-1].seq + 1 if self.turns else 1
        turn = Turn(seq=seq, user=user, phase_index=phase.index, started_at=now)
        self.turns.append(turn)
        return turn

    def _end_turn(self, outcome: TurnOutcome, now: datetime) -> Turn | None:
        turn = self.turn
        if turn is None:
            return None
        if self.paused_since is not None:
            turn.paused += now - self.paused_since
            if (phase := self.phase) is not None:
                phase.paused += now - self.paused_since
            self.paused_since = now
        turn.ended_at = now
        turn.outcome = outcome
        return turn

    def _give_floor_if_free(self, order: QueueOrder, now: datetime) -> FloorChange | None:
        phase = self.phase
        if phase is None or self.turn is not None or self.is_paused:
            return None
        if phase.mode is PhaseMode.QUEUE:
            ordered = self.ordered_queue(order, now)
            if not ordered:
                return None
            nxt = ordered[0]
            self.queue = [e for e in self.queue if e.user != nxt.user]
            return FloorChange(started=self._start_turn(nxt.user, now))
        if phase.mode is PhaseMode.ROUND:
            if not self.round_pending:
                return None
            user = self.round_pending.pop(0)
            self.queue = [e for e in self.queue if e.user != user]
            return FloorChange(started=self._start_turn(user, now))
        if phase.speaker is not None and not any(t.phase_index == phase.index for t in self.turns):
            return FloorChange(started=self._start_turn(phase.speaker, now))
        return None

    def _merge(self, ended: Turn | None, change: FloorChange | None) -> FloorChange:
        started = change.started if change else None
        phase = self.phase
        round_complete = (
            phase is not None
            and phase.mode is PhaseMode.ROUND
            and ended is not None
            and started is None
            and not self.round_pending
        )
        return FloorChange(ended=ended, started=started, round_complete=round_complete)


@dataclass(frozen=True, slots=True)
class SeanceSummary:
    """A séance's number, status and dates without its floor (phases, turns, attendance): what
    planning checks, `/excuse`, listings and suggestions read, light enough to read them all."""

    id: int
    circle_id: int
    number: int
    status: SeanceStatus
    planned_at: datetime | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    subject: str | None = None
    prep_question: str | None = None
    recap_published_at: datetime | None = None

    @classmethod
    def of(cls, seance: Seance) -> SeanceSummary:
        return cls(
            seance.id,
            seance.circle_id,
            seance.number,
            seance.status,
            seance.planned_at,
            seance.opened_at,
            seance.closed_at,
            seance.subject,
            seance.prep_question,
            seance.recap_published_at,
        )

    @property
    def is_open(self) -> bool:
        return self.status is SeanceStatus.OPEN

    @property
    def recap_pending(self) -> bool:
        return self.status is SeanceStatus.CLOSED and self.recap_published_at is None


@dataclass(frozen=True, slots=True)
class SeanceTrail:
    """What a closed séance leaves for the drift notes: who came and who spoke (a pass is not
    speaking). Read for the last few séances after each one, without loading their floor."""

    number: int
    attendance: Mapping[UserRef, AttendanceStatus]
    speakers: frozenset[UserRef]

    @classmethod
    def of(cls, seance: Seance) -> SeanceTrail:
        spoke = frozenset(t.user for t in seance.turns if t.outcome is not TurnOutcome.PASSED)
        return cls(seance.number, dict(seance.attendance), spoke)
