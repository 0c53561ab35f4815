"""Dates in messages keep the circle's zone in the text and carry their instant alongside."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.effects import Reply
from tests.conversation import Chat


async def test_a_planned_date_is_written_in_the_circle_zone_and_kept_as_an_instant(
    chat: Chat,
) -> None:
    await chat.script(
        "anim: /cercle creer Test",
        "anim: /cercle fuseau America/Montreal",
        "anim: /seance planifier mardi 8 décembre 14h",
    )
    [reply] = [e for e in chat.last if isinstance(e, Reply)]
    [moment] = reply.moments
    assert moment.at == datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # 14:00 in Montréal
    assert moment.text in reply.text
    assert "14:00" in moment.text or "14 h" in moment.text
    await chat.script("anim: /seance liste")
    [listing] = [e for e in chat.last if isinstance(e, Reply)]
    assert [m.at for m in listing.moments] == [moment.at]
