"""Whatever people type and however the clock moves, the floor stays consistent.

A hypothesis state machine drives the core through `Chat` on an in-memory store: random
commands from random people (facilitators and participants, including garbage) and clock jumps
that apply the time boxes. After every step it reads the open séance back from the store and
checks the floor's invariants; after every refused command it checks that the store did not
change and that the author alone got one private answer.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.app import CercleCore
from bot.domain.seance import Seance, TurnOutcome
from bot.effects import Reply
from bot.i18n.catalog import CatalogTranslator
from bot.timing.clock import ManualClock
from tests.conversation import START, Chat, start_circle, user
from tests.fakes import MemoryDatabase

T = TypeVar("T")

FACILITATORS = ("anim", "co")
PARTICIPANTS = ("alice", "bob", "carla", "dan")
PEOPLE = FACILITATORS + PARTICIPANTS
STRANGER = "inconnu"  # never says anything, so never a member

STEERING = ("/suivant", "/seance pause", "/seance reprendre", "/seance reprise")

FACILITATOR_ONLY = (
    "/suivant",
    "/seance pause",
    "/seance reprendre",
    "/seance phase suivante",
    "/seance phase libre",
    "/seance phase tour",
    "/seance phase unique @alice",
    "/seance cas @bob",
)

GARBAGE = (
    "/danse",
    "bonjour",
    "/",
    "/passe maintenant",
    "/fini merci",
    "/suivant @alice",
    "/present ici",
    "/file longue",
    "/seance",
    "/seance nimporte",
    "/seance phase",
    "/seance phase demain",
    "/seance phase unique",
    "/seance phase libre @",
    "/seance cas",
    "/seance cas alice",
    "/seance cas @alice @bob",
    "/seance pause maintenant",
    "/excuse deux",
    "/excuse 99",
    "/excuse 1",
    "/note",
    "/note    ",
    "/note " + "x" * 1001,
    "/tour " + "x" * 5000,
    "/cercle",
    "/cercle creer Autre",
    "/cercle animateur",
    "/aide",
    "/aide tour",
)

# Simulated time stays under a day: the séance is neither auto-closed (grace set to 24 h
# below) nor followed up; time boxes are minutes to an hour.
LONGEST_WAIT = 3600
CLOCK_BUDGET = 20 * 3600 - LONGEST_WAIT

people = st.sampled_from(PEOPLE)
facilitators = st.sampled_from(FACILITATORS)
mentionable = st.sampled_from((*PEOPLE, STRANGER))


@functools.cache
def shared_translator() -> CatalogTranslator:
    """The catalogs are only read: load them once, not once per example."""
    return CatalogTranslator()


def raw_elapsed(seance: Seance, index: int, now: datetime) -> timedelta:
    """A turn's duration computed from its fields, without the clamping `Turn.elapsed` does."""
    turn = seance.turns[index]
    end = turn.ended_at or seance.paused_since or now
    return end - turn.started_at - turn.paused


class FloorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = MemoryDatabase()
        clock = ManualClock(START)
        core = CercleCore(self.db, clock, translator=shared_translator())
        self.chat = Chat(self.db, clock=clock, core=core)
        self.ready = False
        self.elapsed = 0

    def teardown(self) -> None:
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def seance(self) -> Seance:
        seances = list(self.db.store.seances.values())
        assert len(seances) == 1
        (seance,) = seances
        assert seance.is_open
        return seance

    # -- setting up ------------------------------------------------------------------------------

    @initialize(
        protocol=st.sampled_from(("libre", "meteo", "codev")),
        arrival_order=st.booleans(),
        present=st.lists(st.sampled_from(PEOPLE[1:]), unique=True),
        first_phase=st.sampled_from((None, "suivante", "libre", "tour")),
    )
    def open_seance(
        self, protocol: str, arrival_order: bool, present: list[str], first_phase: str | None
    ) -> None:
        setup = [
            ("anim", "/cercle creer Test"),
            ("anim", f"/cercle protocole {protocol}"),
            ("anim", "/cercle animateur @co"),
            # A séance left open long after its expected end is closed by itself (auto-close
            # prompt); the longest grace plus CLOCK_BUDGET keeps this one open throughout.
            ("anim", "/cercle rappels fermeture 1440"),
        ]
        if arrival_order:
            setup.append(("anim", "/cercle ordre arrivee"))
        setup.append(("anim", "/seance"))
        setup.extend((name, "/present") for name in present)
        # a one-phase protocol (libre) starts its phase when the séance opens
        if first_phase and not (protocol == "libre" and first_phase == "suivante"):
            setup.append(("anim", f"/seance phase {first_phase}"))
        for name, text in setup:
            self.run(self.chat.say(name, text))
            assert self.chat.refused is None, (name, text, self.chat.text)
        self.ready = True

    # -- steps -----------------------------------------------------------------------------------

    def say(self, name: str, text: str) -> None:
        before = copy.deepcopy(self.db.store)
        self.run(self.chat.say(name, text))
        refused = self.chat.refused
        assert refused != "command.failed", f"{name}: {text!r} raised inside the core"
        if refused is None:
            return
        # The whole store (circles, séances, items, and anything added later) compares by value;
        # a newcomer's refused first command still makes them a member, and nothing else.
        after = copy.deepcopy(self.db.store)
        newcomer = all(user(name) not in c.members for c in before.circles.values())
        if newcomer:
            for circle in after.circles.values():
                circle.members.pop(user(name), None)
            after.commits = before.commits
        assert after == before, f"refused {text!r} changed the store"
        assert len(self.chat.last) == 1, self.chat.last
        (reply,) = self.chat.last
        assert isinstance(reply, Reply)
        assert reply.private
        assert reply.to == user(name)

    @rule(who=people, motive=st.sampled_from(("", " une question sur le budget")))
    def tour(self, who: str, motive: str) -> None:
        self.say(who, "/tour" + motive)

    @rule(who=people, text=st.sampled_from(("/passe", "/fini")))
    def give_back(self, who: str, text: str) -> None:
        self.say(who, text)

    @precondition(lambda self: self.ready and self.seance().speaker is not None)
    @rule(text=st.sampled_from(("/passe", "/fini")))
    def speaker_gives_back(self, text: str) -> None:
        """The one who has the floor says `text` (the speaker is read from the store)."""
        speaker = self.seance().speaker
        assert speaker is not None
        self.say(speaker.id, text)

    @rule(who=people, text=st.sampled_from(("/present", "/excuse", "/file", "/main", "!tour")))
    def attendance(self, who: str, text: str) -> None:
        self.say(who, text)

    @rule(
        who=facilitators,
        which=st.sampled_from(("suivante", "tour", "libre", "unique")),
        speaker=st.sampled_from((None, *PEOPLE, STRANGER)),
    )
    def phase(self, who: str, which: str, speaker: str | None) -> None:
        self.say(who, f"/seance phase {which}" + (f" @{speaker}" if speaker else ""))

    @precondition(lambda self: self.ready and bool(self.seance().queue))
    @rule(
        who=facilitators,
        how=st.sampled_from(("phase unique", "cas", "phase libre")),
        index=st.integers(0, len(PEOPLE) - 1),
    )
    def name_someone_waiting(self, who: str, how: str, index: int) -> None:
        """`/seance <how> @x` for x the `index`-th (modulo) entry of the queue as stored."""
        queue = self.seance().queue
        self.say(who, f"/seance {how} @{queue[index % len(queue)].user.id}")

    @rule(
        who=facilitators, text=st.sampled_from(STEERING) | mentionable.map("/seance cas @{}".format)
    )
    def facilitate(self, who: str, text: str) -> None:
        self.say(who, text)

    @rule(
        who=people,
        text=st.sampled_from(GARBAGE)
        | st.sampled_from(FACILITATOR_ONLY)
        | st.text(alphabet="abcé ", max_size=12).map("/note {}".format),
    )
    def noise(self, who: str, text: str) -> None:
        """Unknown commands, bad arguments, notes, and facilitators' commands from anyone."""
        self.say(who, text)
        if who in PARTICIPANTS and text in FACILITATOR_ONLY:
            # the speaker typing /suivant is told how to hand the floor back instead
            allowed = {"permission.facilitator_only", "permission.next_while_speaking"}
            assert self.chat.refused in allowed
            if self.chat.refused == "permission.next_while_speaking":
                assert text.startswith("/suivant")

    @precondition(lambda self: self.elapsed < CLOCK_BUDGET)
    @rule(seconds=st.integers(0, 150) | st.sampled_from((600, 900, 1800, LONGEST_WAIT)))
    def wait(self, seconds: int) -> None:
        self.elapsed += seconds
        self.run(self.chat.wait(seconds=seconds))

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def one_speaker_at_most(self) -> None:
        if not self.ready:
            return
        seance = self.seance()
        open_turns = [i for i, t in enumerate(seance.turns) if t.is_open]
        assert open_turns in ([], [len(seance.turns) - 1]), open_turns

    @invariant()
    def queue_and_round_are_consistent(self) -> None:
        if not self.ready:
            return
        seance = self.seance()
        queued = [e.user for e in seance.queue]
        assert len(queued) == len(set(queued)), queued
        assert len(seance.round_pending) == len(set(seance.round_pending)), seance.round_pending
        speaker = seance.speaker
        if speaker is None:
            return
        assert speaker not in seance.round_pending, f"{speaker} has the floor and is in the round"
        assert speaker not in queued, f"{speaker} has the floor and is still queued"

    @invariant()
    def turns_add_up_and_never_overlap(self) -> None:
        if not self.ready:
            return
        seance = self.seance()
        now = self.chat.clock.now()
        spoken = timedelta(0)
        counted_turns = 0
        previous_end: datetime | None = None
        for i, turn in enumerate(seance.turns):
            duration = raw_elapsed(seance, i, now)
            assert duration >= timedelta(0), f"turn {turn.seq} lasted {duration}"
            assert turn.started_at <= now
            if previous_end is not None:
                assert turn.started_at >= previous_end, f"turn {turn.seq} overlaps the one before"
            previous_end = turn.ended_at
            if turn.ended_at is not None:
                assert turn.ended_at >= turn.started_at
                assert turn.outcome is not None
            # Time spoken before passing counts; a pass is not a turn (Seance.speaking_times).
            spoken += duration
            if turn.outcome is not TurnOutcome.PASSED:
                counted_turns += 1
        totals = seance.speaking_times(now).values()
        assert sum((spent for spent, _ in totals), timedelta(0)) == spoken
        assert sum(count for _, count in totals) == counted_turns


FloorMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFloorProperties = FloorMachine.TestCase


# -- a bug the machine above found (fixed: whoever gets the floor leaves the queue) ------------


async def test_single_phase_speaker_leaves_the_queue(chat: Chat, memory_db: MemoryDatabase) -> None:
    await start_circle(chat, "alice", "bob", protocol="libre")
    await chat.say("anim", "/seance phase suivante")
    await chat.say("alice", "/tour")  # alice has the floor
    await chat.say("bob", "/tour")  # bob waits
    await chat.say("anim", "/seance phase unique @bob")
    (seance,) = memory_db.store.seances.values()
    assert seance.speaker == user("bob")
    assert user("bob") not in [e.user for e in seance.queue]
