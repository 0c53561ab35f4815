"""Words shared by many messages: phase titles, people, durations, the floor changing hands."""

from __future__ import annotations

import re
from datetime import datetime

from bot.domain.circle import Circle
from bot.domain.protocol import PhaseMode
from bot.domain.refs import UserRef
from bot.domain.seance import FloorChange, Seance, TurnOutcome
from bot.effects import Reply
from bot.ports import Translator


def slug(name: str) -> str:
    """A file name from a circle name: `Dirigeant·es ESS` → `dirigeant-es-ess`."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "cercle"


def person_name(tr: Translator, lang: str, circle: Circle, user: UserRef) -> str:
    """A member's display name; someone erased with /oubli is "Anonymous N"."""
    if user.is_anonymous and user not in circle.members:
        return tr.text(lang, "person.anonymous", number=user.id)
    return circle.name_of(user)


def phase_title(tr: Translator, lang: str, key: str, title: str | None = None) -> str:
    """A custom protocol's own title, else the catalog's name for the phase key."""
    if title:
        return title
    catalog_key = f"phase.{key}"
    return tr.text(lang, catalog_key) if tr.has(lang, catalog_key) else key


def floor_messages(
    tr: Translator, circle: Circle, seance: Seance, change: FloorChange, now: datetime
) -> list[Reply]:
    """Public messages for a change of speaker: who ended (and how long), who has the floor."""
    lang = circle.settings.language
    out: list[Reply] = []
    ended = change.ended
    if ended is not None and ended.outcome not in (TurnOutcome.PHASE_END, TurnOutcome.SEANCE_END):
        name = circle.name_of(ended.user)
        if ended.outcome is TurnOutcome.PASSED:
            out.append(Reply(circle.channel, tr.text(lang, "floor.passed", name=name)))
        else:
            spent = tr.duration_text(lang, ended.elapsed(now, seance.paused_since))
            key = "floor.timeout" if ended.outcome is TurnOutcome.TIMEOUT else "floor.ended"
            out.append(Reply(circle.channel, tr.text(lang, key, name=name, duration=spent)))
    started = change.started
    if started is not None:
        phase = seance.phase
        limit = phase.turn_limit if phase else None
        name = circle.name_of(started.user)
        if limit:
            limit_text = tr.duration_text(lang, limit)
            text = tr.text(lang, "floor.given_limit", name=name, limit=limit_text)
        else:
            text = tr.text(lang, "floor.given", name=name)
        out.append(Reply(circle.channel, text, mentions=(started.user,)))
    if change.round_complete:
        out.append(Reply(circle.channel, tr.text(lang, "round.complete")))
    elif (
        started is None
        and ended is not None
        and seance.phase is not None
        and seance.phase.mode is PhaseMode.QUEUE
        and not seance.queue
    ):
        out.append(Reply(circle.channel, tr.text(lang, "floor.free")))
    return out


_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœæ")


def of_name(lang: str, name: str) -> str:
    """`name` after "of" in the language: French elides before a vowel (d'Eva, de Bob)."""
    if lang != "fr":
        return name
    return f"d'{name}" if name[:1].casefold() in _VOWELS else f"de {name}"
