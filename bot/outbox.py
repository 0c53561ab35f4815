"""The outbox: what the core decided to post survives a crash, and is posted once.

A command, a time box or a prompt writes its messages as outbox rows in the same transaction as
the change that caused them: either both are stored or neither is. The adapter that posts a
message tells the core once the platform has acknowledged it, and only then is the row marked
delivered. So a crash between "decided" and "acknowledged" leaves the row waiting, and the next
start posts it (`Outbox.recover`); a send the platform refuses for good (the bot was removed from
the room) is marked failed, kept for operators and never retried.

Within one process, a row handed to an adapter is *held* until it is done, so the recovery of
rows left behind never posts one that an adapter is still sending.

The platform event a command came from (a Matrix event id, a Discord interaction id) is recorded
in the command's own transaction as well: an event seen again (a sync replayed after a crash, a
gateway RESUME) is not handled a second time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.effects import Effect, StatusView
from bot.partition import EVERYTHING, Partition
from bot.ports import UnitOfWork, UnitOfWorkFactory, Waiting
from bot.recaps.drawing import Drawing
from bot.timing.clock import Clock

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=7)  # delivered rows and handled event ids, for operators, then pruned
# A row of this process not handed to any adapter this long after it was written was lost on
# the way (no adapter was listening yet): recovery takes it.
ORPHAN_AFTER = timedelta(seconds=30)


async def record(
    uow: UnitOfWork,
    effects: Sequence[Effect],
    home: str | None,
    shard_key: int | None,
    now: datetime,
    drawings: Sequence[Drawing] = (),
) -> list[Effect]:
    """Write `effects` to the outbox (in the caller's transaction); they come back numbered
    (but for status edits, see `kept`), and the `drawings` waiting for them wait for the
    numbered ones."""
    written = [e for e in effects if kept(e)]
    if not written:
        return list(effects)
    ids = await uow.outbox.add(written, home, shard_key, now)
    new = {id(e): with_outbox_id(e, i) for e, i in zip(written, ids, strict=True)}
    numbered = [new.get(id(e), e) for e in effects]
    for drawing in drawings:
        drawing.targets[:] = [new.get(id(t), t) for t in drawing.targets]
    return numbered


def kept(effect: Effect) -> bool:
    """Whether the outbox keeps `effect` until the platform acknowledges it: everything but an
    edit of a séance's live status message. An edit only shows the séance's state again (the
    adapters already skip the edits a newer one overtakes): a lost one is made good by the next
    command's, and after a restart by the status each open séance is shown again
    (`CercleCore.start`). Its first posting and its closing stay in the outbox. Floor commands
    all edit the status: this is one outbox row, and its delivery mark, fewer a command."""
    return not (
        isinstance(effect, StatusView) and effect.message_id is not None and not effect.closed
    )


def with_outbox_id(effect: Effect, outbox_id: int) -> Effect:
    """`dataclasses.replace(effect, outbox_id=outbox_id)` at a third of the cost (every command
    numbers two or three effects): the fields are copied as they are into a new instance, which
    is all `replace` does for a frozen dataclass whose fields all go through `__init__` and that
    has no `__post_init__`; any other class goes through `replace`."""
    cls = type(effect)
    names = _COPIED.get(cls)
    if names is None:
        names = _COPIED[cls] = _copied_fields(cls)
    if not names:
        return dataclasses.replace(effect, outbox_id=outbox_id)
    numbered = object.__new__(cls)
    for name in names:
        _set(numbered, name, getattr(effect, name))
    _set(numbered, "outbox_id", outbox_id)
    return numbered


_set = object.__setattr__  # a frozen dataclass refuses its own __setattr__
# each effect class -> the fields to copy, or () when `dataclasses.replace` must do it
_COPIED: dict[type, tuple[str, ...]] = {}


def _copied_fields(cls: type) -> tuple[str, ...]:
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
        return ()
    return tuple(f.name for f in fields if f.name != "outbox_id")


class Outbox:
    """The delivery side of the outbox, for adapters: hold, done, refused, recover."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, partition: Partition) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._partition = partition
        self.started_at = clock.now()
        self._held: set[int] = set()
        self._marking: set[int] = set()  # acknowledged, to be marked in the next write
        self._writing: asyncio.Future[None] | None = None
        self._from_start: set[int] = set()  # rows written by `start` for recovery to hand over
        self.delivered = 0
        self.failed = 0

    def hold(self, effects: Iterable[Effect]) -> list[Effect]:
        """The effects an adapter should send now: those not already being sent here."""
        fresh: list[Effect] = []
        for effect in effects:
            if effect.outbox_id is not None:
                if effect.outbox_id in self._held:
                    continue
                self._held.add(effect.outbox_id)
            fresh.append(effect)
        return fresh

    def holding(self) -> int:
        return len(self._held)

    async def done(self, *effects: Effect) -> None:
        """The platform acknowledged these (or they needed nothing more).

        Marks made while another is being written join the next write: a burst of messages
        to many rooms costs a few transactions, not one each."""
        ids = [e.outbox_id for e in effects if e.outbox_id is not None]
        if not ids:
            return
        self._marking.update(ids)
        if self._writing is None:
            self._writing = asyncio.ensure_future(self._write_marks())
        await asyncio.shield(self._writing)

    async def _write_marks(self) -> None:
        try:
            while self._marking:
                batch = sorted(self._marking)
                self._marking.clear()
                async with self._uow_factory() as uow:
                    await uow.outbox.delivered(batch, self._clock.now())
                    await uow.commit()
                self._held.difference_update(batch)
                self.delivered += len(batch)
        finally:
            self._writing = None

    async def refused(self, effect: Effect, reason: str) -> None:
        """The platform refused it for good: never retried."""
        if effect.outbox_id is None:
            return
        async with self._uow_factory() as uow:
            await uow.outbox.failed(effect.outbox_id, self._clock.now(), reason)
            await uow.commit()
        self._held.discard(effect.outbox_id)
        self.failed += 1

    async def retried(self, effect: Effect) -> None:
        if effect.outbox_id is None:
            return
        async with self._uow_factory() as uow:
            await uow.outbox.retried(effect.outbox_id)
            await uow.commit()

    async def recover(self, platform: str) -> list[Effect]:
        """What this instance's `platform` left undelivered: written before this process
        started (a crash, a stop that overran), or lost on the way since; now held."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            rows = await uow.outbox.waiting(self._partition)
            await uow.commit()
        found = [
            r
            for r in rows
            if r.effect.channel.platform == platform
            and r.id not in self._held
            and (
                r.created_at < self.started_at
                or r.id in self._from_start
                or now - r.created_at >= ORPHAN_AFTER
            )
        ]
        if found:
            log.info("%d messages left undelivered on %s: sending them now", len(found), platform)
        return self.hold(r.effect for r in found)

    def written_at_start(self, outbox_ids: Iterable[int]) -> None:
        """Rows the start-up wrote before any adapter listened: the first recovery hands them
        over at once (not as orphans, 30 seconds later)."""
        self._from_start.update(outbox_ids)

    async def waiting(self, partition: Partition = EVERYTHING) -> list[Waiting]:
        async with self._uow_factory() as uow:
            rows = await uow.outbox.waiting(partition)
            await uow.commit()
        return rows


async def settle_drawn(
    uow_factory: UnitOfWorkFactory, before: Sequence[Effect], after: Sequence[Effect], now: datetime
) -> None:
    """Charts are drawn after commit: store the effects that took one, and close the rows of
    those left out (a chart that could not be drawn), so recovery never posts them bare."""
    kept = {e.outbox_id: e for e in after if e.outbox_id is not None}
    changed = [e for e in before if e.outbox_id in kept and kept[e.outbox_id] != e]
    dropped = [e.outbox_id for e in before if e.outbox_id is not None and e.outbox_id not in kept]
    if not changed and not dropped:
        return
    async with uow_factory() as uow:
        for effect in changed:
            assert effect.outbox_id is not None
            await uow.outbox.replace(effect.outbox_id, kept[effect.outbox_id])
        for outbox_id in dropped:
            await uow.outbox.failed(outbox_id, now, "not drawn")
        await uow.commit()


async def prune(uow_factory: UnitOfWorkFactory, now: datetime) -> tuple[int, int]:
    """Forget delivered messages and handled event ids older than KEEP_FOR."""
    async with uow_factory() as uow:
        rows = await uow.outbox.prune(now - KEEP_FOR)
        events = await uow.handled.prune(now - KEEP_FOR)
        await uow.commit()
    return rows, events
