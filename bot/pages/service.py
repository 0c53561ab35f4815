"""The web page's door into the core: read a circle for one member, and act through commands.

Every method takes the link's token and checks it against the circle as it is now (see
`bot/pages/links.py`); a token that does not open the circle gets None, whatever the reason.
Reading takes a unit of work of its own and changes nothing; acting goes through
`CercleCore.handle`, like a message in the channel, so the rules and refusals are the chat's.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.domain.circle import LANGUAGES, Circle
from bot.domain.items import Item, ItemKind
from bot.domain.roles import Role
from bot.domain.rsvp import RSVP_ORDER, Rsvp, answers_of
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.effects import Effect, Reply
from bot.events import CommandEvent
from bot.pages.actions import MEMBER_ACTIONS, command_text
from bot.pages.links import LinkSigner, member_of
from bot.pages.model import (
    ActResult,
    CirclePage,
    Coming,
    ItemEntry,
    RecapBlock,
    ReportPage,
    RsvpGroup,
    SeanceLine,
    Viewer,
)
from bot.ports import Translator, UnitOfWork
from bot.recaps.figures import BarFigure, SeriesFigure
from bot.recaps.html import html_of
from bot.recaps.model import build_recap, chart_alt, recap_text
from bot.recaps.posting import speaking_figure
from bot.recaps.report import CycleReport, build_report, render_report, report_alt, report_figures
from bot.views.wording import person_name

if TYPE_CHECKING:
    from bot.app import CercleCore

CHART_CACHE = 256  # charts kept drawn (PNG bytes), least recently used out first
CALENDAR_CACHE = 1024  # calendar files kept, by what they show


@dataclass(frozen=True, slots=True)
class _Opened:
    circle: Circle
    viewer: Viewer


def _draw_bars(figure: BarFigure) -> bytes:
    from bot.recaps.chart import bar_chart  # matplotlib loads only when a chart is drawn

    return bar_chart(figure)


def _draw_report(figures: tuple[BarFigure, SeriesFigure]) -> bytes:
    from bot.recaps.chart import report_chart

    return report_chart(*figures)


class Pages:
    """What the web adapter may ask of the core about a circle, through a member's link."""

    def __init__(self, core: CercleCore, signer: LinkSigner) -> None:
        self._core = core
        self.signer = signer
        self._charts: OrderedDict[object, bytes] = OrderedDict()
        self._calendars: OrderedDict[object, bytes] = OrderedDict()

    @property
    def _tr(self) -> Translator:
        return self._core.translator

    def language(self, viewer: Viewer, asked: str | None) -> str:
        return asked if asked in LANGUAGES else viewer.circle_lang

    async def _open(self, uow: UnitOfWork, token: str) -> _Opened | None:
        grant = self.signer.read(token, self._core.clock.now())
        if grant is None:
            return None
        circle = await uow.circles.get(grant.circle_id)
        if circle is None:
            return None
        member = member_of(circle, grant)
        if member is None:
            return None
        role = min(grant.role, member.role)
        viewer = Viewer(circle.id, member.user, member.display_name, role, circle.settings.language)
        return _Opened(circle, viewer)

    # -- reading ------------------------------------------------------------------------------

    async def circle_page(self, token: str, lang: str | None) -> CirclePage | None:
        async with self._core.uow_factory() as uow:
            opened = await self._open(uow, token)
            if opened is None:
                return None
            circle, viewer = opened.circle, opened.viewer
            seances = await uow.seances.for_circle(circle.id)
            items = await uow.items.for_circle(circle.id)
            rsvps = await uow.rsvps.for_circle(circle.id)
        words = self.language(viewer, lang)
        return self._circle_page(circle, viewer, seances, items, rsvps, words)

    def _circle_page(
        self,
        circle: Circle,
        viewer: Viewer,
        seances: list[Seance],
        items: list[Item],
        rsvps: list[Rsvp],
        lang: str,
    ) -> CirclePage:
        tr, tz = self._tr, circle.settings.timezone
        now = self._core.clock.now()
        facilitator = viewer.facilitates
        given: dict[int, list[Rsvp]] = {}
        for r in rsvps:
            given.setdefault(r.seance_id, []).append(r)

        def coming(s: Seance) -> Coming | None:
            if s.status is not SeanceStatus.PLANNED:
                return None  # /presence answers planned séances only
            excused = [u for u, a in s.attendance.items() if a is AttendanceStatus.EXCUSED]
            answers = answers_of(given.get(s.id, ()), excused)
            names = {u: person_name(tr, lang, circle, u) for u in answers}
            groups = tuple(
                RsvpGroup(
                    kind.value,
                    tuple(sorted(names[u] for u, a in answers.items() if a.counted_as is kind)),
                )
                for kind in RSVP_ORDER
            )
            silent = tuple(m.display_name for m in circle.roster() if m.user not in answers)
            mine = answers.get(viewer.user)
            shown = mine.counted_as.value if mine else None  # "Interested" is a yes
            return Coming(groups, silent if facilitator else (), shown)

        def line(s: Seance) -> SeanceLine:
            start = s.planned_at or s.opened_at
            return SeanceLine(
                number=s.number,
                status=s.status.value,
                when=tr.datetime_text(lang, tz, start) if start else "",
                when_iso=start.astimezone(ZoneInfo(tz)).isoformat() if start else "",
                subject=s.subject,
                question=s.prep_question,
                protocol=s.protocol,
                coming=coming(s),
            )

        def start_of(s: Seance) -> datetime:
            return s.planned_at or s.opened_at or s.closed_at or now

        upcoming = sorted(
            (s for s in seances if s.status in (SeanceStatus.PLANNED, SeanceStatus.OPEN)),
            key=lambda s: (start_of(s), s.number),
        )
        past = sorted(
            (s for s in seances if s.status in (SeanceStatus.CLOSED, SeanceStatus.CANCELLED)),
            key=lambda s: (start_of(s), s.number),
            reverse=True,
        )
        recaps: list[RecapBlock] = []
        for s in past:
            if s.status is not SeanceStatus.CLOSED or (s.recap_pending and not facilitator):
                continue
            recap = build_recap(
                circle, s, items, seances, names=lambda u: person_name(tr, lang, circle, u)
            )
            alt = chart_alt(recap, tr, lang) if recap.spoken else None
            recaps.append(
                RecapBlock(s.number, html_of(recap_text(recap, tr, lang, tz)), alt, recap.draft)
            )
        hidden = {s.id for s in seances if s.recap_pending} if not facilitator else set()
        shown = [i for i in items if not i.withheld and i.seance_id not in hidden]
        today = now.astimezone(ZoneInfo(tz)).date()

        def entry(i: Item) -> ItemEntry:
            done = i.done_at is not None
            return ItemEntry(
                number=i.number,
                text=i.text,
                owner=person_name(tr, lang, circle, i.owner) if i.owner else None,
                due=tr.day_text(lang, i.due) if i.due else None,
                done=done,
                overdue=not done and i.due is not None and i.due < today,
            )

        ordered = sorted(shown, key=lambda i: i.number)
        actions = [i for i in ordered if i.kind is ItemKind.ACTION]
        return CirclePage(
            circle_name=circle.name,
            lang=lang,
            timezone=tz,
            viewer_name=viewer.name,
            facilitator=facilitator,
            next_seance=line(upcoming[0]) if upcoming else None,
            plan=tuple(line(s) for s in upcoming),
            past=tuple(line(s) for s in past),
            recaps=tuple(recaps),
            decisions=tuple(entry(i) for i in ordered if i.kind is ItemKind.DECISION),
            open_actions=tuple(entry(i) for i in actions if i.done_at is None),
            done_actions=tuple(entry(i) for i in actions if i.done_at is not None),
            protocols=tuple(self._core.protocols.names()),
            link_days=circle.settings.link_days,
        )

    async def calendar(self, token: str) -> bytes | None:
        """The circle's séances as iCalendar, for a calendar subscription."""
        from bot.exports.ical import circle_calendar

        async with self._core.uow_factory() as uow:
            opened = await self._open(uow, token)
            if opened is None:
                return None
            seances = await uow.seances.for_circle(opened.circle.id)
        circle = opened.circle
        # Calendar programs fetch the file again every few hours, mostly unchanged: the same
        # séances give the same file (its DTSTAMP is when it was made), kept in a bounded cache.
        key = (
            circle.id,
            circle.name,
            circle.settings.language,
            circle.settings.timezone,
            circle.channel.key,
            tuple(
                (
                    s.number,
                    s.status,
                    s.planned_at,
                    s.opened_at,
                    s.subject,
                    s.prep_question,
                    s.protocol,
                )
                for s in seances
            ),
        )
        cached = self._calendars.get(key)
        if cached is not None:
            self._calendars.move_to_end(key)
            return cached
        core = self._core
        now = core.clock.now()
        data = circle_calendar(circle, seances, core.protocols, core.translator, now=now)
        self._calendars[key] = data
        while len(self._calendars) > CALENDAR_CACHE:
            self._calendars.popitem(last=False)
        return data

    async def recap_chart(self, token: str, number: int, lang: str | None) -> bytes | None:
        """The speaking-time chart of a séance's recap, as PNG; None if there is none to see."""
        async with self._core.uow_factory() as uow:
            opened = await self._open(uow, token)
            if opened is None:
                return None
            circle, viewer = opened.circle, opened.viewer
            seance = await uow.seances.by_number(circle.id, number)
            if seance is None or seance.status is not SeanceStatus.CLOSED:
                return None
            if seance.recap_pending and not viewer.facilitates:
                return None
            items = await uow.items.for_seance(seance.id)
            seances = await uow.seances.for_circle(circle.id)
        words = self.language(viewer, lang)
        tr = self._tr
        recap = build_recap(
            circle, seance, items, seances, names=lambda u: person_name(tr, words, circle, u)
        )
        figure = speaking_figure(recap, tr, words)
        if figure is None:
            return None
        return await self._chart(figure, lambda: _draw_bars(figure))

    async def _chart(self, key: object, draw: object) -> bytes:
        cached = self._charts.get(key)
        if cached is not None:
            self._charts.move_to_end(key)
            return cached
        assert callable(draw)
        png: bytes = await asyncio.to_thread(draw)
        self._charts[key] = png
        while len(self._charts) > CHART_CACHE:
            self._charts.popitem(last=False)
        return png

    async def report(self, token: str, lang: str | None) -> ReportPage | None:
        """The cycle report, for facilitators only (None for anyone else)."""
        found = await self._report(token, lang)
        if found is None:
            return None
        report, words, circle_name = found
        tr = self._tr
        alt = report_alt(report, tr, words) if any(p.spoken for p in report.equity) else None
        return ReportPage(circle_name, render_report(report, tr, words), alt)

    async def report_chart(self, token: str, lang: str | None) -> bytes | None:
        found = await self._report(token, lang)
        if found is None:
            return None
        report, words, _ = found
        if not any(p.spoken for p in report.equity):
            return None
        figures = report_figures(report, self._tr, words)
        return await self._chart(figures, lambda: _draw_report(figures))

    async def _report(self, token: str, lang: str | None) -> tuple[CycleReport, str, str] | None:
        async with self._core.uow_factory() as uow:
            opened = await self._open(uow, token)
            if opened is None or not opened.viewer.facilitates:
                return None
            circle, viewer = opened.circle, opened.viewer
            seances = await uow.seances.for_circle(circle.id)
            items = await uow.items.for_circle(circle.id)
        words = self.language(viewer, lang)
        tz = circle.settings.timezone
        today = self._core.clock.now().astimezone(ZoneInfo(tz)).date()
        tr = self._tr
        report = build_report(
            circle, seances, items, today, lambda u: person_name(tr, words, circle, u)
        )
        return report, words, circle.name

    # -- acting -------------------------------------------------------------------------------

    async def act(self, token: str, action: str, fields: Mapping[str, str]) -> ActResult | None:
        """Run a form's action as the member, through the same command as in the chat: an
        answer to `/presence` for any member, the plan's actions for facilitators only.

        None if the token does not open the circle; otherwise what to show on the page (the
        answer or the refusal, in the circle's language like in the chat) and the effects
        for the channel."""
        async with self._core.uow_factory() as uow:
            opened = await self._open(uow, token)
            if opened is None:
                return None
            circle, viewer = opened.circle, opened.viewer
        lang = circle.settings.language
        text = command_text(action, fields)
        if text is None:
            return ActResult(True, (self._tr.text(lang, "web.unknown_action"),))
        if action not in MEMBER_ACTIONS and viewer.role < Role.FACILITATOR:
            command = " ".join(text.split()[:2]).lstrip("/")
            refusal = self._tr.text(lang, "permission.facilitator_only", command=command)
            return ActResult(True, (refusal,))
        event = CommandEvent(
            channel=circle.channel,
            author=viewer.user,
            author_name=viewer.name,
            text=text,
            remote=True,
            home=circle.home,
            shard_key=circle.shard_key,
        )
        outcome = await self._core.handle(event)
        mine: list[str] = []
        public: list[Effect] = []
        for effect in outcome.effects:
            if isinstance(effect, Reply) and effect.private and effect.to == viewer.user:
                mine.append(effect.text)
            else:
                public.append(effect)  # the channel's, or someone else's note to whisper
        return ActResult(outcome.refused is not None, tuple(mine), tuple(public))
