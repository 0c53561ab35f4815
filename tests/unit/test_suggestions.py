"""Séance numbers offered while typing come from the core, in the circle's language and zone."""

from __future__ import annotations

from bot.domain.refs import ChannelRef
from tests.conversation import Chat


async def test_planned_and_open_seances_are_offered(chat: Chat) -> None:
    assert await chat.core.suggest_seances(chat.channel, "") == []  # no circle here
    await chat.script(
        "anim: /cercle creer Test",
        "anim: /seance planifier mardi 14h",
        "anim: /seance planifier jeudi 10 décembre 14h",
    )
    offered = await chat.core.suggest_seances(chat.channel, "")
    assert [s.value for s in offered] == [1, 2]
    assert offered[0].label.startswith("1 — ")
    assert "14:00" in offered[0].label or "14 h" in offered[0].label
    assert [s.value for s in await chat.core.suggest_seances(chat.channel, "2")] == [2]
    await chat.script("anim: /seance annuler 1")
    # the remaining séance is now the first: a cancelled one leaves no gap in the numbers
    assert [s.value for s in await chat.core.suggest_seances(chat.channel, "")] == [1]
    elsewhere = ChannelRef("console", "ailleurs")
    assert await chat.core.suggest_seances(elsewhere, "") == []
