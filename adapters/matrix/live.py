"""Live messages on Matrix (bot/handlers/live.py): posted once, then edited with `m.replace`;
answers to the RSVP question as reactions.

The RSVP question is answered with a reaction to it: 👍 yes, 👎 no, 🤔 maybe (a skin tone or
an emoji variant counts the same). The bot seeds the three reactions under its question so they
are one click away in Element. Each counted reaction is a typed `/presence` for that séance,
members only, handled once (its event id). Removing one's reaction (a redaction) withdraws the
answer it gave if it is still one's answer; a reaction elsewhere, or by someone not in the
circle, is only a reaction. The message is the answer's confirmation: the bot does not write
"noted" in the room for each reaction (Matrix has no private replies in a room).

A Lean Coffee topic's thumbs vote is answered the same way: 👍 go on, 👎 next topic, seeded
under the time-up message; each is that person's `/prolonger oui|non` on the running vote,
members only, handled once. Once the vote is decided the message says so and reactions on it
are only reactions (no refusal posted). Removing a thumbs does not take the vote back: 👎 after
👍 (or `/prolonger non`) changes it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from adapters.delivery import Job, SendQueues
from adapters.matrix.render import to_html
from bot.app import CercleCore
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import LiveView, Reply
from bot.live import LiveTarget

log = logging.getLogger(__name__)

PLATFORM = "matrix"
ANSWERS = {"👍": "yes", "👎": "no", "🤔": "maybe"}
SEEDED = ("👍", "👎", "🤔")

Send = Callable[[str, dict[str, Any], str], Awaitable[str | None]]  # room, content, tx → id
React = Callable[[str, str, str, str], Awaitable[str | None]]  # room, event, key, tx → id
Content = Callable[[str, Reply], dict[str, Any]]  # a reply's content (pills, m.mentions)


def answer_of(key: str) -> str | None:
    """The RSVP answer a reaction key gives, if any (`👍🏽`, `👍️` are 👍)."""
    return next((answer for emoji, answer in ANSWERS.items() if key.startswith(emoji)), None)


class LiveSender:
    """Posts each live message once, then edits it; older versions still queued are skipped."""

    def __init__(
        self, core: CercleCore, queues: SendQueues, send: Send, react: React, content: Content
    ) -> None:
        self._core = core
        self._queues = queues
        self._send = send
        self._react = react
        self._content = content
        self._text: dict[tuple[str, str, int, int], str] = {}
        self._event: dict[tuple[str, str, int, int], str] = {}

    def shows(self, event_id: str) -> bool:
        """Whether this process posted or edited that event as a live message."""
        return event_id in self._event.values()

    def queue(self, view: LiveView, tx: Iterator[str]) -> None:
        key = view.key
        room_id = view.channel.id
        if view.message_id:
            self._event.setdefault(key, view.message_id)
        if self._text.get(key) == view.text:
            self._queues.put(room_id, Job(_nothing, view))
            return
        self._text[key] = view.text
        status_key = (f"live:{view.kind}:{room_id}:{view.round}", view.seance_id)
        version = self._queues.newer_status(status_key)
        first_tx, edit_tx = next(tx), next(tx)
        seed_tx = [next(tx) for _ in SEEDED]

        async def send() -> bool:
            original = self._event.get(key) or await self._core.live.message_id(
                view.kind, view.seance_id
            )
            if original is None:
                content = self._content(
                    room_id, Reply(view.channel, view.text, mentions=view.mentions)
                )
                event_id = await self._send(room_id, content, first_tx)
                if event_id is None:
                    return False
                self._event[key] = event_id
                await self._core.live.record(view.kind, view.seance_id, event_id)
                if view.answers and not view.closed:
                    for emoji, tx_id in zip(SEEDED, seed_tx, strict=True):
                        if ANSWERS[emoji] in view.answers:
                            await self._react(room_id, event_id, emoji, tx_id)
                return True
            self._event[key] = original
            html = to_html(view.text)
            new = {"msgtype": "m.text", "body": view.text, "format": "org.matrix.custom.html"}
            new["formatted_body"] = html
            content = {**new, "body": "* " + view.text, "formatted_body": "* " + html}
            content["m.new_content"] = new
            content["m.relates_to"] = {"rel_type": "m.replace", "event_id": original}
            content["m.mentions"] = {}
            return await self._send(room_id, content, edit_tx) is not None

        self._queues.put(room_id, Job(send, view, status_key=status_key, version=version))

    async def target(self, room_id: str, target: str) -> LiveTarget | None:
        """Which live message `target` is, if it is one."""
        return await self._core.live.target(ChannelRef(PLATFORM, room_id), target)

    async def withdraw(self, room_id: str, sender: str, redacts: str, event_id: str) -> list[Any]:
        """A redaction: the answer the redacted reaction gave goes, if it still stands."""
        return await self._core.live.withdraw(
            ChannelRef(PLATFORM, room_id),
            UserRef(PLATFORM, sender),
            f"{PLATFORM}:{redacts}",
            f"{PLATFORM}:{event_id}",
        )


async def _nothing() -> bool:
    return True
