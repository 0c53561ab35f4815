"""Planned séances in the server's events list, on the loopback Discord: created, moved,
cancelled, started and ended with the séance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.discord.adapter import DiscordAdapter
from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import LoopbackDiscord
from tests.adapters.discord.loopback.events import ACTIVE, CANCELLED, COMPLETED, SCHEDULED
from tests.adapters.discord.test_discord_seance import StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle
PLAN = "quand-sujet-question"


def _start(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["scheduled_start_time"])


async def _events(loopback: LoopbackDiscord, adapter: DiscordAdapter, world: World) -> list[Any]:
    await adapter.events.idle()
    return sorted(loopback.events_of(world.guild.id), key=lambda e: int(e["id"]))


async def test_a_seance_is_an_event_from_planning_to_its_end(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    adapter = await start_cercle()
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle ESS")
    await slash(loopback, anim, world, "seance planifier", **{PLAN: "mardi 8 décembre 14h"})
    [first] = await _events(loopback, adapter, world)
    assert first["name"] == "Cercle ESS — séance 1"
    assert _start(first) == datetime(2026, 12, 8, 13, 0, tzinfo=UTC)  # 14:00 in Paris
    assert first["status"] == SCHEDULED
    assert first["entity_type"] == 3  # external, pointing to the channel
    assert str(world.channel.id) in first["entity_metadata"]["location"]

    await slash(
        loopback, anim, world, "seance deplacer", **{"n-date": "1"}, quand="mercredi 9 décembre 15h"
    )
    [moved] = await _events(loopback, adapter, world)
    assert moved["id"] == first["id"]
    assert _start(moved) == datetime(2026, 12, 9, 14, 0, tzinfo=UTC)

    await slash(loopback, anim, world, "seance planifier", **{PLAN: "jeudi 10 décembre 14h"})
    await slash(loopback, anim, world, "seance annuler", **{"n-date": "2"})
    one, two = await _events(loopback, adapter, world)
    assert (one["status"], two["status"]) == (SCHEDULED, CANCELLED)

    # planned for Wednesday: opened today on purpose, by its number
    await slash(loopback, anim, world, "seance ouvrir", **{"n-date-extra": "1"})
    one, two = await _events(loopback, adapter, world)
    assert one["status"] == ACTIVE
    await slash(loopback, anim, world, "seance fin")
    one, two = await _events(loopback, adapter, world)
    assert (one["status"], two["status"]) == (COMPLETED, CANCELLED)
    assert loopback.unknown_routes == []


async def test_a_restarted_bot_keeps_the_same_events(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    first = await start_cercle()
    anim = world.anim
    await slash(loopback, anim, world, "cercle creer", nom="Cercle")
    await slash(loopback, anim, world, "seance planifier", **{PLAN: "mardi 8 décembre 14h"})
    [event] = await _events(loopback, first, world)
    await first.stop(flush_seconds=1)
    second = await start_cercle()
    await slash(
        loopback, anim, world, "seance deplacer", **{"n-date": "1"}, quand="mardi 8 décembre 16h"
    )
    [moved] = await _events(loopback, second, world)
    assert moved["id"] == event["id"]  # the stored event id, not a second event
    assert _start(moved) == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
