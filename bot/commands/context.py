"""What a handler gets: the transaction, the circle, who is asking, and ways to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.commands.spec import CommandSpec
from bot.domain.circle import Circle, CircleSettings
from bot.domain.protocol import ProtocolBook
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.roles import Role
from bot.domain.seance import Seance
from bot.domain.voice import VoiceRoom
from bot.effects import Effect, Moment, Reply
from bot.errors import Refusal
from bot.pages.links import LinkIssuer
from bot.ports import Translator, UnitOfWork, Wakeup
from bot.recaps.drawing import Drawing

SYSTEM = UserRef("system", "cercle")


@dataclass(slots=True)
class Context:
    """One command being handled; handlers add effects and raise `Refusal` to say no."""

    uow: UnitOfWork
    circle: Circle | None
    channel: ChannelRef
    author: UserRef
    author_name: str
    role: Role
    now: datetime
    tr: Translator
    protocols: ProtocolBook
    commands: tuple[CommandSpec, ...] = ()
    defaults: CircleSettings = field(default_factory=CircleSettings)
    effects: list[Effect] = field(default_factory=list)
    wakeups: dict[str, Wakeup | None] = field(default_factory=dict)  # applied after commit
    seance: Seance | None = None  # the open séance, when the dispatcher loaded one
    drawings: list[Drawing] = field(default_factory=list)  # charts drawn after commit
    fallback_lang: str = "fr"  # where there is no circle: the person's locale or the default
    english_command: bool = False  # the command was typed by its English name
    resolve_user: Callable[[str], UserRef | None] | None = None  # a mention as typed → person
    links: LinkIssuer | None = None  # makes private page links (/lien); None: no web pages
    names: Mapping[UserRef, str] = field(default_factory=dict)  # as the platform sent them
    resolve_voice: Callable[[str], VoiceRoom | None] | None = None  # see CommandEvent
    event_id: str | None = None  # the platform event the command came from (see CommandEvent)
    # séance id → (its number before this command, its number now), from renumber_seances
    renumbered: dict[int, tuple[int, int]] = field(default_factory=dict)
    new_seances: set[int] = field(default_factory=set)  # created by this command
    # run by the dispatcher once the handler is done (a note on what the whole command changed)
    finally_do: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.circle.settings.language if self.circle else self.fallback_lang

    @property
    def tz(self) -> str:
        return self.circle.settings.timezone if self.circle else "Europe/Paris"

    @classmethod
    def for_system(
        cls,
        uow: UnitOfWork,
        circle: Circle,
        now: datetime,
        tr: Translator,
        protocols: ProtocolBook,
        seance: Seance | None = None,
    ) -> Context:
        """A context for what the bot does by itself (time boxes, prompts)."""
        return cls(
            uow=uow,
            circle=circle,
            channel=circle.channel,
            author=SYSTEM,
            author_name="Cercle",
            role=Role.FACILITATOR,
            now=now,
            tr=tr,
            protocols=protocols,
            seance=seance,
        )

    def require_circle(self) -> Circle:
        if self.circle is None:
            raise Refusal("circle.none_here")
        return self.circle

    def require_open_seance(self) -> Seance:
        if self.seance is None or not self.seance.is_open:
            raise Refusal("seance.none_open")
        return self.seance

    def t(self, key: str, **args: Any) -> str:
        return self.tr.text(self.lang, key, **args)

    def name(self, user: UserRef) -> str:
        """A member's name; for someone not in the roster, the name the platform sent along."""
        if self.circle is not None and user in self.circle.members:
            return self.circle.name_of(user)
        return self.names.get(user) or user.id

    def moment(self, at: datetime) -> Moment:
        """`at` as the circle reads it (its language and zone), kept with the instant itself."""
        return Moment(self.tr.datetime_text(self.lang, self.tz, at), at)

    def say(
        self,
        key: str,
        *,
        mentions: Iterable[UserRef] = (),
        moments: Iterable[Moment] = (),
        **args: Any,
    ) -> None:
        """A public message in the circle's channel."""
        text = self.t(key, **args)
        self.effects.append(
            Reply(self.channel, text, mentions=tuple(mentions), moments=tuple(moments))
        )

    def say_text(
        self, text: str, *, mentions: Iterable[UserRef] = (), moments: Iterable[Moment] = ()
    ) -> None:
        self.effects.append(
            Reply(self.channel, text, mentions=tuple(mentions), moments=tuple(moments))
        )

    def tell(self, key: str, **args: Any) -> None:
        """A personal answer to whoever sent the command."""
        self.effects.append(Reply(self.channel, self.t(key, **args), to=self.author, private=True))

    def tell_text(
        self, text: str, *, confidential: bool = False, moments: Iterable[Moment] = ()
    ) -> None:
        self.effects.append(
            Reply(
                self.channel,
                text,
                to=self.author,
                private=True,
                confidential=confidential,
                moments=tuple(moments),
            )
        )

    def tell_to(self, user: UserRef, text: str) -> None:
        """A confidential note for one person (a facilitator), wherever the command came from."""
        self.effects.append(Reply(self.channel, text, to=user, private=True, confidential=True))

    def draw(self, drawing: Drawing, *effects: Effect) -> None:
        """Append `effects` and have `drawing` attach its chart to them after commit."""
        drawing.targets.extend(effects)
        self.effects.extend(effects)
        self.drawings.append(drawing)
