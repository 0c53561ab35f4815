"""Answers to the preparation question sent by direct message to the bot.

A direct message carries no circle: the person may be in several. It goes to the one circle
whose preparation question is out (the next planned séance has one, and the bot has sent it);
when there are several, the bot asks which, listing them with numbers, and an answer starting
with one of those numbers goes there. It never guesses. The answer itself goes through the
ordinary door (`/prepa <texte>` in that circle's channel, marked `direct` and `remote`), so the
same checks, the handled-once event id and the outbox apply, and the confirmation comes back
as a confidential reply: by direct message, where the person wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.parser import ParsedCommand
from bot.dispatcher import Dispatcher, Outcome
from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.seance import SeanceStatus
from bot.effects import Reply
from bot.events import CommandEvent
from bot.locks import KeyedLocks
from bot.ports import Translator, UnitOfWorkFactory
from bot.timing.clock import Clock

_TYPED_COMMAND = re.compile(r"^[/!](?:prepa|prep|preparation)\b", re.IGNORECASE)
_CHOSEN = re.compile(r"^\s*(\d{1,2})\s*[.):-]?\s+(.+)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """Text a person sent to the bot in a direct conversation (`channel`)."""

    channel: ChannelRef
    author: UserRef
    author_name: str
    text: str
    event_id: str | None = None
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """A circle of the person whose preparation question is out."""

    circle_id: int
    channel: ChannelRef
    name: str
    lang: str
    number: int
    question: str
    home: str | None
    shard_key: int | None


class DirectAnswers:
    """Routes direct messages to `/prepa` in the right circle, or asks which."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        translator: Translator,
        locks: KeyedLocks,
        dispatcher: Dispatcher,
        default_lang: str,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._tr = translator
        self._locks = locks
        self._dispatcher = dispatcher
        self._default_lang = default_lang

    async def open_questions(self, user: UserRef) -> list[OpenQuestion]:
        """The circles of `user` whose next séance's preparation question has gone out."""
        async with self._uow_factory() as uow:
            channels = await uow.circles.of_member(user)
            await uow.commit()
        found: list[OpenQuestion] = []
        for circle_id, channel in channels.items():
            async with self._locks.hold(channel.key), self._uow_factory() as uow:
                circle = await uow.circles.get(circle_id)
                now = self._clock.now()
                planned = [
                    s
                    for s in await uow.seances.summaries(circle_id, (SeanceStatus.PLANNED,))
                    if s.planned_at is None or s.planned_at > now
                ]
                nearest = min(planned, key=lambda s: (s.planned_at or now, s.number), default=None)
                sent = False
                if nearest is not None and nearest.prep_question:
                    prompts = await uow.prompts.for_seance(nearest.id)
                    sent = any(
                        p.kind is PromptKind.PREPARATION and p.sent_at is not None for p in prompts
                    )
                await uow.commit()
            if circle is None or nearest is None or not sent:
                continue
            found.append(
                OpenQuestion(
                    circle_id,
                    channel,
                    circle.name,
                    circle.settings.language,
                    nearest.number,
                    nearest.prep_question or "",
                    circle.home,
                    circle.shard_key,
                )
            )
        return found

    async def handle(self, message: DirectMessage) -> Outcome:
        """Record the answer in the one circle it is for, or ask which circle it is for."""
        questions = await self.open_questions(message.author)
        text = _TYPED_COMMAND.sub("", message.text.strip(), count=1).strip()
        if len(questions) > 1:
            chosen = _CHOSEN.match(text)
            index = int(chosen.group(1)) if chosen else 0
            if not 1 <= index <= len(questions):
                return self._which(message, questions)
            questions, text = [questions[index - 1]], chosen.group(2).strip() if chosen else text
        if not questions:
            lang = self._lang_of(message)
            return Outcome([self._reply(message, self._tr.text(lang, "direct.no_question"))])
        return await self._answer(message, questions[0], text)

    async def _answer(self, message: DirectMessage, question: OpenQuestion, text: str) -> Outcome:
        found = self._dispatcher.parser.by_key("prepa")
        assert found is not None
        spec, _ = found
        event = CommandEvent(
            channel=question.channel,
            author=message.author,
            author_name=message.author_name,
            text="/prepa",
            command=ParsedCommand(spec, {"text": text}),
            platform_knows_roles=True,
            home=question.home,
            shard_key=question.shard_key,
            event_id=message.event_id,
            remote=True,
            direct=True,
        )
        return await self._dispatcher.handle(event)

    def _which(self, message: DirectMessage, questions: list[OpenQuestion]) -> Outcome:
        lang = questions[0].lang
        lines = [self._tr.text(lang, "direct.which")]
        lines += [
            self._tr.text(
                lang,
                "direct.which_line",
                index=i,
                circle=q.name,
                number=q.number,
                question=q.question,
            )
            for i, q in enumerate(questions, start=1)
        ]
        lines.append(self._tr.text(lang, "direct.which_how"))
        return Outcome([self._reply(message, "\n".join(lines))])

    def _lang_of(self, message: DirectMessage) -> str:
        hint = (message.locale or "").split("-")[0].casefold()
        return hint if hint in ("fr", "en") else self._default_lang

    @staticmethod
    def _reply(message: DirectMessage, text: str) -> Reply:
        return Reply(message.channel, text, to=message.author, private=True, confidential=True)
