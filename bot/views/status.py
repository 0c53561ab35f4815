"""The live status of an open séance: phase, speaker, time left, who waits."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.circle import Circle
from bot.domain.protocol import PhaseMode
from bot.domain.refs import UserRef
from bot.domain.seance import Seance
from bot.effects import StatusView
from bot.ports import Translator
from bot.views.wording import phase_title

SHOWN_WAITING = 12  # names listed in the status; the rest are counted ("+N autres")


def status_text(
    tr: Translator, circle: Circle, seance: Seance, now: datetime, *, topics: bool = False
) -> str:
    """The status; with `topics`, what each person in the queue wants to speak about (for the
    facilitators' eyes: the public status never shows it)."""
    lang = circle.settings.language
    lines: list[str] = []
    if not seance.is_open:
        return tr.text(lang, "status.closed", number=seance.number)
    phase = seance.phase
    if phase is None:
        header = _header(tr, lang, seance.number, circle.name, None, None, None)
    else:
        header = _header(tr, lang, seance.number, circle.name, phase.key, phase.title, phase.mode)
        if phase.planned:
            left = phase.planned - phase.elapsed(now, seance.paused_since)
            header += " · " + _left(tr, lang, "status.phase", left)
    if seance.is_paused:
        header += " · " + tr.text(lang, "status.paused")
    lines.append(header)
    turn = seance.turn
    if turn is not None:
        spoken = tr.duration_text(lang, turn.elapsed(now, seance.paused_since))
        line = tr.text(lang, "status.speaker", name=circle.name_of(turn.user), spoken=spoken)
        if phase is not None and phase.turn_limit:
            left = phase.turn_limit - turn.elapsed(now, seance.paused_since)
            line += " · " + _left(tr, lang, "status.turn", left)
        lines.append(line)
    else:
        lines.append(tr.text(lang, "status.no_speaker"))
    order = circle.settings.queue_order
    waiting = seance.waiting(order, now)
    if waiting:
        key = "status.round" if phase and phase.mode is PhaseMode.ROUND else "status.queue"
        said = {e.user: e.motive for e in seance.queue if e.motive and topics}
        shown = waiting[:SHOWN_WAITING]
        names = ", ".join(
            f"{i}. {circle.name_of(u)}" + (f" ({_short(said[u])})" if u in said else "")
            for i, u in enumerate(shown, start=1)
        )
        lines.append(tr.text(lang, key, names=names + _more(tr, lang, waiting)))
    elif phase is not None and phase.mode is PhaseMode.QUEUE:
        lines.append(tr.text(lang, "status.queue_empty"))
    if phase is not None and phase.mode is not PhaseMode.QUEUE and seance.queue:
        later = [e.user for e in seance.ordered_queue(order, now)]
        names = ", ".join(circle.name_of(u) for u in later[:SHOWN_WAITING])
        lines.append(tr.text(lang, "status.later", names=names + _more(tr, lang, later)))
    if seance.topic_vote is not None:  # a Lean Coffee topic's time is up: thumbs vote
        present = seance.present()
        yes = sum(1 for u, v in seance.topic_vote.items() if v and u in present)
        no = sum(1 for u, v in seance.topic_vote.items() if not v and u in present)
        lines.append(tr.text(lang, "status.topic_vote", yes=yes, no=no))
    return "\n".join(lines)


# Headers made, by everything they show; emptied when full (a few entries per open séance).
_HEADERS: dict[tuple[object, ...], str] = {}
_HEADERS_KEPT = 1024


def _header(
    tr: Translator,
    lang: str,
    number: int,
    circle_name: str,
    phase_key: str | None,
    title: str | None,
    mode: PhaseMode | None,
) -> str:
    """`Séance 4 du cercle X — phase Tour de table (tour de parole)`: the same for the whole
    phase, and the status is rendered at every command, so it is made once."""
    key = (tr, lang, number, circle_name, phase_key, title, mode)
    found = _HEADERS.get(key)
    if found is None:
        if len(_HEADERS) >= _HEADERS_KEPT:
            _HEADERS.clear()
        found = _HEADERS[key] = _make_header(tr, lang, number, circle_name, phase_key, title, mode)
    return found


def _make_header(
    tr: Translator,
    lang: str,
    number: int,
    circle_name: str,
    phase_key: str | None,
    title: str | None,
    mode: PhaseMode | None,
) -> str:
    header = tr.text(lang, "status.header", number=number, circle=circle_name)
    if phase_key is None or mode is None:
        return header
    shown = phase_title(tr, lang, phase_key, title)
    mode_name = tr.text(lang, f"mode.{mode.value}")
    return header + " — " + tr.text(lang, "status.phase", phase=shown, mode=mode_name)


def _more(tr: Translator, lang: str, people: list[UserRef]) -> str:
    """`, +188 autres` when the list was cut, else nothing."""
    if len(people) <= SHOWN_WAITING:
        return ""
    return ", " + tr.text(lang, "status.more", count=len(people) - SHOWN_WAITING)


def _short(topic: str, limit: int = 40) -> str:
    topic = " ".join(topic.split())
    return topic if len(topic) <= limit else topic[: limit - 1] + "…"


def _left(tr: Translator, lang: str, prefix: str, left: timedelta) -> str:
    """`reste 1 min 20 s`, or `dépassé de 40 s` once the time box has run out."""
    if left.total_seconds() < 0:
        return tr.text(lang, f"{prefix}_over", over=tr.duration_text(lang, -left))
    return tr.text(lang, f"{prefix}_left", left=tr.duration_text(lang, left))


def status_view(tr: Translator, circle: Circle, seance: Seance, now: datetime) -> StatusView:
    return StatusView(
        channel=circle.channel,
        seance_id=seance.id,
        message_id=seance.status_message_id,
        text=status_text(tr, circle, seance, now),
        closed=not seance.is_open,
        lang=circle.settings.language,
    )
