"""Closing a vote on the next case at its time, once, and saying the result.

The wake-up `casevote:<circle id>` may come twice (a restart rebuilds it, two instances
during a hand-over): the closing is claimed in the database (`CaseVoteRepository.claim`) in
the same transaction as the announcement written to the outbox, so it is either wholly done
or still to do, and never said twice. A vote a facilitator closed or reopened meanwhile is
no longer due, and the claim finds nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.commands.context import Context
from bot.domain.protocol import ProtocolBook
from bot.effects import Effect
from bot.errors import again_on_conflict
from bot.handlers.case_voting import announce_closed
from bot.locks import KeyedLocks
from bot.outbox import record
from bot.ports import Translator, UnitOfWorkFactory

log = logging.getLogger(__name__)


class VoteCloser:
    """Closes the votes whose time has come."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        translator: Translator,
        protocols: ProtocolBook,
        locks: KeyedLocks,
        claimer: str,
    ) -> None:
        self._uow_factory = uow_factory
        self._tr = translator
        self._protocols = protocols
        self._locks = locks
        self._claimer = claimer
        self.closed = 0

    async def close_due(self, circle_id: int, now: datetime) -> list[Effect]:
        """Close the circle's vote if it is due and nobody closed it yet; what to post."""
        async with self._uow_factory() as uow:
            channels = await uow.circles.channels([circle_id])
            await uow.commit()
        channel = channels.get(circle_id)
        if channel is None:
            return []
        return await again_on_conflict(lambda: self._close(circle_id, channel.key, now))

    async def _close(self, circle_id: int, lock: str, now: datetime) -> list[Effect]:
        async with self._locks.hold(lock), self._uow_factory() as uow:
            circle = await uow.circles.get(circle_id)
            if circle is None or not await uow.case_votes.claim(circle_id, now, self._claimer):
                await uow.commit()
                return []
            vote = await uow.case_votes.get(circle_id)
            assert vote is not None  # just claimed
            ctx = Context.for_system(uow, circle, now, self._tr, self._protocols)
            await announce_closed(ctx, vote)
            await uow.case_votes.put(vote)
            effects = await record(uow, ctx.effects, circle.home, circle.shard_key, now)
            await uow.commit()
        self.closed += 1
        log.info("vote on the next case closed in circle %s", circle_id)
        return effects
