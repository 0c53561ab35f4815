"""What adapters ask about live messages (bot/handlers/live.py): where one was posted, which one
a platform message is, and an answer taken back (a Matrix reaction removed).

A live message is posted once: the adapter that posts it records the platform's id here, and an
adapter about to post a view that came without an id (written before the first post was
acknowledged, or recovered after a restart) asks here first, so it edits rather than posts
again. The `live_message` rows are plain rows, never cached with an aggregate: recording and
reading a message id need no circle lock (so an adapter recording one never makes the circle
look busy to a command arriving meanwhile); what reads or changes a séance takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.context import Context
from bot.domain.live import LiveKind
from bot.domain.protocol import ProtocolBook
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect
from bot.errors import again_on_conflict
from bot.handlers import live
from bot.locks import KeyedLocks
from bot.outbox import record
from bot.ports import Translator, UnitOfWorkFactory
from bot.timing.clock import Clock


@dataclass(frozen=True, slots=True)
class LiveTarget:
    """A platform message known to show a live message: what it shows, for which séance."""

    kind: LiveKind
    seance_id: int
    number: int


class LiveMessages:
    """The core's side of live messages, for adapters."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        translator: Translator,
        protocols: ProtocolBook,
        locks: KeyedLocks,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._tr = translator
        self._protocols = protocols
        self._locks = locks

    async def record(self, kind: str, seance_id: int, message_id: str) -> None:
        """Remember the platform message that shows this live message, once posted."""
        async with self._uow_factory() as uow:
            await uow.live.record(seance_id, LiveKind(kind), message_id)
            await uow.commit()

    async def message_id(self, kind: str, seance_id: int) -> str | None:
        """The platform message that shows it, if it was posted."""
        async with self._uow_factory() as uow:
            found = await uow.live.get(seance_id, LiveKind(kind))
            await uow.commit()
        return found.message_id if found is not None else None

    async def target(self, channel: ChannelRef, message_id: str) -> LiveTarget | None:
        """Which live message of the circle in `channel` the platform message is, if any."""
        async with self._locks.hold(channel.key), self._uow_factory() as uow:
            circle = await uow.circles.by_channel(channel)
            found = await uow.live.find(circle.id, message_id) if circle is not None else None
            seance = await uow.seances.get(found.seance_id) if found is not None else None
            await uow.commit()
        if found is None or seance is None:
            return None
        return LiveTarget(found.kind, seance.id, seance.number)

    async def withdraw(
        self, channel: ChannelRef, author: UserRef, given_by: str, event_id: str | None
    ) -> list[Effect]:
        """`author` took back the platform event `given_by` (a reaction) that gave an answer:
        the answer goes if it is still theirs, the message shows it. Handled once per
        `event_id` (the redaction's), like a command."""
        return await again_on_conflict(lambda: self._withdraw(channel, author, given_by, event_id))

    async def _withdraw(
        self, channel: ChannelRef, author: UserRef, given_by: str, event_id: str | None
    ) -> list[Effect]:
        now = self._clock.now()
        async with self._locks.hold(channel.key), self._uow_factory() as uow:
            if event_id is not None and await uow.handled.seen(event_id):
                await uow.commit()
                return []
            circle = await uow.circles.by_channel(channel)
            if circle is None or author not in circle.members:
                await uow.commit()
                return []
            ctx = Context.for_system(uow, circle, now, self._tr, self._protocols)
            ctx.author = author
            await live.withdraw(ctx, given_by)
            if event_id is not None:
                await uow.handled.add(event_id, now)
            effects = await record(uow, ctx.effects, circle.home, circle.shard_key, now)
            await uow.commit()
        return effects
