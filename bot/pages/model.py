"""The circle's web page as plain data: what a template lays out, already worded.

Recaps are the very HTML Matrix gets (`bot/recaps/html.py`, from the one recap model): the page
adds no wording of its own to a recap, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.refs import UserRef
from bot.domain.roles import Role
from bot.effects import Effect


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a valid link speaks for: a member of one circle, with the lower of the link's role
    and their role today."""

    circle_id: int
    user: UserRef
    name: str
    role: Role
    circle_lang: str

    @property
    def facilitates(self) -> bool:
        return self.role >= Role.FACILITATOR


@dataclass(frozen=True, slots=True)
class RsvpGroup:
    """The members who gave one answer (yes, maybe, no) for a séance, by name."""

    answer: str  # yes, maybe, no
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Coming:
    """Who says they will come to a planned séance, and what the viewer answered: what
    `/presence` says in the chat. `silent` (no answer yet) is filled for facilitators only."""

    groups: tuple[RsvpGroup, ...]  # yes, maybe, no: in that order, each even when empty
    silent: tuple[str, ...]
    mine: str | None  # the viewer's answer, None if they gave none

    @property
    def answered(self) -> int:
        return sum(len(g.names) for g in self.groups)


@dataclass(frozen=True, slots=True)
class SeanceLine:
    """One séance of the plan."""

    number: int
    status: str  # planned, open, closed, cancelled
    when: str  # written out in the page's language and the circle's zone; "" if unknown
    when_iso: str  # for <time datetime=…>
    subject: str | None
    question: str | None
    protocol: str
    coming: Coming | None = None  # planned séances only: one can still answer /presence


@dataclass(frozen=True, slots=True)
class RecapBlock:
    """A past séance's recap: its HTML (escaped, from the recap model) and its chart."""

    number: int
    html: str
    chart_alt: str | None  # None: no chart (nobody spoke)
    draft: bool


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """A decision or an action, with its owner and due date for actions."""

    number: int
    text: str
    owner: str | None = None
    due: str | None = None
    done: bool = False
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class CirclePage:
    """Everything the circle's page shows to one member."""

    circle_name: str
    lang: str
    timezone: str
    viewer_name: str
    facilitator: bool
    next_seance: SeanceLine | None
    plan: tuple[SeanceLine, ...]  # planned and open séances, soonest first
    past: tuple[SeanceLine, ...]  # closed and cancelled, latest first
    recaps: tuple[RecapBlock, ...]  # latest first
    decisions: tuple[ItemEntry, ...]
    open_actions: tuple[ItemEntry, ...]
    done_actions: tuple[ItemEntry, ...]
    protocols: tuple[str, ...]
    link_days: int


@dataclass(frozen=True, slots=True)
class ReportPage:
    """The cycle report (`/bilan`) for a facilitator: the same text as in the chat."""

    circle_name: str
    text: str
    chart_alt: str | None


@dataclass(frozen=True, slots=True)
class ActResult:
    """What a form did: `messages` for the person on the page (an answer or a refusal);
    `public` are the effects for the circle's channel, for the running adapters to post."""

    refused: bool
    messages: tuple[str, ...]
    public: tuple[Effect, ...] = ()
