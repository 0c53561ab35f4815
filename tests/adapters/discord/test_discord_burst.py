"""A crowd on Discord: many members of one circle send /tour at once. Every one is acknowledged
in time, once; those behind the crowd are deferred and get their answer as a follow-up; the core
still takes them in their order of arrival (bench/discord_burst.py measures the same at 200)."""

from __future__ import annotations

import asyncio
import re

from tests.adapters.discord import test_discord_seance as seance
from tests.adapters.discord.loopback import CallbackType, Interaction, LoopbackDiscord
from tests.adapters.discord.test_discord_answers import _open_floor
from tests.adapters.discord.test_discord_seance import TIMEOUT, StartCercle, World, slash

world = seance.world  # the fixtures: a guild with a facilitator and three people, Cercle on it
start_cercle = seance.start_cercle
CROWD_SIZE = 12
CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{token}/callback"


def answer_of(interaction: Interaction) -> str:
    """What the person was told: the callback's message, or the follow-up of a deferral."""
    callback = interaction.callback
    assert callback is not None
    if callback.type == CallbackType.DEFERRED_CHANNEL_MESSAGE:
        [followup] = interaction.followups
        return followup.content
    return callback.content or ""


async def test_a_crowd_is_acknowledged_once_each_and_served_in_order(
    loopback: LoopbackDiscord, world: World, start_cercle: StartCercle
) -> None:
    await start_cercle()
    await _open_floor(loopback, world)
    guild = world.guild
    crowd = [loopback.add_member(guild, f"membre{n:02d}", locale="fr") for n in range(CROWD_SIZE)]
    for member in crowd:  # they join the circle, one after the other
        await slash(loopback, member, world, "present")
    calls = len(loopback.calls)

    sent = await asyncio.gather(*(loopback.send_slash(m, world.channel, "tour") for m in crowd))

    def answered(i: Interaction) -> bool:
        callback = i.callback
        deferred = callback is not None and callback.type == CallbackType.DEFERRED_CHANNEL_MESSAGE
        return callback is not None and (not deferred or bool(i.followups))

    await loopback.wait_for(lambda: all(answered(i) for i in sent), TIMEOUT, what="every answer")
    # a second callback would come before the answer's follow-up, in the same exchange
    requests = [c.path.split("/")[2] for c in loopback.calls[calls:] if c.route == CALLBACK_ROUTE]
    assert sorted(requests) == sorted(str(i.id) for i in sent)  # one callback each
    assert all(i.late_callbacks == 0 for i in sent)
    deferred = [i for i in sent if i.callback and i.callback.type == 5]
    assert len(deferred) >= CROWD_SIZE - 3  # those behind the crowd: "thinking…" at once
    assert all(len(i.followups) == 1 for i in deferred)
    assert deferred[-1] is sent[-1]  # the last of the crowd is deferred, not held up

    # the first got the floor, the others queued in their order of arrival
    answers = [answer_of(i) for i in sent]
    assert "vous avez la parole" in answers[0]
    places = [re.search(r"\b(\d+)\b", a) for a in answers[1:]]
    assert [int(p.group(1)) for p in places if p] == list(range(1, CROWD_SIZE))
