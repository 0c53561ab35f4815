"""A circle's data as plain JSON-ready values, so it can be checked and carried elsewhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.circle import Circle
from bot.items import Item
from bot.seance import Seance


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def circle_data(circle: Circle, seances: list[Seance], items: list[Item]) -> dict[str, Any]:
    names = {m.user: m.display_name for m in circle.members.values()}

    def who(user: Any) -> str | None:
        return names.get(user, user.id) if user is not None else None

    return {
        "circle": {
            "name": circle.name,
            "channel": circle.channel.key,
            "created_at": _iso(circle.created_at),
            "language": circle.settings.language,
            "timezone": circle.settings.timezone,
            "protocol": circle.settings.protocol,
            "queue_order": circle.settings.queue_order.value,
            "roster_open": circle.settings.roster_open,
        },
        "members": [
            {
                "user": m.user.key,
                "name": m.display_name,
                "role": m.role.name.lower(),
                "position": m.position,
                "joined_at": _iso(m.joined_at),
            }
            for m in circle.roster()
        ],
        "seances": [
            {
                "number": s.number,
                "status": s.status.value,
                "protocol": s.protocol,
                "planned_at": _iso(s.planned_at),
                "subject": s.subject,
                "prep_question": s.prep_question,
                "opened_at": _iso(s.opened_at),
                "closed_at": _iso(s.closed_at),
                "phases": [
                    {
                        "key": p.key,
                        "title": p.title,
                        "mode": p.mode.value,
                        "started_at": _iso(p.started_at),
                        "ended_at": _iso(p.ended_at),
                        "planned_seconds": p.planned.total_seconds() if p.planned else None,
                    }
                    for p in s.phases
                ],
                "turns": [
                    {
                        "seq": t.seq,
                        "speaker": t.user.key,
                        "name": who(t.user),
                        "phase": t.phase_index,
                        "start": _iso(t.started_at),
                        "end": _iso(t.ended_at),
                        "duration_s": round(
                            t.elapsed(t.ended_at or t.started_at, None).total_seconds(), 3
                        ),
                        "outcome": t.outcome.value if t.outcome else None,
                    }
                    for t in s.turns
                ],
                "attendance": {u.key: status.value for u, status in sorted(s.attendance.items())},
            }
            for s in sorted(seances, key=lambda s: s.number)
        ],
        "items": [
            {
                "number": i.number,
                "kind": i.kind.value,
                "text": i.text,
                "author": i.author.key,
                "owner": i.owner.key if i.owner else None,
                "due": i.due.isoformat() if i.due else None,
                "seance": next((s.number for s in seances if s.id == i.seance_id), None),
                "created_at": _iso(i.created_at),
                "done_at": _iso(i.done_at),
            }
            for i in items
        ],
    }
