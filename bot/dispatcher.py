"""The one door for commands: parse, find the circle, check membership and role, run, commit.

Permissions are checked here, once, before any handler runs. A refusal rolls the transaction
back, so a refused command changes nothing, and answers the sender alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.commands.context import Context
from bot.commands.hints import refusal_hint
from bot.commands.parser import CommandParser, ParsedCommand
from bot.commands.spec import CommandSpec
from bot.domain.circle import LANGUAGES, Circle, CircleSettings
from bot.domain.protocol import ProtocolBook
from bot.domain.roles import Role
from bot.effects import Effect, Reply
from bot.errors import Refusal, TryAgain, again_on_conflict
from bot.events import CommandEvent
from bot.locks import KeyedLocks
from bot.outbox import record, settle_drawn
from bot.pages.links import LinkIssuer
from bot.ports import Scheduler, Translator, UnitOfWorkFactory
from bot.recaps.drawing import Drawing, finish
from bot.timing.clock import Clock
from bot.timing.schedule import apply_wakeups, note_timebox
from bot.views.status import status_view
from bot.views.wording import floor_messages
from bot.voice import floor_speaker

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one event produced; `refused` names the refusal's key if there was one."""

    effects: list[Effect]
    command: str | None = None
    refused: str | None = None
    seconds: float = 0.0  # how long handling took, waiting for the circle's lock included
    duplicate: bool = False  # the platform event was handled before: nothing was done


