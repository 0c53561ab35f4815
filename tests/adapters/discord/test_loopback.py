"""The loopback Discord against the unmodified discord.py: a bare bot, no Cercle code.

The bot registers slash commands with an `app_commands.CommandTree` (one with a string option,
one in a subcommand group), answers publicly and ephemerally, sends follow-ups, posts a message
with a `discord.ui.View` whose buttons edit it, and sends and reads files. Each test acts as a
user through the loopback and waits, with a timeout, for what the bot does.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.adapters.discord.conftest import (
    CLIENT_OPTIONS,
    DiscordClientFactory,
    ShardedClient,
    guild_id_on_shard,
)
from tests.adapters.discord.loopback import (
    EPHEMERAL,
    LOADING,
    CallbackType,
    Channel,
    GatewaySession,
    Guild,
    LoopbackDiscord,
    Member,
    Permission,
    User,
    shard_of,
)

TIMEOUT = 5.0
RECAP = b"# Recap\n\n- alice spoke twice\n- bob passed\n"


class FloorView(discord.ui.View):
    """A status message with two buttons, as the Cercle adapter's live status will have."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Take the floor", custom_id="floor:take")
    async def take(
        self, interaction: discord.Interaction, button: discord.ui.Button[FloorView]
    ) -> None:
        # Answer by updating the clicked message (callback type 7).
        name = interaction.user.display_name
        await interaction.response.edit_message(content=f"{name} has the floor.", view=self)

    @discord.ui.button(label="Pass", custom_id="floor:pass")
    async def pass_floor(
        self, interaction: discord.Interaction, button: discord.ui.Button[FloorView]
    ) -> None:
        # Acknowledge (type 6), then edit through the channel route (PATCH /channels/.../messages).
        await interaction.response.defer()
        assert interaction.message is not None
        await interaction.message.edit(content="Nobody has the floor.", view=self)


