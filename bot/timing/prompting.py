"""Posting prompts when they fall due: claim them, drop the stale ones, say the rest.

Each due prompt is claimed in its own transaction, together with what it does (a reminder
said, a séance opened or closed), under its circle's lock: a prompt is either wholly done or
still pending after a crash, and never done twice, since the claim only takes rows that no one
has claimed yet. One prompt that fails (a protocol removed from the configuration, a bug) rolls
back only itself: it is logged, counted, tried again a minute later a bounded number of times,
then dropped, while the other circles' prompts go out on time.

The messages a prompt posts are written to the outbox (bot/outbox.py) in that same transaction:
a prompt claimed whose message the platform has not taken yet is posted after a restart.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.commands.context import Context
from bot.domain.prompts import Prompt, PromptKind, expected_length, is_stale
from bot.domain.protocol import ProtocolBook
from bot.domain.seance import Seance
from bot.effects import Effect
from bot.errors import again_on_conflict
from bot.handlers import followup, live, prepa, rsvp
from bot.handlers.seance import close_given, open_given
from bot.locks import KeyedLocks
from bot.outbox import record, settle_drawn
from bot.partition import EVERYTHING, Partition
from bot.ports import Scheduler, Translator, UnitOfWork, UnitOfWorkFactory
from bot.recaps.drawing import finish
from bot.timing.schedule import apply_wakeups, note_timebox
from bot.views.status import status_view
from bot.voice import floor_speaker

log = logging.getLogger(__name__)

BATCH = 200
MORE_KEY = "prompt:more"
GRACE_MORE = timedelta(days=1)
ATTEMPTS = 3  # a prompt that fails this many times is dropped
RETRY_AFTER = timedelta(minutes=1)


class PromptPoster:
    """Turns due prompt rows into messages (or into opening and closing séances)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        translator: Translator,
        protocols: ProtocolBook,
        locks: KeyedLocks,
        scheduler: Scheduler,
        claimer: str,
        partition: Partition = EVERYTHING,
    ) -> None:
        self._partition = partition
        self._uow_factory = uow_factory
        self._tr = translator
        self._protocols = protocols
        self._locks = locks
        self._scheduler = scheduler
        self._claimer = claimer
        self._busy = False
        self._again: datetime | None = None
        self.sent = 0
        self.dropped = 0
        self.failed = 0  # attempts that raised (each one logged)
        self._failures: dict[int, int] = {}  # prompt id -> failed attempts, until done or dropped

    async def fire_due(self, now: datetime) -> list[Effect]:
        """Handle one batch of the prompts due by `now`; return what to post.

        One wake-up works at a time: a wake-up arriving meanwhile only asks for another pass
        (thousands due together would otherwise each scan them all). When more are due than
        a batch holds, the next batch is its own wake-up, so each batch's messages are handed
        over as soon as it is done."""
        if self._busy:
            self._again = max(self._again or now, now)
            return []
        self._busy = True
        try:
            effects, more = await again_on_conflict(lambda: self._one_batch(now))
        finally:
            self._busy = False
        if more or self._again is not None:
            again = max(self._again or now, now)
            self._again = None
            self._scheduler.wake_at(MORE_KEY, again, GRACE_MORE)
        return effects

    async def _one_batch(self, now: datetime) -> tuple[list[Effect], bool]:
        async with self._uow_factory() as uow:
            due = await uow.prompts.due(now, BATCH, self._partition)
            channels = await uow.circles.channels(sorted({p.circle_id for p in due}))
            await uow.commit()
        if len(due) < BATCH:  # a prompt that failed and is no longer due was taken elsewhere
            still = {p.id for p in due}
            self._failures = {k: n for k, n in self._failures.items() if k in still}
        effects: list[Effect] = []
        for prompt in due:
            self._scheduler.cancel(prompt.key)
            channel = channels.get(prompt.circle_id)
            lock = channel.key if channel is not None else f"circle:{prompt.circle_id}"
            effects.extend(await self._one_contained(prompt, lock, now))
        return effects, len(due) == BATCH

    async def _one_contained(self, prompt: Prompt, lock: str, now: datetime) -> list[Effect]:
        """Act on one prompt in its own unit of work; a failure stays with this prompt."""
        try:
            effects = await again_on_conflict(lambda: self._one(prompt.id, lock, now))
        except Exception:
            self.failed += 1
            attempts = self._failures[prompt.id] = self._failures.get(prompt.id, 0) + 1
            log.exception(
                "prompt %s (%s) of seance %s failed (attempt %d of %d)",
                prompt.id,
                prompt.kind.value,
                prompt.seance_id,
                attempts,
                ATTEMPTS,
            )
            if attempts < ATTEMPTS:
                self._scheduler.wake_at(prompt.key, now + RETRY_AFTER, GRACE_MORE)
            else:
                await self._give_up(prompt, lock, now)
            return []
        self._failures.pop(prompt.id, None)
        return effects

    async def _one(self, prompt_id: int, lock: str, now: datetime) -> list[Effect]:
        async with self._locks.hold(lock), self._uow_factory() as uow:
            claimed = await uow.prompts.claim([prompt_id], now, self._claimer)
            acted = await self._act(uow, claimed[0], now) if claimed else None
            if acted is not None:
                # claimed and to be posted in one transaction: posted later if not now
                ctx = acted[0]
                circle = ctx.require_circle()
                ctx.effects = await record(
                    uow, ctx.effects, circle.home, circle.shard_key, now, ctx.drawings
                )
            await uow.commit()
        if acted is None:
            return []
        ctx, sent = acted
        if sent:
            self.sent += 1
        else:
            self.dropped += 1
        apply_wakeups(self._scheduler, ctx.wakeups)
        drawn = await finish(ctx.effects, ctx.drawings)
        if ctx.drawings:
            await settle_drawn(self._uow_factory, ctx.effects, drawn, now)
        return drawn

    async def _give_up(self, prompt: Prompt, lock: str, now: datetime) -> None:
        """Drop a prompt that failed every attempt, so it no longer heads every batch."""
        self._failures.pop(prompt.id, None)
        try:
            async with self._locks.hold(lock), self._uow_factory() as uow:
                if await uow.prompts.claim([prompt.id], now, self._claimer):
                    await uow.prompts.drop(prompt.id, now)
                await uow.commit()
        except Exception:
            log.exception("prompt %s could not be dropped", prompt.id)
            return
        self.dropped += 1
        log.warning("prompt %s dropped after %d failed attempts", prompt.id, ATTEMPTS)

    async def _act(
        self, uow: UnitOfWork, prompt: Prompt, now: datetime
    ) -> tuple[Context, bool] | None:
        """Say or do what the prompt calls for; the context, and whether it was sent (not
        dropped as stale). None when its circle or séance is gone."""
        circle = await uow.circles.get(prompt.circle_id)
        seance = await uow.seances.get(prompt.seance_id)
        if circle is None or seance is None:
            await uow.prompts.drop(prompt.id, now)
            return None
        ctx = Context.for_system(uow, circle, now, self._tr, self._protocols)
        if is_stale(prompt, seance, now):
            await uow.prompts.drop(prompt.id, now)
            log.info(
                "prompt %s (%s) of seance %s dropped as stale (due %s)",
                prompt.id,
                prompt.kind.value,
                seance.id,
                prompt.due_at.isoformat(),
            )
            return ctx, False
        await self._say(ctx, prompt, seance)
        return ctx, True

    async def _say(self, ctx: Context, prompt: Prompt, seance: Seance) -> None:
        circle = ctx.require_circle()
        lang, tz = ctx.lang, ctx.tz
        moment = ctx.moment(seance.planned_at) if seance.planned_at else None
        when = moment.text if moment else ""
        moments = (moment,) if moment else ()
        subject = ctx.t("prompt.subject", subject=seance.subject) if seance.subject else ""
        kind = prompt.kind
        if kind is PromptKind.PREPARATION:
            ctx.say(
                "prompt.preparation",
                number=seance.number,
                date=when,
                question=seance.prep_question or "",
                moments=moments,
            )
            await prepa.invite_directly(ctx, seance, when)
        elif kind is PromptKind.DAY_BEFORE:
            ctx.say(
                "prompt.day_before",
                number=seance.number,
                date=when,
                subject=subject,
                moments=moments,
            )
            await rsvp.day_before(ctx, seance)
        elif kind is PromptKind.SOON:
            assert seance.planned_at is not None
            left = self._tr.span_text(lang, seance.planned_at - ctx.now)
            time = self._tr.time_text(lang, tz, seance.planned_at)
            ctx.say("prompt.soon", number=seance.number, left=left, time=time, subject=subject)
        elif kind is PromptKind.START:
            if circle.settings.auto_open:
                await open_given(ctx, seance, present=None)
                ctx.effects.append(status_view(self._tr, circle, seance, ctx.now))
                ctx.effects.extend(floor_speaker(circle, seance))
                note_timebox(ctx, seance)
            else:
                ctx.say("prompt.start", number=seance.number, subject=subject)
        elif kind is PromptKind.PREP_REMINDER:
            await prepa.remind_unanswered(ctx, seance)
        elif kind is PromptKind.ACTION_DUE:
            await followup.remind_owners(ctx, seance)
        elif kind is PromptKind.FOLLOW_UP:
            await self._follow_up(ctx, seance)
        elif kind is PromptKind.AUTO_CLOSE:
            ctx.seance = seance
            grace = timedelta(minutes=circle.settings.close_grace_minutes)
            # Figures are facts: the phase and turns end when the séance really ended (its
            # planned end, or the last thing that happened after it), not now.
            ctx.now = min(ctx.now, self._really_ended(ctx, seance))
            await close_given(
                ctx, seance, "prompt.auto_close", grace=self._tr.span_text(lang, grace)
            )
            ctx.effects.append(status_view(self._tr, circle, seance, ctx.now))
            ctx.effects.extend(floor_speaker(circle, seance))
            note_timebox(ctx, seance)

    @staticmethod
    def _really_ended(ctx: Context, seance: Seance) -> datetime:
        assert seance.opened_at is not None
        start = max(seance.planned_at or seance.opened_at, seance.opened_at)
        planned_end = start + expected_length(ctx.protocols.get(seance.protocol))
        return max(planned_end, seance.last_activity() or planned_end)

    async def _follow_up(self, ctx: Context, seance: Seance) -> None:
        # the open actions, as a live message edited as their owners say where they stand
        if not await live.post_follow_up(ctx, seance):
            ctx.say("prompt.follow_up_none", number=seance.number)
