"""Charts drawn after the transaction that asked for them has been committed.

Drawing a chart takes tens of milliseconds: doing it inside a command's transaction would hold
the database (SQLite has one writer) and the event loop. A handler instead leaves a `Drawing` on
its context: what to draw, and which of its effects wait for the picture. Once the transaction
is committed, `finish` draws each one in a worker thread and attaches the PNG. A chart that
cannot be drawn is logged and left out; the recap goes out all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.effects import Effect

log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class Drawing:
    """A chart to draw, and how each waiting effect takes it (None: drop that effect)."""

    draw: Callable[[], bytes]
    attach: Callable[[Effect, bytes | None], Effect | None]
    targets: list[Effect] = field(default_factory=list)  # the very effects that wait for it


async def finish(effects: Sequence[Effect], drawings: Sequence[Drawing]) -> list[Effect]:
    """Draw what is waiting and return the effects with their charts, in the same order.

    Effects are matched to their drawing by identity, not position, so effects added, removed
    or reordered after `ctx.draw` still get their own chart. Call it after the circle's lock is
    released: drawing takes tens of milliseconds that the circle's next command need not wait."""
    if not drawings:
        return list(effects)
    waiting: dict[int, tuple[Drawing, Effect]] = {}
    charts: dict[int, bytes | None] = {}
    for drawing in drawings:
        png: bytes | None
        try:
            png = await asyncio.to_thread(drawing.draw)
        except Exception:
            log.exception("a chart could not be drawn; the message goes out without it")
            png = None
        charts[id(drawing)] = png
        for target in drawing.targets:
            waiting[id(target)] = (drawing, target)
    out: list[Effect] = []
    for effect in effects:
        found = waiting.get(id(effect))
        if found is None or found[1] is not effect:
            out.append(effect)
            continue
        done = found[0].attach(effect, charts[id(found[0])])
        if done is not None:
            out.append(done)
    return out
