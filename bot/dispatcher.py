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
from bot.commands.parser import CommandParser, ParsedCommand
from bot.commands.spec import CommandSpec
from bot.domain.circle import LANGUAGES, Circle, CircleSettings
from bot.domain.protocol import ProtocolBook
from bot.domain.roles import Role
from bot.effects import Effect, Reply
from bot.errors import Refusal, TryAgain, again_on_conflict
from bot.events import CommandEvent
from bot.locks import KeyedLocks
from bot.ports import Scheduler, Translator, UnitOfWorkFactory
from bot.recaps.drawing import finish
from bot.timing.clock import Clock
from bot.timing.schedule import apply_wakeups, note_timebox
from bot.views.status import status_view
from bot.views.wording import floor_messages

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one event produced; `refused` names the refusal's key if there was one."""

    effects: list[Effect]
    command: str | None = None
    refused: str | None = None
    seconds: float = 0.0  # how long handling took, waiting for the circle's lock included


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
    ) -> None:
        self._defaults = defaults or CircleSettings()
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
    def parser(self) -> CommandParser:
        return self._parser

    async def handle(self, event: CommandEvent) -> Outcome:
        began = time.perf_counter()
        async with self._locks.hold(event.channel.key):
            try:
                outcome = await again_on_conflict(lambda: self._handle(event))
            except Exception:
                # the store itself failed (database unreachable): nothing was recorded, say so
                log.exception("a command could not be handled")
                failed = Refusal("command.failed")
                outcome = self._refused(event, self._defaults.language, failed, None)
        outcome = dataclasses.replace(outcome, seconds=time.perf_counter() - began)
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome

    async def _handle(self, event: CommandEvent) -> Outcome:
        outcome, joinable_in = await self._attempt(event)
        if outcome.refused is None or joinable_in is None:
            return outcome
        # A newcomer's refused command still makes them a member: nobody is lost on the way
        # in. In its own transaction, once the refused one is over (SQLite has one writer).
        if not await self._join_anyway(event, self._clock.now()):
            return outcome
        joined = self._tr.text(joinable_in, "circle.joined_anyway")
        effects = [
            dataclasses.replace(e, text=f"{e.text}\n{joined}") if isinstance(e, Reply) else e
            for e in outcome.effects
        ]
        return dataclasses.replace(outcome, effects=effects)

    async def _attempt(self, event: CommandEvent) -> tuple[Outcome, str | None]:
        """Handle the command in one transaction; with the language to say so in, when its
        author, unknown to the circle, would join it even though the command was refused."""
        async with self._uow_factory() as uow:
            circle = await uow.circles.by_channel(event.channel)
            lang = circle.settings.language if circle else self._language_for(event)
            now = self._clock.now()
            joinable_in = lang if circle is not None and self._joins(circle, event) else None
            try:
                parsed = self._parser.parse(event.text, event.resolve_user)
            except Refusal as refusal:
                return self._refused(event, lang, refusal, None), joinable_in
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
            )
            try:
                await self._run(ctx, event, parsed)
                if ctx.circle is not None:
                    ctx.circle.settle(event.home, event.shard_key)
                if ctx.seance is not None:
                    note_timebox(ctx, ctx.seance)
                await uow.commit()
            except Refusal as refusal:
                await uow.rollback()
                return self._refused(event, lang, refusal, parsed.spec.key), joinable_in
            except TryAgain:
                raise  # rolled back; handle() runs the command again on fresh data
            except Exception:
                await uow.rollback()
                log.exception("command %s failed", parsed.spec.key)
                failed = Refusal("command.failed")
                return self._refused(event, lang, failed, parsed.spec.key), None
        apply_wakeups(self._scheduler, ctx.wakeups)
        self.handled[parsed.spec.key] += 1
        return Outcome(await finish(ctx.effects, ctx.drawings), parsed.spec.key), None

    async def _run(self, ctx: Context, event: CommandEvent, parsed: ParsedCommand) -> None:
        spec = parsed.spec
        circle = ctx.circle
        if circle is None:
            if spec.needs_circle:
                raise Refusal("circle.none_here")
        else:
            platform_role = Role.FACILITATOR if event.platform_facilitator else Role.ANYONE
            member = circle.member(event.author)
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
            raise Refusal("permission.facilitator_only", command=spec.key.replace(".", " "))
        needs_platform_role = spec.platform_role > Role.ANYONE and event.platform_knows_roles
        if needs_platform_role and not event.platform_facilitator:
            raise Refusal("permission.channel_managers_only", command=spec.key.replace(".", " "))
        seance = ctx.seance
        is_member = circle is not None and event.author in circle.members
        if circle is not None and seance is not None and spec.marks_present and is_member:
            change = seance.mark_present(event.author, circle.settings.queue_order, ctx.now)
            if change is not None and change.started is not None:
                ctx.effects.extend(floor_messages(self._tr, circle, seance, change, ctx.now))
        assert spec.handler is not None
        await spec.handler(ctx, parsed.args)
        seance = ctx.seance
        if ctx.circle is not None and seance is not None:
            ctx.effects.append(status_view(self._tr, ctx.circle, seance, ctx.now))

    @staticmethod
    def _joins(circle: Circle, event: CommandEvent) -> bool:
        """Whether this command makes its author a member, whatever becomes of the command."""
        open_door = circle.settings.roster_open or event.platform_facilitator
        return open_door and circle.member(event.author) is None

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
        reply = Reply(event.channel, text, to=event.author, private=True)
        return Outcome([reply], command, refused=refusal.key)