class CircleBot(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default(), **CLIENT_OPTIONS)
        self.guild_ref = discord.Object(guild_id)
        self.tree = app_commands.CommandTree(self)
        self.add_commands()

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild_ref)

    def add_commands(self) -> None:
        tree, guild = self.tree, self.guild_ref

        @tree.command(name="echo", description="Say it back", guild=guild)
        @app_commands.describe(text="What to say", private="Only you see the answer")
        async def echo(interaction: discord.Interaction, text: str, private: bool = False) -> None:
            await interaction.response.send_message(text, ephemeral=private)
            await interaction.followup.send(f"(follow-up) {text}", ephemeral=private)

        circle = app_commands.Group(name="circle", description="The circle")
        settings = app_commands.Group(name="settings", description="Its settings", parent=circle)

        @settings.command(name="rename", description="Rename the circle")
        async def rename(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"Renamed to {name}.", ephemeral=True)

        tree.add_command(circle, guild=guild)

        @tree.command(name="floor", description="Post the floor status", guild=guild)
        async def floor(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Posted.", ephemeral=True)
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.channel.send("Nobody has the floor.", view=FloorView())

        @tree.command(name="export", description="The recap as a file", guild=guild)
        async def export(interaction: discord.Interaction) -> None:
            recap = discord.File(io.BytesIO(RECAP), filename="recap.md")
            await interaction.response.send_message("Recap attached.", file=recap)

        @tree.command(name="size", description="Measure a file", guild=guild)
        async def size(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()  # fetched from the loopback's attachment URL
            await interaction.response.send_message(f"{file.filename}: {len(data)} bytes")

        @tree.command(name="think", description="A deferred answer", guild=guild)
        async def think(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("Thought it through.")  # fills the placeholder in
            await interaction.edit_original_response(content="Thought it through, twice.")

        @tree.command(name="recap", description="A recap too long for one message", guild=guild)
        async def recap(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            assert isinstance(interaction.channel, discord.TextChannel)
            try:
                await interaction.channel.send("x" * 2001)
            except discord.HTTPException as error:
                await interaction.followup.send(f"refused: {error.status} {error.code}")

        @tree.command(name="facilitator", description="Who may steer here", guild=guild)
        async def facilitator(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.user, discord.Member)
            steers = interaction.permissions.manage_channels
            await interaction.response.send_message(f"manage_channels={steers}", ephemeral=True)


@pytest.fixture
def guild(loopback: LoopbackDiscord) -> Guild:
    return loopback.add_guild("Peer circle", channels=("circle", "lobby"))


@pytest.fixture
def alice(loopback: LoopbackDiscord, guild: Guild) -> Member:
    return loopback.add_member(guild, "alice")


@pytest.fixture
async def bot(discord_client_factory: DiscordClientFactory, guild: Guild) -> discord.Client:
    return await discord_client_factory(CircleBot(guild.id))


def assert_clean(loopback: LoopbackDiscord) -> None:
    assert loopback.unknown_routes == []
    assert loopback.failed_calls == []


async def test_the_bot_connects_and_syncs_its_commands(
    loopback: LoopbackDiscord, guild: Guild, bot: discord.Client
) -> None:
    assert bot.user is not None
    assert bot.user.id == loopback.bot_user.id
    assert bot.application_id == loopback.application_id
    assert [g.id for g in bot.guilds] == [guild.id]
    assert [c.name for c in bot.guilds[0].text_channels] == ["circle", "lobby"]
    commands = {c["name"]: c for c in loopback.registered_commands(guild)}
    assert set(commands) == {
        *("echo", "circle", "floor", "export", "size", "think", "recap", "facilitator")
    }
    assert [o["name"] for o in commands["echo"]["options"]] == ["text", "private"]
    assert commands["circle"]["options"][0]["type"] == 2  # a subcommand group
    assert loopback.registered_commands() == []  # nothing global
    assert [c.kind for c in loopback.connections] == ["identify"]
    assert loopback.connections[0].query["compress"] == "zlib-stream"
    assert_clean(loopback)


async def test_slash_command_public_answer_and_follow_up(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    channel = guild.channel("circle")
    interaction = await loopback.send_slash(alice, channel, "echo", {"text": "hello"})
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.type == CallbackType.CHANNEL_MESSAGE
    assert callback.content == "hello"
    assert not callback.ephemeral
    [followup] = await interaction.wait_followups(1, TIMEOUT)
    assert followup.content == "(follow-up) hello"
    assert [m.content for m in channel.posted] == ["hello", "(follow-up) hello"]
    assert interaction.response is not None
    assert interaction.response.author is loopback.bot_user
    assert interaction.response.interaction is interaction
    assert interaction.data["options"] == [{"name": "text", "type": 3, "value": "hello"}]
    assert_clean(loopback)


async def test_ephemeral_answers_and_a_subcommand_group(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    channel = guild.channel("circle")
    secret = await loopback.send_slash(alice, channel, "echo", {"text": "psst", "private": True})
    callback = await secret.wait_callback(TIMEOUT)
    assert callback.ephemeral
    assert callback.flags & EPHEMERAL
    [followup] = await secret.wait_followups(1, TIMEOUT)
    assert followup.ephemeral

    rename = await loopback.send_slash(alice, channel, "circle settings rename", {"name": "Mardi"})
    callback = await rename.wait_callback(TIMEOUT)
    assert callback.content == "Renamed to Mardi."
    assert callback.ephemeral
    assert rename.data["options"] == [
        {
            "name": "settings",
            "type": 2,
            "options": [
                {
                    "name": "rename",
                    "type": 1,
                    "options": [{"name": "name", "type": 3, "value": "Mardi"}],
                }
            ],
        }
    ]
    with pytest.raises(ValueError, match="missing required"):
        await loopback.send_slash(alice, channel, "circle settings rename")
    with pytest.raises(LookupError, match="no command /nope"):
        await loopback.send_slash(alice, channel, "nope")
    assert_clean(loopback)


async def test_button_click_reaches_the_view_and_the_message_is_edited(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    channel = guild.channel("circle")
    bob = loopback.add_member(guild, "bob")
    posting = await loopback.send_slash(alice, channel, "floor")
    assert (await posting.wait_callback(TIMEOUT)).ephemeral
    status = await loopback.wait_message(channel, lambda m: bool(m.components), TIMEOUT)
    assert status.content == "Nobody has the floor."
    assert status.custom_ids() == ["floor:take", "floor:pass"]
    assert status.interaction is None  # a plain channel message (POST /channels/.../messages)

    take = await loopback.click(bob, status.id, "floor:take")
    assert (await take.wait_callback(TIMEOUT)).type == CallbackType.UPDATE_MESSAGE
    assert status.content == "bob has the floor."

    passing = await loopback.click(alice, status, "floor:pass")
    assert (await passing.wait_callback(TIMEOUT)).type == CallbackType.DEFERRED_UPDATE_MESSAGE
    await loopback.wait_for(lambda: len(status.versions) == 3, TIMEOUT, what="the second edit")
    assert [v.content for v in status.versions] == [
        "Nobody has the floor.",
        "bob has the floor.",
        "Nobody has the floor.",
    ]
    assert status.edited_at is not None
    assert len(loopback.calls_to("PATCH /channels/{channel_id}/messages/{message_id}")) == 1
    assert_clean(loopback)


async def test_files_sent_and_received(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    channel = guild.channel("circle")
    export = await loopback.send_slash(alice, channel, "export")
    await export.wait_callback(TIMEOUT)
    assert export.response is not None
    [attachment] = export.response.attachments
    assert attachment.filename == "recap.md"
    assert attachment.data == RECAP
    [call] = loopback.calls_to("POST /interactions/{interaction_id}/{token}/callback")
    assert call.files[0].field == "files[0]"  # multipart: payload_json + files[n]

    measure = await loopback.send_slash(alice, channel, "size", {"file": ("notes.txt", b"12345")})
    assert (await measure.wait_callback(TIMEOUT)).content == "notes.txt: 5 bytes"
    assert_clean(loopback)


async def test_deferred_answer_then_follow_up_and_edit(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    interaction = await loopback.send_slash(alice, guild.channel("circle"), "think")
    callback = await interaction.wait_callback(TIMEOUT)
    assert callback.type == CallbackType.DEFERRED_CHANNEL_MESSAGE
    assert callback.ephemeral
    await loopback.wait_for(
        lambda: interaction.response is not None and len(interaction.response.versions) == 3,
        TIMEOUT,
        what="the placeholder filled in, then edited",
    )
    response = interaction.response
    assert response is not None
    assert interaction.followups == [response]  # the first follow-up filled the placeholder in
    assert [(v.content, v.flags) for v in response.versions] == [
        ("", EPHEMERAL | LOADING),
        ("Thought it through.", EPHEMERAL),
        ("Thought it through, twice.", EPHEMERAL),
    ]
    assert_clean(loopback)


async def test_discord_limits_are_enforced(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    interaction = await loopback.send_slash(alice, guild.channel("circle"), "recap")
    response = await interaction.wait_response(TIMEOUT)
    assert response.content == "refused: 400 50035"
    [refused] = loopback.failed_calls
    assert refused.route == "POST /channels/{channel_id}/messages"
    assert refused.response["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert loopback.unknown_routes == []


async def test_permissions_reach_the_bot_per_channel(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    circle, lobby = guild.channel("circle"), guild.channel("lobby")
    loopback.set_permissions(circle, alice, allow=Permission.MANAGE_CHANNELS)
    here = await loopback.send_slash(alice, circle, "facilitator")
    there = await loopback.send_slash(alice, lobby, "facilitator")
    assert (await here.wait_callback(TIMEOUT)).content == "manage_channels=True"
    assert (await there.wait_callback(TIMEOUT)).content == "manage_channels=False"
    assert_clean(loopback)


async def test_resume_after_a_dropped_connection_replays_missed_events(
    loopback: LoopbackDiscord, guild: Guild, alice: Member, bot: discord.Client
) -> None:
    channel = guild.channel("circle")
    before = await loopback.send_slash(alice, channel, "echo", {"text": "before"})
    await before.wait_followups(1, TIMEOUT)

    await loopback.drop_connection(hold=True)
    missed = await loopback.send_slash(alice, channel, "echo", {"text": "while away"})
    assert not loopback.connected
    loopback.allow_reconnect()

    assert (await missed.wait_callback(TIMEOUT)).content == "while away"
    resumed = loopback.connections[-1]
    assert [c.kind for c in loopback.connections] == ["identify", "resume"]
    assert resumed.path == "/resume"  # the resume_gateway_url from READY
    assert missed.sequence in resumed.replayed

    after = await loopback.send_slash(alice, channel, "echo", {"text": "after"})
    assert (await after.wait_callback(TIMEOUT)).content == "after"
    await after.wait_followups(1, TIMEOUT)
    assert loopback.resumes == 1
    assert_clean(loopback)


async def test_an_unknown_route_answers_404_and_is_recorded(
    loopback: LoopbackDiscord, guild: Guild, bot: discord.Client
) -> None:
    with pytest.raises(discord.NotFound):
        await bot.fetch_guild(guild.id)
    assert loopback.unknown_routes == [f"GET /guilds/{guild.id}"]


async def test_privileged_intents_are_refused_as_discord_does(
    discord_client_factory: DiscordClientFactory, guild: Guild
) -> None:
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await discord_client_factory(intents=discord.Intents.all())


# -- shards ------------------------------------------------------------------------------------


class ShardBot(ShardedClient):
    """A sharded bot with one global command that says which client and which shard answered."""

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(intents=discord.Intents.default(), **CLIENT_OPTIONS | options)
        self.name = name
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            count = self.shard_count or 1
            shard = shard_of(interaction.guild_id, count)
            await interaction.response.send_message(f"{self.name} on shard {shard}")

    async def setup_hook(self) -> None:
        await self.tree.sync()  # global commands, as a bot on many servers registers them


@dataclass
class TwoShards:
    zero: Guild  # on shard 0 of 2
    one: Guild  # on shard 1 of 2
    alice: User  # a member of both


@pytest.fixture
def two_shards(loopback: LoopbackDiscord) -> TwoShards:
    zero = loopback.add_guild("Zero", channels=("circle",), guild_id=guild_id_on_shard(0, 2))
    one = loopback.add_guild("One", channels=("circle",), guild_id=guild_id_on_shard(1, 2))
    alice = loopback.add_user("alice")
    for guild in (zero, one):
        loopback.add_member(guild, alice)
    return TwoShards(zero, one, alice)


def only_session(loopback: LoopbackDiscord, shard_id: int) -> GatewaySession:
    [session] = [s for s in loopback.sessions if s.shard_id == shard_id]
    return session


async def where(loopback: LoopbackDiscord, user: User, channel: Channel) -> str | None:
    """`/where` in `channel`: the answer (which bot, which shard)."""
    interaction = await loopback.send_slash(user, channel, "where")
    return (await interaction.wait_callback(TIMEOUT)).content


async def test_gateway_bot_recommends_shards_and_an_auto_sharded_client_runs_them(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    two_shards: TwoShards,
) -> None:
    zero, one, alice = two_shards.zero, two_shards.one, two_shards.alice
    loopback.recommended_shards = 2
    bot = await discord_client_factory(ShardBot("solo"))  # no shard_count: asks /gateway/bot

    [gateway] = loopback.calls_to("GET /gateway/bot")
    assert gateway.response["shards"] == 2
    assert gateway.response["url"] == loopback.gateway_url
    assert set(gateway.response["session_start_limit"]) == {
        "total",
        "remaining",
        "reset_after",
        "max_concurrency",
    }
    assert [s.shard for s in loopback.sessions] == [[0, 2], [1, 2]]
    for guild, shard_id in ((zero, 0), (one, 1)):
        session = only_session(loopback, shard_id)
        [ready] = session.dispatched("READY")
        assert ready["shard"] == [shard_id, 2]
        assert [g["id"] for g in ready["guilds"]] == [str(guild.id)]
        assert [g["id"] for g in session.dispatched("GUILD_CREATE")] == [str(guild.id)]
    assert {g.id: g.shard_id for g in bot.guilds} == {zero.id: 0, one.id: 1}

    for guild, shard_id in ((zero, 0), (one, 1)):
        assert await where(loopback, alice, guild.channel("circle")) == f"solo on shard {shard_id}"
        interaction = loopback.interactions[-1]
        session = only_session(loopback, shard_id)
        assert interaction.sessions == [session]
        assert interaction.connections == [session.connection]
    assert_clean(loopback)


async def test_two_clients_share_the_shards_and_resume_on_their_own(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    two_shards: TwoShards,
) -> None:
    zero, one, alice = two_shards.zero, two_shards.one, two_shards.alice
    bot0 = await discord_client_factory(ShardBot("bot0", shard_count=2, shard_ids=[0]))
    bot1 = await discord_client_factory(ShardBot("bot1", shard_count=2, shard_ids=[1]))
    assert loopback.calls_to("GET /gateway/bot") == []  # the shard count was given
    assert [g.id for g in bot0.guilds] == [zero.id]
    assert [g.id for g in bot1.guilds] == [one.id]
    session0, session1 = only_session(loopback, 0), only_session(loopback, 1)

    assert await where(loopback, alice, zero.channel("circle")) == "bot0 on shard 0"
    assert await where(loopback, alice, one.channel("circle")) == "bot1 on shard 1"
    assert await where(loopback, alice, loopback.dm_channel(alice)) == "bot0 on shard 0"  # DMs

    # a user's message reaches only the session of its guild's shard
    heard = asyncio.create_task(bot1.wait_for("message", timeout=TIMEOUT))
    posted = loopback.post_message(alice, one.channel("circle"), "hello")
    assert (await heard).id == posted.id
    assert str(posted.id) in [m["id"] for m in session1.dispatched("MESSAGE_CREATE")]
    assert str(posted.id) not in [m["id"] for m in session0.dispatched("MESSAGE_CREATE")]

    # shard 1 drops and resumes on its own; shard 0 keeps answering meanwhile
    await loopback.drop_connection(shard=1, hold=True)
    missed = await loopback.send_slash(alice, one.channel("circle"), "where")
    assert loopback.live_sessions() == [session0]
    assert await where(loopback, alice, zero.channel("circle")) == "bot0 on shard 0"
    loopback.allow_reconnect()
    assert (await missed.wait_callback(TIMEOUT)).content == "bot1 on shard 1"
    resumed = loopback.connections[-1]
    assert (resumed.kind, resumed.session) == ("resume", session1)
    assert missed.sequence in resumed.replayed
    assert len(session0.connections) == 1
    assert loopback.resumes == 1

    # a clean close ends the session: nothing receives that shard's interactions any more
    await bot1.close()
    await loopback.wait_for(lambda: session1.ended, TIMEOUT, what="shard 1's session ended")
    assert loopback.sessions_for(one) == []
    with pytest.raises(RuntimeError, match="no bot session"):
        await loopback.send_slash(alice, one.channel("circle"), "where")
    assert_clean(loopback)


async def test_two_sessions_on_one_shard_both_get_its_interactions(
    loopback: LoopbackDiscord,
    discord_client_factory: DiscordClientFactory,
    two_shards: TwoShards,
) -> None:
    """A misconfiguration Discord allows: the interaction goes to both, one answer is refused."""
    discord_client_factory.allow_errors = True  # the slower bot logs its refused answer
    for name in ("first", "second"):
        await discord_client_factory(ShardBot(name, shard_count=2, shard_ids=[0]))
    assert [s.shard for s in loopback.sessions] == [[0, 2], [0, 2]]
    await where(loopback, two_shards.alice, two_shards.zero.channel("circle"))
    interaction = loopback.interactions[-1]
    assert interaction.sessions == loopback.sessions
    route = "POST /interactions/{interaction_id}/{token}/callback"
    await loopback.wait_for(lambda: len(loopback.calls_to(route)) == 2, TIMEOUT, what="2 answers")
    assert len(interaction.connections) == 2
    assert len(interaction.callbacks) == 1
    [refused] = loopback.failed_calls
    assert refused.response["code"] == 40060  # already acknowledged
