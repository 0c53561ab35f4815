"""The composition root of the core: builds it from its parts; adapters call this one object."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.direct import DirectAnswers, DirectMessage
from bot.dispatcher import Dispatcher, Outcome
from bot.domain.case_vote import CLOSE_GRACE, close_key
from bot.domain.circle import Circle, CircleSettings
from bot.domain.prompts import GRACE
from bot.domain.protocol import ProtocolBook
from bot.domain.refs import ChannelRef
from bot.domain.seance import Seance, SeanceStatus, SeanceSummary
from bot.effects import Effect
from bot.events import CommandEvent
from bot.i18n.catalog import CatalogTranslator
from bot.interest import (
    CHANGED,
    InterestEvent,
    InterestOutcome,
    InterestResult,
    apply_interest,
    interest_effects,
)
from bot.live import LiveMessages
from bot.locks import KeyedLocks
from bot.native_events import SeanceEvent, seance_events
from bot.native_votes import NativeVotes, PollVote
from bot.outbox import Outbox, prune
from bot.pages.links import LinkIssuer
from bot.pages.service import Pages
from bot.partition import EVERYTHING, Partition
from bot.ports import Scheduler, UnitOfWork, UnitOfWorkFactory
from bot.registry import COMMANDS
from bot.suggestions import Suggestion, seance_suggestions
from bot.timing.clock import Clock
from bot.timing.deadlines import next_deadline
from bot.timing.prompting import PromptPoster
from bot.timing.retention import RETENTION_GRACE, RETENTION_KEY, Retention, next_run
from bot.timing.schedule import TIMEBOX_GRACE, ManualScheduler, nudge_of, timebox_key
from bot.timing.timeboxes import TimeKeeper
from bot.timing.vote_closing import VoteCloser
from bot.views.status import status_view

log = logging.getLogger(__name__)

RETENTION_FIRST_DELAY = timedelta(minutes=10)


class CercleCore:
    """What adapters talk to: hand it events, and let the scheduler wake it."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        protocols: ProtocolBook | None = None,
        translator: CatalogTranslator | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        defaults: CircleSettings | None = None,
        scheduler: Scheduler | None = None,
        instance: str = "cercle",
        partition: Partition = EVERYTHING,
        links: LinkIssuer | None = None,
    ) -> None:
        self.clock = clock
        self.links = links
        self.partition = partition
        self.uow_factory = uow_factory
        self.translator = translator or CatalogTranslator()
        self.protocols = protocols or ProtocolBook()
        if scheduler is None:
            manual = ManualScheduler()
            manual.handler = self.wake
            scheduler = manual
        self.scheduler = scheduler
        locks = self.locks = KeyedLocks()
        self.dispatcher = Dispatcher(
            uow_factory,
            clock,
            self.translator,
            self.protocols,
            COMMANDS,
            locks,
            scheduler,
            on_outcome,
            defaults,
            links,
        )
        self.timekeeper = TimeKeeper(uow_factory, self.translator, self.protocols, locks, scheduler)
        self.prompts = PromptPoster(
            uow_factory, self.translator, self.protocols, locks, scheduler, instance, partition
        )
        self.retention = Retention(uow_factory, locks, partition)
        self.direct = DirectAnswers(
            uow_factory,
            clock,
            self.translator,
            locks,
            self.dispatcher,
            self.dispatcher.defaults.language,
        )
        self.native_votes = NativeVotes(uow_factory, clock, self.translator, locks)
        self.votes = VoteCloser(uow_factory, self.translator, self.protocols, locks, instance)
        self.outbox = Outbox(uow_factory, clock, partition)
        # messages edited in place between séances (bot/live.py), for adapters
        self.live = LiveMessages(uow_factory, clock, self.translator, self.protocols, locks)
        self._retention_at: datetime | None = None  # the next run, once the first one is done
        self.pages = Pages(self, links.signer) if links is not None else None

    async def handle(self, event: CommandEvent) -> Outcome:
        return await self.dispatcher.handle(event)

    async def handle_direct(self, message: DirectMessage) -> Outcome:
        """Text sent to the bot by direct message: an answer to a preparation question."""
        return await self.direct.handle(message)

    async def poll_vote(self, vote: PollVote) -> list[Effect]:
        """Choices made in a native poll: votes on cases (bot/native_votes.py)."""
        return await self.native_votes.apply(vote)

    async def record_poll(self, circle_id: int, poll_ref: str) -> None:
        """The platform's id of the native poll an adapter has just posted for the circle's
        current vote, so that votes in it are counted and it is ended with the vote."""
        async with self.uow_factory() as uow:
            channels = await uow.circles.channels([circle_id])
            await uow.commit()
        channel = channels.get(circle_id)
        if channel is None:
            return
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            vote = await uow.case_votes.get(circle_id)
            if vote is not None and vote.poll_ref is None and not vote.closed:
                vote.poll_ref = poll_ref
                await uow.case_votes.put(vote)
            await uow.commit()

    def busy(self, channel: ChannelRef) -> bool:
        """Something is being handled in `channel` (a command, a time box): a new command there
        waits its turn. Adapters with a deadline to acknowledge (Discord) then do so at once."""
        return self.locks.busy(channel.key)

    async def wake(self, key: str, now: datetime) -> list[Effect]:
        """Called by the scheduler: `prompt:<id>` or `timebox:<séance id>` is due at `now`, or
        `retention`, once a day."""
        kind, _, ident = key.partition(":")
        if kind == "prompt":
            return await self.prompts.fire_due(now)
        if kind == "timebox" and ident.isdigit():
            return await self.timekeeper.run_seance(int(ident), now)
        if kind == "casevote" and ident.isdigit():
            return await self.votes.close_due(int(ident), now)
        if key == RETENTION_KEY:
            self._retention_at = next_run(now)
            self.scheduler.wake_at(RETENTION_KEY, self._retention_at, RETENTION_GRACE)
            await self.retention.run(now)
            rows, events = await prune(self.uow_factory, now)
            if rows or events:
                log.info("forgot %d delivered messages and %d handled event ids", rows, events)
            return []
        log.warning("unknown wake-up key %r", key)
        return []

    async def start(self) -> None:
        """Rebuild every wake-up of this instance's circles from the database (the truth):
        pending prompts, open séances, and the daily retention (at once the first time, then
        each day at 03:00 UTC).

        Anything overdue is woken at once; the core then posts what is still useful and drops
        what is stale."""
        now = self.clock.now()
        self.translator.warm_up()
        async with self.uow_factory() as uow:
            for share in self.partition.adoptive_homes():
                adopted = await uow.circles.adopt(share.home, share.platform)
                if adopted:
                    log.info("%d circles without a home now live at %s", adopted, share.home)
            prompts = await uow.prompts.pending(self.partition)
            seances = await uow.seances.open_channels(self.partition)
            votes = await uow.case_votes.pending(self.partition)
            await uow.commit()
        for circle_id, closes_at in votes:
            self.scheduler.wake_at(close_key(circle_id), max(closes_at, now), CLOSE_GRACE)
        for prompt in prompts:
            self.scheduler.wake_at(prompt.key, max(prompt.due_at, now), GRACE[prompt.kind])
        for seance_id, channel in seances:
            # a séance is only ever loaded under its circle's lock
            async with self.locks.hold(channel.key), self.uow_factory() as uow:
                seance = await uow.seances.get(seance_id)
                circle = await uow.circles.by_channel(channel)
                nudge = nudge_of(circle.settings if circle else None)
                deadline = next_deadline(seance, nudge) if seance is not None else None
                shown = await self._show_status_again(uow, circle, seance, now)
                await uow.commit()  # keeps the open séance cached
            self.outbox.written_at_start(shown)
            if deadline is not None:
                self.scheduler.wake_at(timebox_key(seance_id), max(deadline, now), TIMEBOX_GRACE)
        # the first pass waits a little: not in the middle of a start's catching up
        first = now + RETENTION_FIRST_DELAY
        self.scheduler.wake_at(RETENTION_KEY, self._retention_at or first, RETENTION_GRACE)
        log.info("scheduled %d prompts and %d open séances", len(prompts), len(seances))

    async def _show_status_again(
        self, uow: UnitOfWork, circle: Circle | None, seance: Seance | None, now: datetime
    ) -> list[int]:
        """Status edits are not kept in the outbox (bot/outbox.py `kept`): one lost in a crash
        is made good here, by showing each open séance's status once more (its outbox row)."""
        if circle is None or seance is None or seance.status_message_id is None:
            return []
        view = status_view(self.translator, circle, seance, now)
        return await uow.outbox.add([view], circle.home, circle.shard_key, now)

    async def suggest_seances(self, channel: ChannelRef, typed: str) -> list[Suggestion]:
        """Séances to offer while someone types a séance number in `channel`."""
        settings, seances = await self.upcoming(channel)
        return seance_suggestions(self.translator, settings, seances, typed)

    async def seance_events(self, channel: ChannelRef) -> list[SeanceEvent]:
        """The séances of the circle in `channel` as a platform's own events would show them."""
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            circle = await uow.circles.by_channel(channel)
            seances = await uow.seances.for_circle(circle.id) if circle else []
            await uow.commit()
        if circle is None:
            return []
        return seance_events(self.translator, self.protocols, circle, seances)

    async def record_native_event(self, seance_id: int, event_id: str | None) -> None:
        """Remember the platform event that mirrors a séance."""
        async with self.uow_factory() as uow:
            channel = await uow.seances.channel_of(seance_id)
            await uow.commit()
        if channel is None:
            return
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            seance = await uow.seances.get(seance_id)
            if seance is not None and seance.native_event_id != event_id:
                seance.native_event_id = event_id
                await uow.commit()

    async def native_interest(self, change: InterestEvent) -> InterestOutcome:
        """Someone marked or unmarked "Interested" on a séance's platform event: an RSVP, and
        the live RSVP message refreshed (effects to deliver, recorded in the outbox)."""
        async with self.uow_factory() as uow:
            channel = await uow.seances.channel_of(change.seance_id)
            await uow.commit()
        if channel is None:
            return InterestOutcome(InterestResult.IGNORED)
        now = self.clock.now()
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            result = await apply_interest(uow, change, now)
            effects: list[Effect] = []
            if result in CHANGED:
                effects = await interest_effects(uow, change, now, self.translator, self.protocols)
            await uow.commit()
        log.info("interest in séance %s: %s", change.seance_id, result)
        return InterestOutcome(result, effects)

    async def status_message_of(self, channel: ChannelRef) -> str | None:
        """The platform id of the live status message of the séance open in `channel`."""
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            circle = await uow.circles.by_channel(channel)
            seance = await uow.seances.open_for(circle.id) if circle else None
            await uow.commit()
        return seance.status_message_id if seance is not None else None

    async def record_status_message(self, seance_id: int, message_id: str) -> None:
        """Remember which message shows a séance's live status, so it is edited, not re-posted."""
        async with self.uow_factory() as uow:
            channel = await uow.seances.channel_of(seance_id)
            await uow.commit()
        if channel is None:
            return
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            seance = await uow.seances.get(seance_id)
            if seance is not None and seance.status_message_id != message_id:
                seance.status_message_id = message_id
                await uow.commit()

    async def upcoming(self, channel: ChannelRef) -> tuple[CircleSettings, list[SeanceSummary]]:
        """The settings of the channel's circle and its planned and open séances (for
        suggestions while typing); the defaults and nothing without a circle."""
        async with self.locks.hold(channel.key), self.uow_factory() as uow:
            circle = await uow.circles.by_channel(channel)
            if circle is None:
                return self.dispatcher.defaults, []
            coming = (SeanceStatus.PLANNED, SeanceStatus.OPEN)
            seances = await uow.seances.summaries(circle.id, coming)
            settings = circle.settings
            await uow.commit()
        return settings, seances
