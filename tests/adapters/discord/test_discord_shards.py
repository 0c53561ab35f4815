"""Two Cercle instances sharing one Discord bot by shard, on one database (SQLite, PostgreSQL).

One loopback Discord holds 4 guilds, 2 on each shard of 2. Instance k runs shard k
(`DiscordConfig(shard_count=2, shard_ids=(k,))`, the adapter's own AutoShardedClient) and looks
after the circles of that shard (`Partition((Share("discord", 2, (k,)),))`). Both share one
manual clock; each has its own ManualScheduler, woken by hand as the clock moves. The test checks
who connects, who answers which command, who posts which prompt, and that a replacement instance
for shard 1 posts what fell due while shard 1 was down, once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord
import pytest

from adapters.config import DiscordConfig
from adapters.discord.adapter import DiscordAdapter
from adapters.discord.commands import slug
from adapters.discord.sync import sync_commands
from bot.app import CercleCore
from bot.domain.refs import ChannelRef
from bot.effects import Effect
from bot.partition import Partition, Share
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from storage.database import Database
from tests.adapters.discord.conftest import (
    CLIENT_OPTIONS,
    DiscordClientFactory,
    guild_id_on_shard,
)
from tests.adapters.discord.loopback import (
    Channel,
    GatewaySession,
    Guild,
    Interaction,
    LoopbackDiscord,
    Member,
    Permission,
)
from tests.conftest import PostgresServer, migrated_sqlite

TIMEOUT = 10.0
SHARDS = 2
START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # Thursday, 14:00 in Paris
SEANCE = datetime(2026, 12, 10, 13, 0, tzinfo=UTC)  # a week later, 14:00 in Paris
PLAN_OPTION = slug("quand | sujet | question")

# The prompts of a planned séance, in order, by the start of their French text.
PROMPTS = {
    "preparation": "Pour préparer la séance 1",
    "day_before": "Rappel : séance 1 demain",
    "soon": "La séance 1 commence dans",
    "start": "C'est l'heure de la séance 1",
}


@dataclass
class Place:
    """A guild, its circle's channel and the facilitator who runs the commands there."""

    guild: Guild
    channel: Channel
    anim: Member
    shard: int

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef("discord", str(self.channel.id))


@dataclass
class Instance:
    """One Cercle process: a core on its share of the database, a Discord adapter on its shard."""

    shard: int
    core: CercleCore
    adapter: DiscordAdapter
    database: Database
    posted: list[Effect] = field(default_factory=list)  # what its scheduler had it post

    @property
    def scheduler(self) -> ManualScheduler:
        assert isinstance(self.core.scheduler, ManualScheduler)
        return self.core.scheduler

    @property
    def handled(self) -> int:
        return sum(self.core.dispatcher.handled.values())

    async def wake(self, now: datetime) -> list[Effect]:
        """What the scheduler does when the clock reaches `now`: wake the core, post the rest."""
        effects = await self.scheduler.advance_to(now)
        await self.adapter.deliver(effects)
        self.posted.extend(effects)
        return effects


