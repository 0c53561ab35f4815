"""Domain objects to row values and back. Rows are plain dicts so they can be compared."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.domain.cases import CaseProposal, CaseStatus
from bot.domain.circle import Circle, CircleSettings, Member, QueueOrder, RoundOrder
from bot.domain.items import ActionProgress, Item, ItemKind
from bot.domain.preparation import PrepAnswer
from bot.domain.prompts import Prompt, PromptKind
from bot.domain.protocol import PhaseMode
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.roles import Role
from bot.domain.rsvp import Rsvp, RsvpAnswer
from bot.domain.seance import (
    AttendanceStatus,
    CheckIn,
    PhaseRun,
    QueueEntry,
    Seance,
    SeanceStatus,
    Turn,
    TurnOutcome,
)

Row = dict[str, Any]

# The séance's lists are written at every commit: one encoder (json.dumps would build one per
# call with these options), and no encoding at all for the usual empty list. Same text as
# json.dumps gives, so a stored row compares equal to a fresh one.
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode


def _json_list(values: list[Any], *, ascii_only: bool = False) -> str:
    if not values:
        return "[]"
    return json.dumps(values) if ascii_only else _JSON_TEXT(values)


def _seconds(span: timedelta | None) -> float | None:
    return span.total_seconds() if span is not None else None


def _span(seconds: float | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


def _user(key: str | None) -> UserRef | None:
    return UserRef.from_key(key) if key else None


def circle_row(circle: Circle) -> Row:
    s = circle.settings
    return {
        "id": circle.id,
        "name": circle.name,
        "channel": circle.channel.key,
        "created_at": circle.created_at,
        "language": s.language,
        "timezone": s.timezone,
        "protocol": s.protocol,
        "queue_order": s.queue_order.value,
        "roster_open": s.roster_open,
        "round_auto_advance": s.round_auto_advance,
        "phase_auto_advance": s.phase_auto_advance,
        "prep_days": s.prep_days,
        "remind_day_before": s.remind_day_before,
        "remind_minutes": s.remind_minutes,
        "follow_up_days": s.follow_up_days,
        "auto_open": s.auto_open,
        "close_grace_minutes": s.close_grace_minutes,
        "recap_approval": s.recap_approval,
        "retention_days": s.retention_days,
        "prep_reminder": s.prep_reminder,
        "action_reminder_days": s.action_reminder_days,
        "case_votes": s.case_votes,
        "topic_minutes": s.topic_minutes,
        "case_voting_open": s.case_voting_open,
        "round_order": s.round_order.value,
        "nudge_minutes": s.nudge_minutes,
        "link_days": s.link_days,
        "voice_channel": s.voice_channel,
        "voice_strict": s.voice_strict,
        "item_counter": circle.item_counter,
        "seance_counter": circle.seance_counter,
        "anonymous_counter": circle.anonymous_counter,
        "home": circle.home,
        "shard_key": circle.shard_key,
    }


def member_rows(circle: Circle) -> dict[Any, Row]:
    return {
        m.user.key: {
            "circle_id": circle.id,
            "user": m.user.key,
            "display_name": m.display_name,
            "role": int(m.role),
            "position": m.position,
            "joined_at": m.joined_at,
            "left_at": m.left_at,
            "link_generation": m.link_generation,
            "direct_prompts": m.direct_prompts,
        }
        for m in circle.members.values()
    }


def circle_from_rows(row: Row, members: list[Row]) -> Circle:
    settings = CircleSettings(
        language=row["language"],
        timezone=row["timezone"],
        protocol=row["protocol"],
        queue_order=QueueOrder(row["queue_order"]),
        roster_open=bool(row["roster_open"]),
        round_auto_advance=bool(row["round_auto_advance"]),
        phase_auto_advance=bool(row["phase_auto_advance"]),
        prep_days=row["prep_days"],
        remind_day_before=bool(row["remind_day_before"]),
        remind_minutes=row["remind_minutes"],
        follow_up_days=row["follow_up_days"],
        auto_open=bool(row["auto_open"]),
        close_grace_minutes=row["close_grace_minutes"],
        recap_approval=bool(row["recap_approval"]),
        retention_days=row["retention_days"],
        prep_reminder=bool(row["prep_reminder"]),
        action_reminder_days=row["action_reminder_days"],
        case_votes=row["case_votes"],
        topic_minutes=row["topic_minutes"],
        case_voting_open=bool(row["case_voting_open"]),
        round_order=RoundOrder(row.get("round_order") or RoundOrder.ARRIVAL),
        nudge_minutes=row.get("nudge_minutes", 5),
        link_days=row["link_days"],
        voice_channel=row.get("voice_channel"),
        voice_strict=bool(row.get("voice_strict", False)),
    )
    circle = Circle(
        id=row["id"],
        name=row["name"],
        channel=ChannelRef.from_key(row["channel"]),
        created_at=row["created_at"],
        settings=settings,
        item_counter=row["item_counter"],
        seance_counter=row["seance_counter"],
        anonymous_counter=row["anonymous_counter"],
        home=row["home"],
        shard_key=row["shard_key"],
    )
    for m in members:
        user = UserRef.from_key(m["user"])
        circle.members[user] = Member(
            user,
            m["display_name"],
            Role(m["role"]),
            m["position"],
            m["joined_at"],
            m.get("left_at"),
            m["link_generation"],
            bool(m.get("direct_prompts", True)),
        )
    return circle


def seance_row(seance: Seance) -> Row:
    return {
        "id": seance.id,
        "circle_id": seance.circle_id,
        "number": seance.number,
        "protocol": seance.protocol,
        "status": seance.status.value,
        "planned_at": seance.planned_at,
        "subject": seance.subject,
        "prep_question": seance.prep_question,
        "opened_at": seance.opened_at,
        "closed_at": seance.closed_at,
        "next_protocol_phase": seance.next_protocol_phase,
        "case_owner": seance.case_owner.key if seance.case_owner else None,
        "paused_since": seance.paused_since,
        "arrivals": seance.arrivals,
        "status_message_id": seance.status_message_id,
        "native_event_id": seance.native_event_id,
        "recap_published_at": seance.recap_published_at,
        "queue_json": _json_list([[e.user.key, e.arrival, e.motive] for e in seance.queue]),
        "round_order_json": _json_list([u.key for u in seance.round_order], ascii_only=True),
        "round_pending_json": _json_list([u.key for u in seance.round_pending], ascii_only=True),
        "topic_vote_json": (
            json.dumps({u.key: v for u, v in seance.topic_vote.items()})
            if seance.topic_vote is not None
            else None
        ),
    }


def phase_rows(seance: Seance) -> dict[Any, Row]:
    return {
        p.index: {
            "seance_id": seance.id,
            "idx": p.index,
            "key": p.key,
            "mode": p.mode.value,
            "title": p.title,
            "speaker": p.speaker.key if p.speaker else None,
            "started_at": p.started_at,
            "ended_at": p.ended_at,
            "planned_s": _seconds(p.planned),
            "turn_limit_s": _seconds(p.turn_limit),
            "paused_s": p.paused.total_seconds(),
            "end_notified": p.end_notified,
        }
        for p in seance.phases
    }


def turn_row(seance_id: int, t: Turn) -> Row:
    return {
        "seance_id": seance_id,
        "seq": t.seq,
        "user": t.user.key,
        "phase_index": t.phase_index,
        "started_at": t.started_at,
        "ended_at": t.ended_at,
        "paused_s": t.paused.total_seconds(),
        "outcome": t.outcome.value if t.outcome else None,
        "warned": t.warned,
        "overrun_notified": t.overrun_notified,
    }


def attendance_rows(seance: Seance) -> dict[Any, Row]:
    return {
        u.key: {
            "seance_id": seance.id,
            "user": u.key,
            "status": s.value,
            "reason": seance.excuse_reasons.get(u),
        }
        for u, s in seance.attendance.items()
    }


def checkin_rows(seance: Seance) -> dict[Any, Row]:
    return {
        u.key: {"seance_id": seance.id, "user": u.key, "word": c.word, "recorded_at": c.at}
        for u, c in seance.checkins.items()
    }


def seance_from_rows(
    row: Row,
    phases: list[Row],
    turns: list[Row],
    attendance: list[Row],
    checkins: list[Row],
) -> Seance:
    seance = Seance(
        id=row["id"],
        circle_id=row["circle_id"],
        number=row["number"],
        protocol=row["protocol"],
        status=SeanceStatus(row["status"]),
        planned_at=row["planned_at"],
        subject=row["subject"],
        prep_question=row["prep_question"],
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
        next_protocol_phase=row["next_protocol_phase"],
        case_owner=_user(row["case_owner"]),
        paused_since=row["paused_since"],
        arrivals=row["arrivals"],
        status_message_id=row["status_message_id"],
        native_event_id=row["native_event_id"],
        recap_published_at=row["recap_published_at"],
    )
    seance.queue = [
        QueueEntry(UserRef.from_key(k), arrival, motive)
        for k, arrival, motive in json.loads(row["queue_json"])
    ]
    seance.round_order = [UserRef.from_key(k) for k in json.loads(row["round_order_json"])]
    seance.round_pending = [UserRef.from_key(k) for k in json.loads(row["round_pending_json"])]
    if row.get("topic_vote_json") is not None:
        votes = json.loads(row["topic_vote_json"])
        seance.topic_vote = {UserRef.from_key(k): bool(v) for k, v in votes.items()}
    for p in sorted(phases, key=lambda r: r["idx"]):
        seance.phases.append(
            PhaseRun(
                index=p["idx"],
                key=p["key"],
                mode=PhaseMode(p["mode"]),
                started_at=p["started_at"],
                planned=_span(p["planned_s"]),
                turn_limit=_span(p["turn_limit_s"]),
                title=p["title"],
                speaker=_user(p["speaker"]),
                ended_at=p["ended_at"],
                paused=timedelta(seconds=p["paused_s"]),
                end_notified=bool(p["end_notified"]),
            )
        )
    for t in sorted(turns, key=lambda r: r["seq"]):
        seance.turns.append(
            Turn(
                seq=t["seq"],
                user=UserRef.from_key(t["user"]),
                phase_index=t["phase_index"],
                started_at=t["started_at"],
                ended_at=t["ended_at"],
                paused=timedelta(seconds=t["paused_s"]),
                outcome=TurnOutcome(t["outcome"]) if t["outcome"] else None,
                warned=bool(t["warned"]),
                overrun_notified=bool(t["overrun_notified"]),
            )
        )
    for a in attendance:
        seance.attendance[UserRef.from_key(a["user"])] = AttendanceStatus(a["status"])
        if a.get("reason"):
            seance.excuse_reasons[UserRef.from_key(a["user"])] = a["reason"]
    for c in checkins:
        seance.checkins[UserRef.from_key(c["user"])] = CheckIn(c["word"], c["recorded_at"])
    return seance


def item_row(item: Item) -> Row:
    return {
        "circle_id": item.circle_id,
        "number": item.number,
        "kind": item.kind.value,
        "text": item.text,
        "author": item.author.key,
        "created_at": item.created_at,
        "seance_id": item.seance_id,
        "owner": item.owner.key if item.owner else None,
        "due": item.due,
        "done_at": item.done_at,
        "withheld": item.withheld,
        "progress": item.progress.value if item.progress else None,
        "progress_note": item.progress_note,
        "reminded_at": item.reminded_at,
    }


def item_from_row(row: Row) -> Item:
    return Item(
        circle_id=row["circle_id"],
        number=row["number"],
        kind=ItemKind(row["kind"]),
        text=row["text"],
        author=UserRef.from_key(row["author"]),
        created_at=row["created_at"],
        seance_id=row["seance_id"],
        owner=_user(row["owner"]),
        due=row["due"],
        done_at=row["done_at"],
        withheld=bool(row["withheld"]),
        progress=ActionProgress(row["progress"]) if row["progress"] else None,
        progress_note=row["progress_note"],
        reminded_at=row["reminded_at"],
    )


def prompt_row(prompt: Prompt) -> Row:
    return {
        "id": prompt.id,
        "seance_id": prompt.seance_id,
        "circle_id": prompt.circle_id,
        "kind": prompt.kind.value,
        "due_at": prompt.due_at,
        "sent_at": prompt.sent_at,
        "dropped_at": prompt.dropped_at,
    }


def prompt_from_row(row: Row) -> Prompt:
    return Prompt(
        id=row["id"],
        seance_id=row["seance_id"],
        circle_id=row["circle_id"],
        kind=PromptKind(row["kind"]),
        due_at=row["due_at"],
        sent_at=row["sent_at"],
        dropped_at=row["dropped_at"],
    )


def answer_row(answer: PrepAnswer) -> Row:
    return {
        "seance_id": answer.seance_id,
        "user": answer.user.key,
        "circle_id": answer.circle_id,
        "text": answer.text,
        "shared": answer.shared,
        "answered_at": answer.answered_at,
    }


def answer_from_row(row: Row) -> PrepAnswer:
    return PrepAnswer(
        circle_id=row["circle_id"],
        seance_id=row["seance_id"],
        user=UserRef.from_key(row["user"]),
        text=row["text"],
        answered_at=row["answered_at"],
        shared=bool(row["shared"]),
    )


def rsvp_row(rsvp: Rsvp) -> Row:
    return {
        "seance_id": rsvp.seance_id,
        "user": rsvp.user.key,
        "circle_id": rsvp.circle_id,
        "answer": rsvp.answer.value,
        "answered_at": rsvp.answered_at,
        "event_id": rsvp.event_id,
    }


def rsvp_from_row(row: Row) -> Rsvp:
    return Rsvp(
        circle_id=row["circle_id"],
        seance_id=row["seance_id"],
        user=UserRef.from_key(row["user"]),
        answer=RsvpAnswer(row["answer"]),
        answered_at=row["answered_at"],
        event_id=row.get("event_id"),
    )


def case_row(case: CaseProposal) -> Row:
    return {
        "circle_id": case.circle_id,
        "number": case.number,
        "title": case.title,
        "holder": case.holder.key,
        "proposed_at": case.proposed_at,
        "status": case.status.value,
        "seance_id": case.seance_id,
        "votes_json": json.dumps({u.key: n for u, n in sorted(case.votes.items())}),
    }


def case_from_row(row: Row) -> CaseProposal:
    votes = json.loads(row["votes_json"] or "{}")
    return CaseProposal(
        circle_id=row["circle_id"],
        number=row["number"],
        title=row["title"],
        holder=UserRef.from_key(row["holder"]),
        proposed_at=row["proposed_at"],
        status=CaseStatus(row["status"]),
        seance_id=row["seance_id"],
        votes={UserRef.from_key(k): int(n) for k, n in votes.items()},
    )
