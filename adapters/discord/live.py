"""Live messages on Discord (bot/handlers/live.py): posted once, then edited in place.

The RSVP question carries three buttons (`cercle:rsvp:yes|maybe|no`). Their custom ids are
fixed and registered as a persistent view, so they keep working on old messages after a
restart; which séance a click answers is read from the message itself (the core knows which
live message each platform message is), and the answer goes to the core as a typed `/presence`
that only members may give (`CommandEvent.members_only`): a non-member gets a private refusal.

A topic's thumbs vote (Lean Coffee) carries 👍 / 👎 (`cercle:thumbs:yes|no`), registered the
same way: a click is that person's `/prolonger oui|non` on the vote running in the channel,
members only; once the vote is decided the message is edited without its buttons.

The follow-up list gets no buttons: one row of four per action would soon pass Discord's limit
of 25 buttons, and a button on someone else's action could only be refused. Owners answer with
`/action fait|encours|bloque|aide <n>`, and the list is edited as they do. What does get
buttons is an owner's own reminder before the due date, sent as a direct message: done, in
progress, blocked, needs help, for that action alone (`answer_buttons`); a click there is the
owner's command in the circle's channel, and what it says publicly goes to that channel.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import discord

from adapters.delivery import Job, SendQueues
from adapters.discord.markup import pinging, safe
from bot.app import CercleCore
from bot.domain.refs import ChannelRef
from bot.effects import LiveView, Reply
from bot.i18n.catalog import CatalogTranslator

log = logging.getLogger(__name__)

PLATFORM = "discord"
MESSAGE_LIMIT = 2000
RSVP_PREFIX = "cercle:rsvp:"
STYLES = {
    "yes": discord.ButtonStyle.success,
    "maybe": discord.ButtonStyle.secondary,
    "no": discord.ButtonStyle.danger,
}
RSVP_IDS = frozenset(RSVP_PREFIX + answer for answer in STYLES)
# the thumbs vote on extending a Lean Coffee topic: 👍 / 👎 under its time-up message
THUMBS_PREFIX = "cercle:thumbs:"
THUMBS_STYLES = {"yes": discord.ButtonStyle.success, "no": discord.ButtonStyle.danger}


@dataclass(frozen=True, slots=True)
class Offer:
    """How a kind of live message offers its answers as buttons: custom id prefix, styles, and
    the catalog key of each label (`{}`: the answer)."""

    prefix: str
    styles: dict[str, discord.ButtonStyle]
    label: str


OFFERS = {
    "rsvp": Offer(RSVP_PREFIX, STYLES, "live.button.{}"),
    "topic_vote": Offer(THUMBS_PREFIX, THUMBS_STYLES, "live.button.extend_{}"),
}
LIVE_IDS = frozenset(offer.prefix + answer for offer in OFFERS.values() for answer in offer.styles)

# (interaction, kind of live message, answer): hand the click to the core as a typed command
Answer = Callable[[discord.Interaction, str, str], Awaitable[None]]
Attempt = Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[bool]]]


class LiveButtons(discord.ui.View):
    """The answers under a live message (yes / maybe / no under the RSVP question, 👍 / 👎
    under a topic's thumbs vote); persistent, so they work after a restart."""

    def __init__(
        self,
        answer: Answer,
        tr: CatalogTranslator,
        lang: str,
        answers: tuple[str, ...],
        kind: str = "rsvp",
    ):
        super().__init__(timeout=None)
        offer = OFFERS[kind]
        for value in answers:
            if value not in offer.styles:
                continue
            button: discord.ui.Button[LiveButtons] = discord.ui.Button(
                label=tr.text(lang, offer.label.format(value)),
                style=offer.styles[value],
                custom_id=offer.prefix + value,
            )
            button.callback = self._make(answer, kind, value)  # type: ignore[method-assign,assignment]
            self.add_item(button)

    @staticmethod
    def _make(
        answer: Answer, kind: str, value: str
    ) -> Callable[[discord.Interaction], Coroutine[Any, Any, None]]:
        async def callback(interaction: discord.Interaction) -> None:
            await answer(interaction, kind, value)

        return callback


class LiveSender:
    """Posts each live message once, then edits it; older versions still queued are skipped."""

    def __init__(
        self,
        core: CercleCore,
        queues: SendQueues,
        channel_of: Callable[[int], Awaitable[discord.abc.Messageable]],
        attempt: Attempt,
        answer: Answer,
    ) -> None:
        self._core = core
        self._queues = queues
        self._channel_of = channel_of
        self._attempt = attempt
        self._answer = answer
        self._text: dict[tuple[str, str, int, int], str] = {}
        self._message: dict[tuple[str, str, int, int], int] = {}

    def buttons(
        self, lang: str = "fr", answers: tuple[str, ...] | None = None, kind: str = "rsvp"
    ) -> LiveButtons:
        """The buttons of a kind of live message (all its answers unless told)."""
        offered = tuple(OFFERS[kind].styles) if answers is None else answers
        return LiveButtons(self._answer, self._core.translator, lang, offered, kind)

    def queue(self, view: LiveView) -> None:
        key = view.key
        room = view.channel.id
        if view.message_id and view.message_id.isdigit():
            self._message.setdefault(key, int(view.message_id))
        if self._text.get(key) == view.text:
            self._queues.put(room, Job(_nothing, view))
            return
        self._text[key] = view.text
        status_key = (f"live:{view.kind}:{room}:{view.round}", view.seance_id)
        version = self._queues.newer_status(status_key)

        async def send() -> None:
            channel = await self._channel_of(int(room))
            text = self._mentions(view) + safe(view.text, MESSAGE_LIMIT)
            offered = view.answers and not view.closed and view.kind in OFFERS
            buttons = self.buttons(view.lang, view.answers, view.kind) if offered else None
            existing = self._message.get(key) or await self._recorded(view)
            if existing is not None:
                shown = channel.get_partial_message(existing)  # type: ignore[attr-defined]
                await shown.edit(content=text[:MESSAGE_LIMIT], view=buttons)
                return
            kwargs: dict[str, Any] = {
                "content": text[:MESSAGE_LIMIT],
                "allowed_mentions": pinging(view.mentions, PLATFORM),
            }
            if buttons is not None:
                kwargs["view"] = buttons
            message = await channel.send(**kwargs)
            self._message[key] = message.id
            await self._core.live.record(view.kind, view.seance_id, str(message.id))

        job = Job(self._attempt(send), view, status_key=status_key, version=version)
        self._queues.put(room, job)

    async def _recorded(self, view: LiveView) -> int | None:
        """The message posted for it before (by a run that did not tell this one)."""
        found = await self._core.live.message_id(view.kind, view.seance_id)
        return int(found) if found and found.isdigit() else None

    @staticmethod
    def _mentions(view: LiveView) -> str:
        people = [f"<@{u.id}>" for u in view.mentions if u.platform == PLATFORM and u.id.isdigit()]
        return " ".join(people) + "\n" if people else ""

    async def target_number(self, interaction: discord.Interaction) -> int | None:
        """The number of the séance whose RSVP question was clicked, if the core knows it."""
        if interaction.message is None or interaction.channel_id is None:
            return None
        channel = ChannelRef(PLATFORM, str(interaction.channel_id))
        found = await self._core.live.target(channel, str(interaction.message.id))
        return found.number if found is not None and found.kind == "rsvp" else None


async def _nothing() -> bool:
    return True


# -- answers under a personal message (an action's reminder, in a direct message) ---------------

ANSWER_TEMPLATE = (
    r"cercle:do:(?P<channel>[0-9]{1,20}):(?P<command>[a-z.]{1,40}):(?P<number>[0-9]{1,7})"
)
ANSWER_STYLES = {
    "action.fait": discord.ButtonStyle.success,
    "action.encours": discord.ButtonStyle.primary,
    "action.bloque": discord.ButtonStyle.danger,
    "action.aide": discord.ButtonStyle.secondary,
}

# (interaction, circle's channel id, command key, number): hand the click to the core
Act = Callable[[discord.Interaction, int, str, int], Awaitable[None]]


def answer_buttons(act: Act) -> type[discord.ui.DynamicItem[discord.ui.Button[Any]]]:
    """The class of the buttons under a personal message: each says which circle (its channel),
    which command and which item, in its custom id, so it works from a direct message and after
    a restart (registered with `Client.add_dynamic_items`)."""

    class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ANSWER_TEMPLATE):
        def __init__(self, channel: int, command: str, number: int, label: str = "") -> None:
            super().__init__(
                discord.ui.Button(
                    label=label or command,
                    style=ANSWER_STYLES.get(command, discord.ButtonStyle.secondary),
                    custom_id=f"cercle:do:{channel}:{command}:{number}",
                )
            )
            self.channel, self.command, self.number = channel, command, number

        @classmethod
        async def from_custom_id(
            cls,
            interaction: discord.Interaction,
            item: discord.ui.Item[Any],
            match: re.Match[str],
        ) -> AnswerButton:
            return cls(int(match["channel"]), match["command"], int(match["number"]))

        async def callback(self, interaction: discord.Interaction) -> None:
            await act(interaction, self.channel, self.command, self.number)

    return AnswerButton


def answers_view(
    buttons: type[discord.ui.DynamicItem[discord.ui.Button[Any]]], reply: Reply
) -> discord.ui.View | None:
    """The buttons for a reply's `answers`, or None when it offers none."""
    if not reply.answers:
        return None
    view = discord.ui.View(timeout=None)
    for answer in reply.answers[:25]:
        label = answer.label[:80]
        button = buttons(int(reply.channel.id), answer.command, answer.number, label)  # type: ignore[arg-type,call-arg]
        view.add_item(button)
    return view