class Dispatcher:
    """Routes command events to handlers inside one unit of work each."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        translator: Translator,
        protocols: ProtocolBook,
        commands: Sequence[CommandSpec],
        locks: KeyedLocks,
        scheduler: Scheduler,
        on_outcome: Callable[[Outcome], None] | None = None,
        defaults: CircleSettings | None = None,
        links: LinkIssuer | None = None,
    ) -> None:
        self._defaults = defaults or CircleSettings()
        self._links = links
        self._uow_factory = uow_factory
        self._clock = clock
        self._tr = translator
        self._protocols = protocols
        self._commands = tuple(commands)
        self._parser = CommandParser(self._commands)
        self._locks = locks
        self._scheduler = scheduler
        self._on_outcome = on_outcome
        self.handled: defaultdict[str, int] = defaultdict(int)

    @property
    def defaults(self) -> CircleSettings:
        return self._defaults

    @property
    def parser(self) -> CommandParser:
        return self._parser

    async def handle(self, event: CommandEvent) -> Outcome:
        began = time.perf_counter()
        drawings: list[Drawing] = []
        async with self._locks.hold(event.channel.key):
            try:
                outcome, drawings = await again_on_conflict(lambda: self._handle(event))
            except Exception:
                # the store itself failed (database unreachable): nothing was recorded, say so
                log.exception("a command could not be handled")
                failed = Refusal("command.failed")
                outcome = self._refused(event, self._defaults.language, failed, None)
            else:
                if outcome.refused is not None and event.event_id is not None:
                    await self._remember(event.event_id)
        if drawings:  # charts are drawn once the circle's next command may already run
            drawn = await finish(outcome.effects, drawings)
            await settle_drawn(self._uow_factory, outcome.effects, drawn, self._clock.now())
            outcome = dataclasses.replace(outcome, effects=drawn)
        outcome = dataclasses.replace(outcome, seconds=time.perf_counter() - began)
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome

    async def _remember(self, event_id: str) -> None:
        """A refused command changed nothing, but it was handled: not again on a replay."""
        try:
            async with self._uow_factory() as uow:
                if not await uow.handled.seen(event_id):
                    await uow.handled.add(event_id, self._clock.now())
                await uow.commit()
        except Exception:
            log.exception("could not record the handled event %s", event_id)

    async def _handle(self, event: CommandEvent) -> tuple[Outcome, list[Drawing]]:
        """The outcome, with the charts still to draw once the lock is released."""
        outcome, drawings, joinable_in = await self._attempt(event)
        if outcome.refused is None or joinable_in is None:
            return outcome, drawings
        # A newcomer's refused command still makes them a member: nobody is lost on the way
        # in. In its own transaction, once the refused one is over (SQLite has one writer).
        if not await self._join_anyway(event, self._clock.now()):
            return outcome, drawings
        joined = self._tr.text(joinable_in, "circle.joined_anyway")
        effects = [
            dataclasses.replace(e, text=f"{e.text}\n{joined}") if isinstance(e, Reply) else e
            for e in outcome.effects
        ]
        return dataclasses.replace(outcome, effects=effects), drawings

    async def _attempt(self, event: CommandEvent) -> tuple[Outcome, list[Drawing], str | None]:
        """Handle the command in one transaction; with the charts to draw after the lock, and
        the language to say so in when its author, unknown to the circle, would join it even
        though the command was refused."""
        async with self._uow_factory() as uow:
            if event.event_id is not None and await uow.handled.seen(event.event_id):
                await uow.commit()
                log.info("event %s was handled already; ignored", event.event_id)
                return Outcome([], duplicate=True), [], None
            circle = await uow.circles.by_channel(event.channel)
            lang = circle.settings.language if circle else self._language_for(event)
            now = self._clock.now()
            joinable_in = lang if circle is not None and self._joins(circle, event) else None
            try:
                if event.command is not None:
                    parsed = self._parser.check(event.command)
                else:
                    parsed = self._parser.parse(event.text, event.resolve_user)
            except Refusal as refusal:
                return self._refused(event, lang, refusal, None), [], joinable_in
            ctx = Context(
                uow=uow,
                circle=circle,
                channel=event.channel,
                author=event.author,
                author_name=event.author_name,
                role=Role.ANYONE,
                now=now,
                tr=self._tr,
                protocols=self._protocols,
                commands=self._commands,
                defaults=self._defaults,
                fallback_lang=lang,
                english_command=parsed.english,
                resolve_user=event.resolve_user,
                links=self._links,
                names=event.names,
                resolve_voice=event.resolve_voice,
                event_id=event.event_id,
            )
            try:
                await self._run(ctx, event, parsed)
                if ctx.circle is not None:
                    ctx.circle.settle(event.home, event.shard_key)
                if ctx.seance is not None:
                    note_timebox(ctx, ctx.seance)
                if event.event_id is not None:
                    await uow.handled.add(event.event_id, now)
                home, shard = event.home, event.shard_key
                if ctx.circle is not None and ctx.circle.home is not None:
                    home, shard = ctx.circle.home, ctx.circle.shard_key
                if event.direct:
                    ctx.effects = [confidential_if_direct(e, event) for e in ctx.effects]
                ctx.effects = await record(uow, ctx.effects, home, shard, now, ctx.drawings)
                await uow.commit()
            except Refusal as refusal:
                await uow.rollback()
                return self._refused(event, lang, refusal, parsed.spec.key), [], joinable_in
            except TryAgain:
                raise  # rolled back; handle() runs the command again on fresh data
            except Exception:
                await uow.rollback()
                log.exception("command %s failed", parsed.spec.key)
                failed = Refusal("command.failed")
                return self._refused(event, lang, failed, parsed.spec.key), [], None
        apply_wakeups(self._scheduler, ctx.wakeups)
        self.handled[parsed.spec.key] += 1
        return Outcome(ctx.effects, parsed.spec.key), ctx.drawings, None

    async def _run(self, ctx: Context, event: CommandEvent, parsed: ParsedCommand) -> None:
        spec = parsed.spec
        circle = ctx.circle
        if circle is None:
            if spec.needs_circle:
                raise Refusal("circle.none_here")
        else:
            platform_role = Role.FACILITATOR if event.platform_facilitator else Role.ANYONE
            member = circle.member(event.author)
            if member is None and event.members_only:
                raise Refusal("live.members_only")
            if member is None and (circle.settings.roster_open or event.platform_facilitator):
                member = circle.add_member(
                    event.author, event.author_name, Role.PARTICIPANT, ctx.now
                )
            elif member is None and spec.role > Role.ANYONE:
                raise Refusal("circle.roster_closed")
            elif member is not None and event.author_name != member.display_name:
                member.display_name = event.author_name or member.display_name
            ctx.role = max(member.role if member else Role.ANYONE, platform_role)
            ctx.seance = await ctx.uow.seances.open_for(circle.id)
        if ctx.role < spec.role:
            speaking = ctx.seance is not None and ctx.seance.speaker == event.author
            if spec.key == "suivant" and speaking:  # "next" said by the speaker: they are done
                raise Refusal("permission.next_while_speaking")
            raise Refusal("permission.facilitator_only", command=spec.key.replace(".", " "))
        needs_platform_role = spec.platform_role > Role.ANYONE and event.platform_knows_roles
        if needs_platform_role and not event.platform_facilitator:
            raise Refusal("permission.channel_managers_only", command=spec.key.replace(".", " "))
        seance = ctx.seance
        is_member = circle is not None and event.author in circle.members
        present = spec.marks_present and is_member and not event.remote
        if circle is not None and seance is not None and present:
            change = seance.mark_present(event.author, circle.settings.queue_order, ctx.now)
            if change is not None and change.started is not None:
                ctx.effects.extend(floor_messages(self._tr, circle, seance, change, ctx.now))
        assert spec.handler is not None
        await spec.handler(ctx, parsed.args)
        for step in ctx.finally_do:
            await step()
        seance = ctx.seance
        if ctx.circle is not None and seance is not None:
            ctx.effects.append(status_view(self._tr, ctx.circle, seance, ctx.now))
            ctx.effects.extend(floor_speaker(ctx.circle, seance))

    @staticmethod
    def _joins(circle: Circle, event: CommandEvent) -> bool:
        """Whether this command makes its author a member, whatever becomes of the command."""
        open_door = circle.settings.roster_open or event.platform_facilitator
        return open_door and not event.members_only and circle.member(event.author) is None

    async def _join_anyway(self, event: CommandEvent, now: datetime) -> bool:
        """Record a newcomer whose first command was refused: nobody is lost on the way in."""
        async with self._uow_factory() as uow:
            circle = await uow.circles.by_channel(event.channel)
            if circle is None or not self._joins(circle, event):
                return False
            circle.add_member(event.author, event.author_name, Role.PARTICIPANT, now)
            circle.settle(event.home, event.shard_key)
            await uow.commit()
        return True

    def _language_for(self, event: CommandEvent) -> str:
        """Where there is no circle: the platform's locale for this person, else the default."""
        hint = (event.locale or "").split("-")[0].split("_")[0].casefold()
        return hint if hint in LANGUAGES else self._defaults.language

    def _localise_args(self, lang: str, args: dict[str, Any]) -> dict[str, Any]:
        """Turn a refusal's `usage` (a command key) and `arg` (a name) into the user's words."""
        out = dict(args)
        suggested = self._parser.by_key(str(args["suggestion"])) if "suggestion" in args else None
        if suggested is not None:
            spec, parent = suggested
            out["suggestion"] = " ".join(w.name(lang) for w in (parent, spec) if w is not None)
        found = self._parser.by_key(str(args["usage"])) if "usage" in args else None
        if found is None:
            return out
        spec, parent = found
        out["usage"] = spec.usage(lang, parent.name(lang) if parent else None)
        for arg in spec.args:
            if arg.name == args.get("arg"):
                out["arg"] = arg.label(lang)
        return out

    def _refused(
        self, event: CommandEvent, lang: str, refusal: Refusal, command: str | None
    ) -> Outcome:
        text = self._tr.text(lang, refusal.key, **self._localise_args(lang, refusal.args_))
        hint = refusal_hint(self._tr, lang, self._parser, refusal)
        if hint:
            text += "\n" + hint
        reply = Reply(event.channel, text, to=event.author, private=True, confidential=event.direct)
        return Outcome([reply], command, refused=refusal.key)


def confidential_if_direct(effect: Effect, event: CommandEvent) -> Effect:
    """A private answer to a command sent by direct message goes back to that person alone."""
    if isinstance(effect, Reply) and effect.private and effect.to == event.author:
        return dataclasses.replace(effect, confidential=True)
    return effect
