"""The composition root: builds the core from its parts and gives adapters one object to call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.circle import CircleSettings
from bot.clock import Clock
from bot.commands.registry import COMMANDS
from bot.dispatcher import Dispatcher, Outcome
from bot.effects import Effect
from bot.events import CommandEvent
from bot.i18n.catalog import CatalogTranslator
from bot.locks import KeyedLocks
from bot.ports import UnitOfWorkFactory
from bot.protocol import ProtocolBook
from bot.timeboxes import TimeKeeper


class CercleCore:
    """What adapters talk to: hand it events and instants, get back what to post."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        protocols: ProtocolBook | None = None,
        translator: CatalogTranslator | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        defaults: CircleSettings | None = None,
    ) -> None:
        self.clock = clock
        self.uow_factory = uow_factory
        self.translator = translator or CatalogTranslator()
        self.protocols = protocols or ProtocolBook()
        locks = KeyedLocks()
        self.dispatcher = Dispatcher(
            uow_factory,
            clock,
            self.translator,
            self.protocols,
            COMMANDS,
            locks,
            on_outcome,
            defaults,
        )
        self.timekeeper = TimeKeeper(uow_factory, self.translator, self.protocols, locks)

    async def handle(self, event: CommandEvent) -> Outcome:
        return await self.dispatcher.handle(event)

    async def run_due(self, now: datetime | None = None) -> list[Effect]:
        """Apply every time box due by `now` (default: the clock's now)."""
        return await self.timekeeper.run_due(now or self.clock.now())

    async def next_deadline(self) -> datetime | None:
        return await self.timekeeper.next_deadline()

    async def record_status_message(self, seance_id: int, message_id: str) -> None:
        """Remember which message shows a séance's live status, so it is edited, not re-posted."""
        async with self.uow_factory() as uow:
            seance = await uow.seances.get(seance_id)
            if seance is not None and seance.status_message_id != message_id:
                seance.status_message_id = message_id
                await uow.commit()