@dataclass
class Cluster:
    loopback: LoopbackDiscord
    clock: ManualClock
    places: list[Place]
    start: Callable[[int], Awaitable[Instance]]
    stop: Callable[[Instance], Awaitable[None]]

    def places_of(self, shard: int) -> list[Place]:
        return [place for place in self.places if place.shard == shard]

    def prompts_in(self, place: Place) -> list[str]:
        """The kinds of the prompts posted in a place's channel, in order (all bot messages
        outside interactions are prompts here: a planned séance has no live status)."""
        kinds = []
        for message in place.channel.posted:
            if message.author is not self.loopback.bot_user or message.interaction is not None:
                continue
            content = message.content
            if content.startswith("Serez-vous là à la séance"):
                continue  # the day-before reminder's question of who comes (RSVP)
            kind = next((k for k, start in PROMPTS.items() if content.startswith(start)), None)
            assert kind is not None, f"not a prompt: {content!r}"
            assert place.guild.name in content  # its own séance's subject or question
            kinds.append(kind)
        return kinds

    async def wait_prompts(self, places: list[Place], kinds: list[str]) -> None:
        await self.loopback.wait_for(
            lambda: all(self.prompts_in(place) == kinds for place in places),
            TIMEOUT,
            what=f"prompts {kinds} in {[p.guild.name for p in places]}",
        )

    async def advance(self, to: datetime, *instances: Instance) -> None:
        """Move the clock; the instances' schedulers wake, all at once, as on separate machines."""
        self.clock.set(to)
        await asyncio.gather(*(instance.wake(to) for instance in instances))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One migrated database that every instance of the test opens (a Database each)."""
    if request.param == "sqlite":
        return await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres")
    return await asyncio.to_thread(server.create_database)


@pytest.fixture
async def cluster(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    database_url: str,
) -> AsyncIterator[Cluster]:
    places = []
    for shard, n in itertools.product(range(SHARDS), range(2)):
        guild = loopback.add_guild(
            f"Guilde {shard}.{n}",
            channels=("cercle",),
            guild_id=guild_id_on_shard(shard, SHARDS, n),
            locale="fr",
        )
        channel = guild.channel("cercle")
        anim = loopback.add_member(guild, f"anim{shard}{n}", locale="fr")
        loopback.set_permissions(channel, anim, allow=Permission.MANAGE_CHANNELS)
        places.append(Place(guild, channel, anim, shard))
    # a bot on many servers registers its commands globally (`cercle discord sync`)
    assert await sync_commands(DiscordConfig(token=loopback.token), None) > 0

    clock = ManualClock(START)
    running: list[Instance] = []
    numbers = itertools.count(1)

    async def start(shard: int) -> Instance:
        # each instance stands for a process of its own: none runs SQLite inline in the loop
        # they share (one's wait for the file's lock would freeze the other)
        database = Database(database_url, inline=False)
        partition = Partition((Share("discord", SHARDS, (shard,)),))
        name = f"cercle-{shard}-{next(numbers)}"
        core = CercleCore(database, clock, instance=name, partition=partition)
        try:
            await core.start()
        except BaseException:
            await database.close()
            raise
        config = DiscordConfig(token=loopback.token, shard_count=SHARDS, shard_ids=(shard,))
        adapter = DiscordAdapter(core, config)  # its own client, as in production
        # discord.py waits this long after the last GUILD_CREATE before it is ready (2 s)
        adapter.client._connection.guild_ready_timeout = CLIENT_OPTIONS["guild_ready_timeout"]
        instance = Instance(shard, core, adapter, database)
        running.append(instance)
        await discord_client_factory(adapter.client)
        await asyncio.wait_for(adapter.ready.wait(), TIMEOUT)
        return instance

    async def stop(instance: Instance) -> None:
        running.remove(instance)
        await instance.adapter.stop(flush_seconds=TIMEOUT)
        await instance.database.close()

    try:
        yield Cluster(loopback, clock, places, start, stop)
    finally:
        for instance in list(running):
            await stop(instance)


async def slash(loopback: LoopbackDiscord, place: Place, command: str, **options: str) -> str:
    interaction = await loopback.send_slash(place.anim, place.channel, command, options or None)
    return (await interaction.wait_callback(TIMEOUT)).content or ""


def answered_by(interaction: Interaction, session: GatewaySession) -> bool:
    """Delivered to that session alone, on its live connection, and answered once."""
    return (
        interaction.sessions == [session]
        and interaction.connections == [session.connection]
        and len(interaction.callbacks) == 1
    )


def channels(effects: list[Effect]) -> set[ChannelRef]:
    return {effect.channel for effect in effects}


# Two instances in one process stand for two processes; an aiosqlite connection of the stopped
# one can still be collected after its database closed (a known leak of the test's set-up):
# its warning at collection is not what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_two_instances_share_the_guilds_by_shard_and_a_replacement_takes_over(
    cluster: Cluster,
) -> None:
    loopback = cluster.loopback
    first = [await cluster.start(0), await cluster.start(1)]

    # each instance connects its shard only, and sees only the guilds of that shard
    assert [session.shard for session in loopback.sessions] == [[0, 2], [1, 2]]
    sessions = list(loopback.sessions)
    for instance, session in zip(first, sessions, strict=True):
        k, client = instance.shard, instance.adapter.client
        assert isinstance(client, discord.AutoShardedClient)
        assert (client.shard_count, client.shard_ids, list(client.shards)) == (2, [k], [k])
        mine = {place.guild.id for place in cluster.places_of(k)}
        assert {guild.id for guild in client.guilds} == mine
        [ready] = session.dispatched("READY")
        assert {int(guild["id"]) for guild in ready["guilds"]} == mine
    assert loopback.calls_to("GET /gateway/bot") == []  # the shard count is configured

    # commands in each guild are answered once, by the instance of its shard
    for place in cluster.places:
        said = await slash(loopback, place, "cercle creer", nom=f"Cercle {place.guild.name}")
        assert said.startswith(f"Cercle « Cercle {place.guild.name} » créé.")
        assert answered_by(loopback.interactions[-1], sessions[place.shard])
        text = f"2026-12-10 14:00 | {place.guild.name} | Qu'apportez-vous à {place.guild.name} ?"
        said = await slash(loopback, place, "seance planifier", **{PLAN_OPTION: text})
        at = int(datetime(2026, 12, 10, 13, 0, tzinfo=UTC).timestamp())  # 14:00 in Paris
        assert said.startswith(f"Séance 1 planifiée le <t:{at}:F> (<t:{at}:R>).")
        assert answered_by(loopback.interactions[-1], sessions[place.shard])
    assert [instance.handled for instance in first] == [4, 4]  # 2 commands x 2 guilds each

    # the circles know where they live: Discord, and their guild (which decides the shard)
    for place in cluster.places:
        async with first[place.shard].core.uow_factory() as uow:
            circle = await uow.circles.by_channel(place.ref)
        assert circle is not None
        assert (circle.home, circle.shard_key) == ("discord", place.guild.id)

    # the preparation question, 3 days before: each instance posts its own guilds' ones
    await cluster.advance(SEANCE - timedelta(days=3), *first)
    for instance in first:
        assert channels(instance.posted) == {p.ref for p in cluster.places_of(instance.shard)}
    await cluster.wait_prompts(cluster.places, ["preparation"])

    # instance 1 stops; the day-before reminders fall due while shard 1 has nobody
    await cluster.stop(first[1])
    await loopback.wait_for(lambda: sessions[1].ended, TIMEOUT, what="shard 1's session ended")
    await cluster.advance(SEANCE - timedelta(days=1) + timedelta(hours=1), first[0])
    await cluster.wait_prompts(cluster.places_of(0), ["preparation", "day_before"])
    for place in cluster.places_of(1):
        assert cluster.prompts_in(place) == ["preparation"]
        assert loopback.sessions_for(place.guild) == []  # Discord has no one to send them to

    # a new instance takes shard 1 over: what fell due meanwhile is posted, once
    replacement = await cluster.start(1)
    assert [session.shard for session in loopback.sessions] == [[0, 2], [1, 2], [1, 2]]
    sessions[1] = loopback.sessions[-1]
    due = sorted(replacement.scheduler.jobs().values())
    assert due[0] == cluster.clock.now()  # the overdue reminders, woken at once
    await replacement.wake(cluster.clock.now())
    assert channels(replacement.posted) == {p.ref for p in cluster.places_of(1)}
    await cluster.wait_prompts(cluster.places, ["preparation", "day_before"])
    for place in cluster.places_of(1):
        said = await slash(loopback, place, "seance liste")
        at = int(datetime(2026, 12, 10, 13, 0, tzinfo=UTC).timestamp())  # 14:00 in Paris
        assert f"n° 1 — <t:{at}:F> (<t:{at}:R>) — sujet : {place.guild.name}" in said
        assert answered_by(loopback.interactions[-1], sessions[1])
    assert replacement.handled == 2

    # the last reminders come from the two running instances, each for its own guilds
    await cluster.advance(SEANCE, first[0], replacement)
    everything = ["preparation", "day_before", "soon", "start"]
    await cluster.wait_prompts(cluster.places, everything)
    assert channels(first[0].posted) == {p.ref for p in cluster.places_of(0)}
    assert channels(replacement.posted) == {p.ref for p in cluster.places_of(1)}
    posts = loopback.calls_to("POST /channels/{channel_id}/messages")
    per_channel = Counter(int(call.path.split("/")[2]) for call in posts)
    # each prompt once, and the day-before reminder's RSVP question with it
    assert per_channel == {place.channel.id: len(everything) + 1 for place in cluster.places}
    assert [len(i.posted) for i in (*first, replacement)] == [2 + 2 + 4 + 2, 2, 2 + 4 + 2]
    assert loopback.unknown_routes == []
    assert loopback.failed_calls == []
