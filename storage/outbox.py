"""The outbox and the handled events, in SQL (see bot/outbox.py for why they exist).

An effect is stored as JSON: its fields as they are, people and rooms as `platform:id` keys and
bytes (a chart, an export) as base64, so a row read back after a crash is the very effect the
core decided on.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)

from bot.domain.refs import ChannelRef, UserRef
from bot.effects import (
    Answer,
    ChartImage,
    Effect,
    EmbedField,
    FilePost,
    FloorSpeaker,
    LiveView,
    Moment,
    PollEnd,
    PollPost,
    RecapEmbed,
    RecapPost,
    Reply,
    StatusView,
)
from bot.partition import DISCORD_SHARD_SHIFT, EVERYTHING, Partition
from bot.ports import Waiting
from storage import direct
from storage.tables import HandledEventRow, OutboxRow

if TYPE_CHECKING:
    from storage.database import Database
    from storage.uow import SqlUnitOfWork

OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
HANDLED: Table = HandledEventRow.__table__  # type: ignore[attr-defined]
# What a row keeps once delivered or refused: when and where, never what it said (people's words
# and names are not kept beyond their use, and /oubli finds nothing to erase here).
GONE = ""
WAITING = and_(OUTBOX.c.delivered_at.is_(None), OUTBOX.c.failed_at.is_(None))
# Built once: the statements of every command stay in SQLAlchemy's compiled cache.
_ADD = insert(OUTBOX).returning(OUTBOX.c.id)
_ADD_MANY = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)
_DELIVERED = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("outbox_id"))
    .values(delivered_at=bindparam("now"), payload=GONE)
)
_REPLACE = (
    update(OUTBOX).where(OUTBOX.c.id == bindparam("outbox_id")).values(payload=bindparam("payload"))
)
_SEEN = select(HANDLED.c.event_id).where(HANDLED.c.event_id == bindparam("event_id"))
_HANDLED = insert(HANDLED)
# one encoder for every row (json.dumps would build one per call for these options)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
KINDS: dict[type, str] = {
    Reply: "reply",
    StatusView: "status",
    RecapPost: "recap",
    FilePost: "file",
    FloorSpeaker: "voice",
    PollPost: "poll",
    PollEnd: "poll_end",
    LiveView: "live",
}


def _ref(text: str) -> tuple[str, str]:
    platform, _, ident = text.partition(":")
    return platform, ident


def _user(text: str | None) -> UserRef | None:
    return UserRef(*_ref(text)) if text else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def effect_payload(effect: Effect) -> str:
    """The effect as JSON, without its outbox id (the row's own)."""
    data: dict[str, Any] = {"channel": effect.channel.key}
    if isinstance(effect, Reply):
        data |= {
            "text": effect.text,
            "to": effect.to.key if effect.to else None,
            "private": effect.private,
            "mentions": [u.key for u in effect.mentions],
            "confidential": effect.confidential,
            "moments": [[m.text, m.at.isoformat()] for m in effect.moments],
        }
        if effect.answers:
            data["answers"] = [[a.command, a.number, a.label] for a in effect.answers]
    elif isinstance(effect, StatusView):
        data |= {
            "seance_id": effect.seance_id,
            "message_id": effect.message_id,
            "text": effect.text,
            "closed": effect.closed,
            "lang": effect.lang,
        }
    elif isinstance(effect, RecapPost):
        embed = effect.embed
        chart = effect.chart
        data |= {
            "seance_id": effect.seance_id,
            "markdown": effect.markdown,
            "mentions": [u.key for u in effect.mentions],
            "html": effect.html,
            "embed": None
            if embed is None
            else {
                "title": embed.title,
                "description": embed.description,
                "fields": [[f.name, f.value, f.inline] for f in embed.fields],
                "footer": embed.footer,
                "image": embed.image,
                "truncated": embed.truncated,
            },
            "chart": None
            if chart is None
            else {"png": _b64(chart.png), "alt": chart.alt, "filename": chart.filename},
            "number": effect.number,
            "filename": effect.filename,
            "lang": effect.lang,
            "to": effect.to.key if effect.to else None,
            "private": effect.private,
        }
    elif isinstance(effect, FloorSpeaker):
        data |= {
            "voice_channel": effect.voice_channel,
            "speaker": effect.speaker.key if effect.speaker else None,
            "previous": effect.previous.key if effect.previous else None,
            "strict": effect.strict,
            "keep": [u.key for u in effect.keep],
            "closed": effect.closed,
        }
    elif isinstance(effect, PollPost):
        data |= {
            "circle_id": effect.circle_id,
            "question": effect.question,
            "answers": [[n, label] for n, label in effect.answers],
            "max_selections": effect.max_selections,
            "closes_at": effect.closes_at.isoformat() if effect.closes_at else None,
        }
    elif isinstance(effect, PollEnd):
        data |= {"poll_ref": effect.poll_ref, "text": effect.text}
    elif isinstance(effect, LiveView):
        data |= {
            "kind": effect.kind,
            "seance_id": effect.seance_id,
            "number": effect.number,
            "message_id": effect.message_id,
            "text": effect.text,
            "lang": effect.lang,
            "answers": list(effect.answers),
            "closed": effect.closed,
            "mentions": [u.key for u in effect.mentions],
            "round": effect.round,
        }
    else:
        data |= {
            "filename": effect.filename,
            "media_type": effect.media_type,
            "content": _b64(effect.content),
            "caption": effect.caption,
            "to": effect.to.key if effect.to else None,
            "private": effect.private,
            "confidential": effect.confidential,
        }
    return _JSON.encode(data)


def effect_from_row(kind: str, payload: str, outbox_id: int | None) -> Effect:
    data: dict[str, Any] = json.loads(payload)
    channel = ChannelRef(*_ref(data["channel"]))
    if kind == "reply":
        return Reply(
            channel,
            data["text"],
            to=_user(data["to"]),
            private=data["private"],
            mentions=tuple(UserRef(*_ref(u)) for u in data["mentions"]),
            confidential=data["confidential"],
            outbox_id=outbox_id,
            moments=tuple(
                Moment(text, datetime.fromisoformat(at)) for text, at in data.get("moments", [])
            ),
            answers=tuple(Answer(c, n, label) for c, n, label in data.get("answers", [])),
        )
    if kind == "status":
        return StatusView(
            channel,
            data["seance_id"],
            data["message_id"],
            data["text"],
            closed=data["closed"],
            lang=data["lang"],
            outbox_id=outbox_id,
        )
    if kind == "recap":
        embed, chart = data["embed"], data["chart"]
        return RecapPost(
            channel,
            data["seance_id"],
            data["markdown"],
            mentions=tuple(UserRef(*_ref(u)) for u in data["mentions"]),
            html=data["html"],
            embed=None
            if embed is None
            else RecapEmbed(
                embed["title"],
                embed["description"],
                tuple(EmbedField(n, v, i) for n, v, i in embed["fields"]),
                embed["footer"],
                embed["image"],
                embed["truncated"],
            ),
            chart=None
            if chart is None
            else ChartImage(base64.b64decode(chart["png"]), chart["alt"], chart["filename"]),
            number=data["number"],
            filename=data["filename"],
            lang=data["lang"],
            to=_user(data["to"]),
            private=data["private"],
            outbox_id=outbox_id,
        )
    if kind == "voice":
        return FloorSpeaker(
            channel,
            data["voice_channel"],
            _user(data["speaker"]),
            _user(data["previous"]),
            strict=data["strict"],
            keep=tuple(UserRef(*_ref(u)) for u in data["keep"]),
            closed=data["closed"],
            outbox_id=outbox_id,
        )
    if kind == "poll":
        closes = data["closes_at"]
        return PollPost(
            channel,
            data["circle_id"],
            data["question"],
            tuple((int(n), str(label)) for n, label in data["answers"]),
            max_selections=data["max_selections"],
            closes_at=datetime.fromisoformat(closes) if closes else None,
            outbox_id=outbox_id,
        )
    if kind == "poll_end":
        return PollEnd(channel, data["poll_ref"], data["text"], outbox_id=outbox_id)
    if kind == "live":
        return LiveView(
            channel,
            data["kind"],
            data["seance_id"],
            data["number"],
            data["message_id"],
            data["text"],
            lang=data["lang"],
            answers=tuple(data["answers"]),
            closed=data["closed"],
            mentions=tuple(UserRef(*_ref(u)) for u in data["mentions"]),
            outbox_id=outbox_id,
            round=data.get("round", 0),
        )
    return FilePost(
        channel,
        data["filename"],
        data["media_type"],
        base64.b64decode(data["content"]),
        caption=data["caption"],
        to=_user(data["to"]),
        private=data["private"],
        confidential=data["confidential"],
        outbox_id=outbox_id,
    )


def _owned_by(partition: Partition) -> Any:
    """The rows of the partition's homes (and, on a sharded platform, of its shards)."""
    if partition.everything:
        return true()
    clauses = []
    for share in partition.shares:
        mine = OUTBOX.c.home == share.home
        if share.shard_count is not None and share.shard_ids is not None:
            key = func.coalesce(OUTBOX.c.shard_key, 0)
            shard = key.op(">>")(literal_column(str(DISCORD_SHARD_SHIFT))) % share.shard_count
            mine = and_(mine, shard.in_(share.shard_ids))
        clauses.append(mine)
    return or_(*clauses)


class SqlOutbox:
    """The `OutboxRepository` of a SQL unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def add(
        self, effects: Sequence[Effect], home: str | None, shard_key: int | None, now: datetime
    ) -> list[int]:
        rows = [
            {
                "home": home,
                "shard_key": shard_key,
                "channel": effect.channel.key,
                "kind": KINDS[type(effect)],
                "payload": effect_payload(effect),
                "created_at": now,
                "attempts": 0,
            }
            for effect in effects
        ]
        ids = await direct.insert_ids(self._uow.conn, _ADD, rows)
        if ids is not None:
            return ids
        if len(rows) == 1:
            return [int((await self._uow.conn.execute(_ADD, rows[0])).scalar_one())]
        # one statement for all (one round trip to a worker thread, when SQLite runs on one)
        result = await self._uow.conn.execute(_ADD_MANY, rows)
        return [int(i) for i in result.scalars().all()]

    async def replace(self, outbox_id: int, effect: Effect) -> None:
        row = {"outbox_id": outbox_id, "payload": effect_payload(effect)}
        await direct.write(self._uow.conn, _REPLACE, row)

    async def waiting(
        self, partition: Partition = EVERYTHING, created_before: datetime | None = None
    ) -> list[Waiting]:
        query = select(OUTBOX).where(WAITING, _owned_by(partition)).order_by(OUTBOX.c.id)
        if created_before is not None:
            query = query.where(OUTBOX.c.created_at < created_before)
        result = await self._uow.conn.execute(query)
        return [
            Waiting(
                r.id,
                effect_from_row(r.kind, r.payload, r.id),
                r.created_at,
                r.attempts,
                r.home,
            )
            for r in result
        ]

    async def delivered(self, outbox_ids: Sequence[int], now: datetime) -> None:
        marks = [{"outbox_id": i, "now": now} for i in outbox_ids]
        await direct.write_many(self._uow.conn, _DELIVERED, marks)

    async def failed(self, outbox_id: int, now: datetime, reason: str) -> None:
        await self._uow.conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == outbox_id)
            .values(failed_at=now, error=reason[:200], attempts=OUTBOX.c.attempts + 1, payload=GONE)
        )

    async def retried(self, outbox_id: int) -> None:
        await self._uow.conn.execute(
            update(OUTBOX).where(OUTBOX.c.id == outbox_id).values(attempts=OUTBOX.c.attempts + 1)
        )

    async def prune(self, before: datetime) -> int:
        """Delete the rows done with and created before `before`. Rows are numbered in the
        order they are written, so the old ones come first by id: without an index on
        created_at (every command would pay for it), both statements walk the primary key from
        the oldest row and stop at the first one young enough to keep."""
        conn = self._uow.conn
        young = select(OUTBOX.c.id).where(OUTBOX.c.created_at >= before)
        first_kept = (await conn.execute(young.order_by(OUTBOX.c.id).limit(1))).scalar()
        old = and_(~WAITING, OUTBOX.c.created_at < before)
        if first_kept is not None:
            # a row written out of order (another instance's clock) waits for a later prune
            old = and_(old, OUTBOX.c.id < first_kept)
        result = await conn.execute(delete(OUTBOX).where(old))
        return int(result.rowcount or 0)


class SqlHandledEvents:
    """The `HandledEventRepository` of a SQL unit of work."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def seen(self, event_id: str) -> bool:
        return await direct.first(self._uow.conn, _SEEN, {"event_id": event_id}) is not None

    async def add(self, event_id: str, now: datetime) -> None:
        await direct.write(self._uow.conn, _HANDLED, {"event_id": event_id, "handled_at": now})

    async def prune(self, before: datetime) -> int:
        result = await self._uow.conn.execute(delete(HANDLED).where(HANDLED.c.handled_at < before))
        return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class Pending:
    """A row still waiting, as operators see it (never what it says)."""

    id: int
    home: str | None
    channel: str
    kind: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxReport:
    """What waits to be delivered, and what the platforms refused for good lately, by reason."""

    waiting: list[Pending]
    refused: dict[str, int]


async def report(database: Database, limit: int = 50) -> OutboxReport:
    """The oldest `limit` rows still waiting (and how many in all), and the refusals kept."""
    async with database() as work:
        conn = cast("SqlUnitOfWork", work).conn
        columns = (
            OUTBOX.c.id,
            OUTBOX.c.home,
            OUTBOX.c.channel,
            OUTBOX.c.kind,
            OUTBOX.c.created_at,
            OUTBOX.c.attempts,
        )
        query = select(*columns).where(WAITING).order_by(OUTBOX.c.id).limit(limit)
        rows = (await conn.execute(query)).all()
        refusals = select(OUTBOX.c.error, func.count()).where(OUTBOX.c.failed_at.is_not(None))
        counted = (await conn.execute(refusals.group_by(OUTBOX.c.error))).all()
    return OutboxReport(
        [Pending(r.id, r.home, r.channel, r.kind, r.created_at, r.attempts) for r in rows],
        {str(error or "?"): int(count) for error, count in counted},
    )


async def waiting_count(database: Database) -> int:
    async with database() as work:
        conn = cast("SqlUnitOfWork", work).conn
        result = await conn.execute(select(func.count()).select_from(OUTBOX).where(WAITING))
        return int(result.scalar_one())
