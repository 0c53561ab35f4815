"""A circle as a conversation: `await chat.say("alice", "/tour")`, then read what the bot said."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.console.adapter import resolve_mention
from bot.app import CercleCore
from bot.commands.parser import ParsedCommand
from bot.dispatcher import Outcome
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect, LiveView, RecapPost, Reply, StatusView
from bot.events import CommandEvent
from bot.ports import UnitOfWorkFactory
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def user(name: str) -> UserRef:
    return UserRef("console", name)


class Chat:
    """Drives a core as people in one channel; keeps every effect it produced."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        channel: str = "salon",
        clock: ManualClock | None = None,
        core: CercleCore | None = None,
    ) -> None:
        self.clock = clock or ManualClock(START)
        self.core = core or CercleCore(uow_factory, self.clock)
        self.channel = ChannelRef("console", channel)
        self.effects: list[Effect] = []
        self.last: list[Effect] = []
        self.outcome: Outcome | None = None

    async def say(self, name: str, text: str, *, platform_facilitator: bool = False) -> Outcome:
        event = CommandEvent(
            channel=self.channel,
            author=user(name),
            author_name=name,
            text=text,
            platform_facilitator=platform_facilitator,
            resolve_user=resolve_mention,
            home="console:local",  # as the console adapter says it, with its default account
        )
        self.outcome = await self.core.handle(event)
        await self.core.outbox.done(*self.outcome.effects)  # seen here: delivered
        self.last = list(self.outcome.effects)
        self.effects.extend(self.last)
        return self.outcome

    async def use(
        self,
        name: str,
        key: str,
        names: Mapping[UserRef, str] | None = None,
        **args: Any,
    ) -> Outcome:
        """Send `key` (`action`, `seance phase`) with typed arguments, as a Discord slash
        command or button does: nothing in `args` is parsed as text."""
        found = self.core.dispatcher.parser.by_key(key)
        assert found is not None, key
        spec, parent = found
        event = CommandEvent(
            channel=self.channel,
            author=user(name),
            author_name=name,
            text="/" + key,
            resolve_user=resolve_mention,
            home="console:local",
            command=ParsedCommand(spec, args, parent),
            names=names or {},
        )
        self.outcome = await self.core.handle(event)
        self.last = list(self.outcome.effects)
        self.effects.extend(self.last)
        return self.outcome

    async def script(self, *lines: str) -> None:
        """Say each "name: text" line in turn; none may be refused."""
        for line in lines:
            name, _, text = line.partition(": ")
            await self.say(name, text)
            assert self.refused is None, f"{line!r} refused: {self.text}"

    async def wait(self, **span: float) -> list[Effect]:
        """Move the clock; everything the scheduler would wake meanwhile happens, in order."""
        self.clock.advance(timedelta(**span))
        scheduler = self.core.scheduler
        assert isinstance(scheduler, ManualScheduler)
        self.last = await scheduler.advance_to(self.clock.now())
        await self.core.outbox.done(*self.last)
        self.effects.extend(self.last)
        return self.last

    @property
    def texts(self) -> list[str]:
        """What the last command or wait made the bot say (public and private)."""
        return [e.text for e in self.last if isinstance(e, Reply)]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def private_to(self, name: str) -> list[str]:
        return [
            e.text for e in self.last if isinstance(e, Reply) and e.private and e.to == user(name)
        ]

    def public(self) -> list[str]:
        return [e.text for e in self.last if isinstance(e, Reply) and not e.private]

    def status(self) -> str | None:
        views = [e for e in self.effects if isinstance(e, StatusView)]
        return views[-1].text if views else None

    def live(self, kind: str) -> list[LiveView]:
        """The versions of a live message (bot/handlers/live.py) the last command or wait made."""
        return [e for e in self.last if isinstance(e, LiveView) and e.kind == kind]

    def live_text(self, kind: str) -> str | None:
        """The latest version of a live message of that kind, whenever it was made."""
        views = [e for e in self.effects if isinstance(e, LiveView) and e.kind == kind]
        return views[-1].text if views else None

    def recaps(self) -> list[str]:
        return [e.markdown for e in self.effects if isinstance(e, RecapPost)]

    @property
    def refused(self) -> str | None:
        return self.outcome.refused if self.outcome else None


async def start_circle(chat: Chat, *names: str, protocol: str | None = None) -> None:
    """`anim` creates the circle and opens a séance; each of `names` says they are here."""
    await chat.say("anim", "/cercle creer Test")
    if protocol:
        await chat.say("anim", f"/cercle protocole {protocol}")
    await chat.say("anim", "/seance")
    for name in names:
        await chat.say(name, "/present")
