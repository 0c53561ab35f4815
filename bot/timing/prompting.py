"""Posting prompts when they fall due: claim them, drop the stale ones, say the rest.

Due prompts are claimed in batches, in one transaction with what they do (a reminder said, a
séance opened or closed), so a prompt is either wholly done or still pending after a crash, and
never done twice: the claim only takes rows that no one has claimed yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.commands.context import Context
from bot.domain.items import ItemKind
from bot.domain.prompts import Prompt, PromptKind, expected_length, is_stale
from bot.domain.protocol import ProtocolBook
from bot.domain.seance import Seance
from bot.effects import Effect
from bot.errors import again_on_conflict
from bot.handlers import followup, prepa, rsvp
from bot.handlers.seance import close_given, open_given
from bot.locks import KeyedLocks
from bot.partition import EVERYTHING, Partition
from bot.ports import Scheduler, Translator, UnitOfWork, UnitOfWorkFactory
from bot.recaps.drawing import finish
from bot.timing.schedule import apply_wakeups, note_timebox
from bot.views.status import status_view

log = logging.getLogger(__name__)

BATCH = 200
MORE_KEY = "prompt:more"
GRACE_MORE = timedelta(days=1)


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
        effects: list[Effect] = []
        async with self._uow_factory() as uow:
            due = await uow.prompts.due(now, BATCH, self._partition)
            channels = set()
            for prompt in due:
                circle = await uow.circles.get(prompt.circle_id)
                if circle is not None:
                    channels.add(circle.channel.key)
            await uow.commit()  # nothing to write; keeps what it loaded cached for the claim
        if not due:
            return effects, False
        contexts: list[Context] = []
        async with self._locks.hold_many(sorted(channels)), self._uow_factory() as uow:
            claimed = await uow.prompts.claim([p.id for p in due], now, self._claimer)
            for prompt in claimed:
                if (ctx := await self._act(uow, prompt, now)) is not None:
                    contexts.append(ctx)
            await uow.commit()
        for prompt in due:
            self._scheduler.cancel(prompt.key)
        for ctx in contexts:
            apply_wakeups(self._scheduler, ctx.wakeups)
            effects.extend(await finish(ctx.effects, ctx.drawings))
        return effects, len(due) == BATCH

    async def _act(self, uow: UnitOfWork, prompt: Prompt, now: datetime) -> Context | None:
        circle = await uow.circles.get(prompt.circle_id)
        seance = await uow.seances.get(prompt.seance_id)
        if circle is None or seance is None:
            await uow.prompts.drop(prompt.id, now)
            return None
        ctx = Context.for_system(uow, circle, now, self._tr, self._protocols)
        if is_stale(prompt, seance, now):
            await uow.prompts.drop(prompt.id, now)
            self.dropped += 1
            log.info(
                "prompt %s (%s) of seance %s dropped as stale (due %s)",
                prompt.id,
                prompt.kind.value,
                seance.id,
                prompt.due_at.isoformat(),
            )
            return ctx
        self.sent += 1
        await self._say(ctx, prompt, seance)
        return ctx

    async def _say(self, ctx: Context, prompt: Prompt, seance: Seance) -> None:
        circle = ctx.require_circle()
        lang, tz = ctx.lang, ctx.tz
        when = self._tr.datetime_text(lang, tz, seance.planned_at) if seance.planned_at else ""
        subject = ctx.t("prompt.subject", subject=seance.subject) if seance.subject else ""
        kind = prompt.kind
        if kind is PromptKind.PREPARATION:
            ctx.say(
                "prompt.preparation",
                number=seance.number,
                date=when,
                question=seance.prep_question or "",
            )
        elif kind is PromptKind.DAY_BEFORE:
            ctx.say("prompt.day_before", number=seance.number, date=when, subject=subject)
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
            note_timebox(ctx, seance)

    @staticmethod
    def _really_ended(ctx: Context, seance: Seance) -> datetime:
        assert seance.opened_at is not None
        start = max(seance.planned_at or seance.opened_at, seance.opened_at)
        planned_end = start + expected_length(ctx.protocols.get(seance.protocol))
        return max(planned_end, seance.last_activity() or planned_end)

    async def _follow_up(self, ctx: Context, seance: Seance) -> None:
        circle = ctx.require_circle()
        items = await ctx.uow.items.for_circle(circle.id)
        open_actions = [i for i in items if i.kind is ItemKind.ACTION and i.done_at is None]
        if not open_actions:
            ctx.say("prompt.follow_up_none", number=seance.number)
            return
        still_open = ctx.tr.plural(ctx.lang, "report.open", len(open_actions))
        lines = [ctx.t("prompt.follow_up", number=seance.number, count=still_open)]
        lines += [followup.action_line(ctx, item) for item in open_actions]
        owners = tuple({i.owner for i in open_actions if i.owner})
        ctx.say_text("\n".join(lines), mentions=owners)
