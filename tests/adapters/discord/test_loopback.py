"""The loopback Discord against the unmodified discord.py: a bare bot, no Cercle code.

The bot registers slash commands with an `app_commands.CommandTree` (one with a string option,
one in a subcommand group), answers publicly and ephemerally, sends follow-ups, posts a message
with a `discord.ui.View` whose buttons edit it, and sends and reads files. Each test acts as a
user through the loopback and waits, with a timeout, for what the bot does.
"""

from __future__ import annotations

import io

import pytest

discord = pytest.importorskip("discord")

from discord import app_commands  # noqa: E402

from tests.adapters.discord.conftest import CLIENT_OPTIONS, DiscordClientFactory  # noqa: E402
from tests.adapters.discord.loopback import (  # noqa: E402
    EPHEMERAL,
    LOADING,
    CallbackType,
    Guild,
    LoopbackDiscord,
    Member,
    Permission,
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
