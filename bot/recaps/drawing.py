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


@dataclass(slots=True)
class Drawing:
    """A chart to draw, and how each waiting effect takes it (None: drop that effect)."""

    draw: Callable[[], bytes]
    attach: Callable[[Effect, bytes | None], Effect | None]
    targets: list[int] = field(default_factory=list)  # indexes in the context's effects


async def finish(effects: Sequence[Effect], drawings: Sequence[Drawing]) -> list[Effect]:
    """Draw what is waiting and return the effects with their charts, in the same order."""
    if not drawings:
        return list(effects)
    out: list[Effect | None] = list(effects)
    for drawing in drawings:
        png: bytes | None
        try:
            png = await asyncio.to_thread(drawing.draw)
        except Exception:
            log.exception("a chart could not be drawn; the message goes out without it")
            png = None
        for index in drawing.targets:
            waiting = out[index]
            if waiting is not None:
                out[index] = drawing.attach(waiting, png)
    return [e for e in out if e is not None]
