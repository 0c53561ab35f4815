"""A circle's data as plain JSON-ready values, and all its recaps as one Markdown file.

People erased with /oubli appear as `anon:N` with no name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.case_vote import CaseVote
from bot.domain.cases import CaseProposal
from bot.domain.circle import Circle
from bot.domain.items import Item
from bot.domain.preparation import PrepAnswer
from bot.domain.refs import UserRef
from bot.domain.rsvp import Rsvp
from bot.domain.seance import Seance, SeanceStatus
from bot.ports import Translator
from bot.recaps.model import build_recap, markdown_of, recap_text
from bot.views.wording import person_name


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def circle_data(
    circle: Circle,
    seances: list[Seance],
    items: list[Item],
    answers: Sequence[PrepAnswer] = (),
    rsvps: Sequence[Rsvp] = (),
    cases: Sequence[CaseProposal] = (),
    vote: CaseVote | None = None,
) -> dict[str, Any]:
    names = {m.user: m.display_name for m in circle.members.values()}

    def who(user: UserRef | None) -> str | None:
        if user is None or user.is_anonymous:
            return None
        return names.get(user, user.id)

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
            "recap_approval": circle.settings.recap_approval,
            "retention_days": circle.settings.retention_days,
        },
        "members": [
            {
                "user": m.user.key,
                "name": m.display_name,
                "role": m.role.name.lower(),
                "position": m.position,
                "joined_at": _iso(m.joined_at),
                "left_at": _iso(m.left_at),
                "direct_prompts": m.direct_prompts,
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
                        "corrected": (
                            {
                                "by": t.corrected.by.key,
                                "name": who(t.corrected.by),
                                "at": _iso(t.corrected.at),
                            }
                            if t.corrected
                            else None
                        ),
                    }
                    for t in s.turns
                ],
                "attendance": {u.key: status.value for u, status in sorted(s.attendance.items())},
                "checkins": [
                    {
                        "user": u.key,
                        "name": who(u),
                        "word": c.word,
                        "recorded_at": _iso(c.at),
                    }
                    for u, c in sorted(s.checkins.items())
                ],
                "recap_published_at": _iso(s.recap_published_at),
                "preparation": [
                    {
                        "user": a.user.key,
                        "name": who(a.user),
                        "text": a.text,
                        "shared": a.shared,
                        "answered_at": _iso(a.answered_at),
                    }
                    for a in answers
                    if a.seance_id == s.id
                ],
                "rsvps": [
                    {
                        "user": r.user.key,
                        "name": who(r.user),
                        "answer": r.answer.value,
                        "answered_at": _iso(r.answered_at),
                    }
                    for r in rsvps
                    if r.seance_id == s.id
                ],
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
                "withheld": i.withheld,
                "progress": i.progress.value if i.progress else None,
                "progress_note": i.progress_note,
            }
            for i in items
        ],
        "cases": [
            {
                "number": c.number,
                "title": c.title,
                "holder": c.holder.key,
                "name": who(c.holder),
                "status": c.status.value,
                "seance": next((s.number for s in seances if s.id == c.seance_id), None),
                "proposed_at": _iso(c.proposed_at),
                "votes": {u.key: n for u, n in sorted(c.votes.items())},
            }
            for c in cases
        ],
        "case_vote": None
        if vote is None
        else {
            "opened_at": _iso(vote.opened_at),
            "closes_at": _iso(vote.closes_at),
            "closed_at": _iso(vote.closed_at),
            "poll": vote.poll_ref,
        },
    }


def recaps_markdown(
    circle: Circle,
    seances: list[Seance],
    items: list[Item],
    tr: Translator,
    lang: str,
    tz: str,
) -> str:
    """Every closed séance's recap, in order, as one Markdown document."""
    out = ["# " + tr.text(lang, "export.recaps_title", circle=circle.name)]
    closed = sorted((s for s in seances if s.status is SeanceStatus.CLOSED), key=lambda s: s.number)
    if not closed:
        out += ["", tr.text(lang, "export.no_recaps")]
    for seance in closed:
        recap = build_recap(
            circle, seance, items, seances, names=lambda u: person_name(tr, lang, circle, u)
        )
        recap = replace(recap, withheld=())  # what was withheld stays out of files
        out += ["", markdown_of(recap_text(recap, tr, lang, tz), level=2)]
    return "\n".join(out) + "\n"
