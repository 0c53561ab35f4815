"""Votes ticked in a platform's native poll, counted as votes on cases.

A native poll cannot say "three votes, several on one case": Discord lets a person tick each
answer once (several answers with multiselect), and a Matrix poll response lists the answers a
person holds now. So a tick is one vote on that case and no tick is none: ticking gives a case
one vote (if the person has one left), unticking takes that case's votes back, and a Matrix
response sets the person's votes on the poll's cases to exactly its selections. `/cas voter`
stays the way to put several votes on one case. Both are idempotent, so an event seen twice
changes nothing; its id is recorded as handled anyway.

A poll vote is not a command: it never makes anyone a member (non-members are ignored), and a
vote that counts says nothing (the poll shows it); one that cannot count (no votes left, the
vote closed) is explained to its author alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.cases import CaseProposal, CaseStatus, votes_used
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect, Reply
from bot.errors import again_on_conflict
from bot.locks import KeyedLocks
from bot.outbox import record
from bot.ports import Translator, UnitOfWork, UnitOfWorkFactory
from bot.timing.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollVote:
    """A person's choices in a native poll: `choices` maps the poll's answer ids to ticked or
    not; answers left out are unchanged (Discord sends one answer at a time, Matrix all)."""

    channel: ChannelRef
    author: UserRef
    poll_ref: str
    choices: Mapping[str, bool]
    event_id: str | None = None
    whole: bool = False  # the person's whole selection (Matrix): other answers are unticked


class NativeVotes:
    """Applies poll votes to the cases of the circle whose poll it is."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        translator: Translator,
        locks: KeyedLocks,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._tr = translator
        self._locks = locks
        self.counted = 0

    async def apply(self, vote: PollVote) -> list[Effect]:
        return await again_on_conflict(lambda: self._apply(vote))

    async def _apply(self, vote: PollVote) -> list[Effect]:
        async with self._locks.hold(vote.channel.key), self._uow_factory() as uow:
            if vote.event_id is not None and await uow.handled.seen(vote.event_id):
                await uow.commit()
                return []
            effects = await self._count(uow, vote)
            if vote.event_id is not None:
                await uow.handled.add(vote.event_id, self._clock.now())
            circle = await uow.circles.by_channel(vote.channel)
            home, shard = (circle.home, circle.shard_key) if circle else (None, None)
            effects = await record(uow, effects, home, shard, self._clock.now())
            await uow.commit()
        return effects

    async def _count(self, uow: UnitOfWork, vote: PollVote) -> list[Effect]:
        now = self._clock.now()
        circle = await uow.circles.by_channel(vote.channel)
        if circle is None:
            return []
        member = circle.member(vote.author)
        if member is None or not member.active:
            log.info("a poll vote from someone outside circle %s ignored", circle.id)
            return []
        lang = circle.settings.language
        round_ = await uow.case_votes.get(circle.id)
        if round_ is None or round_.poll_ref != vote.poll_ref:
            return []  # an older poll: its round is over
        open_now = circle.settings.case_voting_open and not round_.closed
        if not open_now or (round_.closes_at is not None and round_.closes_at <= now):
            return [self._tell(vote, self._tr.text(lang, "cases.vote_closed"))]
        numbers = _numbers(round_.poll_cases, vote.choices)
        if vote.whole:
            numbers = {n: numbers.get(n, False) for n in round_.poll_cases}
        cases = [c for c in await uow.cases.for_circle(circle.id) if c.status is CaseStatus.OPEN]
        by_number = {c.number: c for c in cases}
        changed: list[CaseProposal] = []
        refused: list[int] = []
        for number, ticked in sorted(numbers.items(), key=lambda n: (n[1], n[0])):
            case = by_number.get(number)
            if case is None:
                continue  # chosen or gone since the poll went out
            mine = case.votes.get(vote.author, 0)
            if not ticked and mine:
                del case.votes[vote.author]
                changed.append(case)
            elif ticked and not mine:
                if votes_used(cases, vote.author) >= circle.settings.case_votes:
                    refused.append(number)
                    continue
                case.votes[vote.author] = 1
                changed.append(case)
        for case in changed:
            await uow.cases.update(case)
        self.counted += len(changed)
        if refused:
            text = self._tr.text(
                lang,
                "cases.poll_no_votes_left",
                total=circle.settings.case_votes,
                numbers=", ".join(str(n) for n in refused),
            )
            return [self._tell(vote, text)]
        return []

    @staticmethod
    def _tell(vote: PollVote, text: str) -> Reply:
        return Reply(vote.channel, text, to=vote.author, private=True, confidential=True)


def _numbers(poll_cases: tuple[int, ...], choices: Mapping[str, bool]) -> dict[int, bool]:
    """Answer ids as the platform sent them → case numbers: a Discord answer id is the answer's
    place (1 is the first), a Matrix one is the case number itself."""
    found: dict[int, bool] = {}
    for answer, ticked in choices.items():
        if answer.startswith("case-") and answer[5:].isdigit():
            number = int(answer[5:])
            if number in poll_cases:
                found[number] = ticked
        elif answer.isdigit() and 1 <= int(answer) <= len(poll_cases):
            found[poll_cases[int(answer) - 1]] = ticked
    return found
