"""Charts are drawn after the circle's lock is released: the circle's next command does not
wait for matplotlib, and the recap still gets its own chart."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.effects import RecapPost
from bot.recaps import posting
from bot.recaps.figures import BarFigure
from tests.conversation import Chat, start_circle


async def test_the_next_command_runs_while_the_recap_chart_is_drawn(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start_circle(chat, "alice")
    await chat.script("anim: /seance phase suivante", "anim: /fini")
    await chat.wait(seconds=90)
    drawing, release = threading.Event(), threading.Event()
    real = posting._draw_bars

    def slow(figure: BarFigure) -> bytes:
        drawing.set()
        release.wait(10)
        return real(figure)

    monkeypatch.setattr(posting, "_draw_bars", slow)
    closing = asyncio.create_task(chat.say("anim", "/seance fin"))
    assert await asyncio.to_thread(drawing.wait, 10)
    other = Chat(chat.core.uow_factory, clock=chat.clock, core=chat.core)
    await asyncio.wait_for(other.say("alice", "/seance liste"), 5)  # not held by the chart
    assert other.refused is None
    release.set()
    outcome = await closing
    (recap,) = [e for e in outcome.effects if isinstance(e, RecapPost)]
    assert recap.chart is not None
    assert recap.chart.png.startswith(b"\x89PNG")
