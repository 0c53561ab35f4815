"""Cercle on Discord: slash commands and buttons through discord.py, answered by the core.

- Personal answers (your position, errors, refusals) are ephemeral; floor changes are public.
- The live status is one embed per open séance with buttons, edited in place; the buttons'
  custom ids are stable (`cercle:tour`, ...) and registered as a persistent view, so they keep
  working on old messages after a restart.
- The core answers in a few milliseconds, well within Discord's 3 s to acknowledge; anything
  not tied to the interaction (status, recap, prompts) goes through one paced send queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from adapters.config import DiscordConfig
from adapters.discord.commands import CatalogCommandTranslator, build_commands
from adapters.homes import DISCORD_HOME
from bot.app import CercleCore
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect, FilePost, RecapPost, Reply, StatusView
from bot.events import CommandEvent
from bot.partition import shard_of
from bot.registry import COMMANDS

log = logging.getLogger(__name__)

PLATFORM = "discord"
MESSAGE_LIMIT = 2000
ACK_WITHIN_SECONDS = 2.0  # Discord drops an interaction not acknowledged within 3 s
EMBED_LIMIT = 4096
_MENTION = re.compile(r"^<@!?(\d+)>$")

BUTTONS: tuple[tuple[str, str, str, str, discord.ButtonStyle], ...] = (
    # custom id, command, French label, English label, style
    ("cercle:tour", "/tour", "✋ Lever la main", "✋ Raise hand", discord.ButtonStyle.primary),
    ("cercle:passe", "/passe", "Passer", "Pass", discord.ButtonStyle.secondary),
    ("cercle:fini", "/fini", "J'ai fini", "I'm done", discord.ButtonStyle.success),
    ("cercle:suivant", "/suivant", "Suivant", "Next", discord.ButtonStyle.danger),
)


def resolve_mention(token: str) -> UserRef | None:
    match = _MENTION.match(token.strip())
    return UserRef(PLATFORM, match.group(1)) if match else None


def chunks(text: str, limit: int) -> list[str]:
    """Split a long text on line ends so each part fits Discord's limit."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current.strip():
        parts.append(current)
    return parts or [""]


class StatusButtons(discord.ui.View):
    """The buttons under the live status; persistent, so they work after a restart."""

    def __init__(self, press: Callable[[discord.Interaction, str], Awaitable[None]], lang: str):
        super().__init__(timeout=None)
        for custom_id, command, fr, en, style in BUTTONS:
            button: discord.ui.Button[StatusButtons] = discord.ui.Button(
                label=fr if lang == "fr" else en, style=style, custom_id=custom_id
            )
            button.callback = self._make(press, command)  # type: ignore[method-assign]
            self.add_item(button)

    @staticmethod
    def _make(
        press: Callable[[discord.Interaction, str], Awaitable[None]], command: str
    ) -> Callable[[discord.Interaction], Awaitable[None]]:
        async def callback(interaction: discord.Interaction) -> None:
            await press(interaction, command)

        return callback


@dataclass(slots=True)
class _Send:
    action: Callable[[], Awaitable[None]]
    status_key: tuple[str, int] | None = None
    version: int = 0


def _client(config: DiscordConfig, intents: discord.Intents) -> discord.Client:
    """One gateway connection, or the shards this instance is given (`shard_ids` of
    `shard_count`): each instance then sees only the servers of its shards."""
    if config.shard_count is None:
        return discord.Client(intents=intents, chunk_guilds_at_startup=False)
    return discord.AutoShardedClient(
        intents=intents,
        chunk_guilds_at_startup=False,
        shard_count=config.shard_count,
        shard_ids=list(config.shard_ids) if config.shard_ids is not None else None,
    )


class DiscordAdapter:
    """Runs the bot user on the Discord gateway for Cercle."""

    platform = PLATFORM
    capabilities = frozenset({"edits", "buttons", "ephemeral", "files", "embeds"})

    def __init__(
        self, core: CercleCore, config: DiscordConfig, client: discord.Client | None = None
    ) -> None:
        self.core = core
        self.config = config
        intents = discord.Intents.default()
        intents.message_content = False
        intents.members = False
        intents.presences = False
        self.client = client or _client(config, intents)
        self.tree = app_commands.CommandTree(self.client)
        self.ready = asyncio.Event()
        self._queue: asyncio.Queue[_Send] = asyncio.Queue()
        self._status_versions: dict[tuple[str, int], int] = {}
        self._status_text: dict[tuple[str, int], str] = {}
        self._status_message: dict[tuple[str, int], int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.client.setup_hook = self._setup  # type: ignore[method-assign]
        self.client.event(self.on_ready)

    # -- setup -----------------------------------------------------------------------------

    async def _setup(self) -> None:
        await self.tree.set_translator(CatalogCommandTranslator())
        commands = build_commands(
            COMMANDS, self._run_command, self.core.translator, complete=self._suggest
        )
        for command in commands:
            self.tree.add_command(command)
        self.client.add_view(StatusButtons(self._run_command, "fr"))
        for guild_id in self._own_guilds(self.config.guild_ids):
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        self._tasks.append(asyncio.create_task(self._sender(), name="discord-sender"))

    def _own_guilds(self, guild_ids: tuple[int, ...]) -> list[int]:
        """The configured servers on this instance's shards (each instance syncs its own)."""
        count, mine = self.config.shard_count, self.config.shard_ids
        if count is None or mine is None:
            return list(guild_ids)
        return [g for g in guild_ids if shard_of(g, count) in mine]

    async def on_ready(self) -> None:
        log.info("discord adapter ready as %s", self.client.user)
        self.ready.set()

    async def run(self) -> None:
        assert self.config.token is not None
        await self.client.start(self.config.token)

    async def stop(self, flush_seconds: float = 5.0) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), flush_seconds)
        for task in self._tasks:
            task.cancel()
        await self.client.close()

    # -- incoming --------------------------------------------------------------------------

    def _is_facilitator(self, interaction: discord.Interaction) -> bool:
        if interaction.permissions.manage_channels:
            return True
        roles = getattr(interaction.user, "roles", [])
        wanted = set(self.config.facilitator_roles)
        return any(role.name in wanted for role in roles)

    async def _run_command(self, interaction: discord.Interaction, text: str) -> None:
        channel_id = interaction.channel_id
        if channel_id is None:
            return
        user = interaction.user
        event = CommandEvent(
            channel=ChannelRef(PLATFORM, str(channel_id)),
            author=UserRef(PLATFORM, str(user.id)),
            author_name=user.display_name,
            text=text,
            platform_facilitator=self._is_facilitator(interaction),
            platform_knows_roles=True,
            resolve_user=resolve_mention,
            home=DISCORD_HOME,
            shard_key=interaction.guild_id,
            locale=str(interaction.locale.value) if interaction.locale else None,
        )
        handling = asyncio.ensure_future(self.core.handle(event))
        done, _ = await asyncio.wait({handling}, timeout=ACK_WITHIN_SECONDS)
        if not done:
            # Discord wants an answer within 3 s: say we are on it, answer when done.
            await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await handling
        await self._answer(interaction, event.author, outcome.effects)

    async def _answer(
        self, interaction: discord.Interaction, author: UserRef, effects: list[Effect]
    ) -> None:
        mine = [e for e in effects if isinstance(e, Reply) and e.private and e.to == author]
        public = [e for e in effects if isinstance(e, Reply) and not e.private]
        files = [e for e in effects if isinstance(e, FilePost | RecapPost) and e.to == author]
        rest = [e for e in effects if e not in mine and e not in public and e not in files]
        try:
            unsent: list[Effect] = list(await self._respond(interaction, mine, public, files))
        except discord.HTTPException as error:
            # The core has already acted (and committed): whatever the interaction could not
            # carry still reaches the channel, so nobody misses who has the floor.
            log.warning("interaction answer failed (%s): posting to the channel", error.status)
            unsent = list(public)
        await self.deliver([*unsent, *rest])

    async def _respond(
        self,
        interaction: discord.Interaction,
        mine: list[Reply],
        public: list[Reply],
        files: list[FilePost | RecapPost],
    ) -> list[Reply]:
        """Answer the interaction; returns the public replies left for the channel."""
        left: list[Reply] = []
        if interaction.response.is_done():
            # deferred (the core took long): answers are follow-ups, public ones go the channel
            texts = "\n".join(r.text for r in mine) or "✅"
            await interaction.followup.send(texts[:MESSAGE_LIMIT], ephemeral=True)
            left = list(public)
        elif public:
            first, *others = public
            await interaction.response.send_message(**self._reply_kwargs(first))
            for reply in others:
                await interaction.followup.send(**self._reply_kwargs(reply))
            for reply in mine:
                await interaction.followup.send(reply.text[:MESSAGE_LIMIT], ephemeral=True)
        elif mine:
            text = "\n".join(r.text for r in mine)
            await interaction.response.send_message(text[:MESSAGE_LIMIT], ephemeral=True)
        else:
            await interaction.response.defer(ephemeral=True, thinking=False)
        for post in files:
            if isinstance(post, RecapPost):
                await interaction.followup.send(**self._recap_kwargs(post), ephemeral=True)
                continue
            file = discord.File(io.BytesIO(post.content), filename=post.filename)
            await interaction.followup.send(
                post.caption or post.filename, file=file, ephemeral=True
            )
        return left

    def _reply_kwargs(self, reply: Reply) -> dict[str, Any]:
        text = reply.text
        for user in reply.mentions:
            if user.platform == PLATFORM and user.id.isdigit():
                text = f"<@{user.id}> " + text if f"<@{user.id}>" not in text else text
                break
        users = [discord.Object(id=int(u.id)) for u in reply.mentions if u.id.isdigit()]
        return {
            "content": text[:MESSAGE_LIMIT],
            "allowed_mentions": discord.AllowedMentions(users=users, roles=False, everyone=False),
        }

    async def _suggest(
        self, interaction: discord.Interaction, what: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        """Suggestions while typing: the circle's upcoming séances, or protocol names."""
        if what == "protocol":
            names = self.core.protocols.names()
            return [app_commands.Choice(name=n, value=n) for n in names if current in n][:25]
        channel = ChannelRef(PLATFORM, str(interaction.channel_id))
        async with self.core.uow_factory() as uow:
            circle = await uow.circles.by_channel(channel)
            seances = await uow.seances.for_circle(circle.id) if circle else []
        if circle is None:
            return []
        lang, tz, tr = circle.settings.language, circle.settings.timezone, self.core.translator
        choices: list[app_commands.Choice[Any]] = []
        for seance in seances:
            if seance.status.value not in ("planned", "open") or not str(seance.number).startswith(
                current.strip()
            ):
                continue
            start = seance.planned_at or seance.opened_at
            label = (
                f"{seance.number} — {tr.datetime_text(lang, tz, start)}"
                if start
                else str(seance.number)
            )
            choices.append(app_commands.Choice(name=label[:100], value=seance.number))
        return choices[:25]

    # -- outgoing --------------------------------------------------------------------------

    async def deliver(self, effects: list[Effect]) -> None:
        """Queue what the core asks to post outside an interaction."""
        for effect in effects:
            if effect.channel.platform != PLATFORM:
                continue
            channel_id = int(effect.channel.id)
            if isinstance(effect, Reply):
                if effect.confidential or (effect.private and effect.to is None):
                    # for that person alone: a direct message, never the channel
                    if effect.to is not None:
                        self._queue.put_nowait(_Send(self._direct(effect.to, effect)))
                    continue
                if effect.private and effect.to is not None:
                    # outside an interaction there is no ephemeral: address it in the channel
                    effect = Reply(effect.channel, effect.text, mentions=(effect.to,))
                kwargs = self._reply_kwargs(effect)
                self._queue.put_nowait(_Send(self._channel_send(channel_id, kwargs)))
            elif isinstance(effect, RecapPost):
                if effect.private:
                    if effect.to is not None:  # an approval draft: to that facilitator only
                        self._queue.put_nowait(_Send(self._direct(effect.to, effect)))
                    continue
                recap = effect
                self._queue.put_nowait(
                    _Send(
                        self._lazy_channel_send(channel_id, lambda r=recap: self._recap_kwargs(r))
                    )
                )
            elif isinstance(effect, StatusView):
                self._queue_status(channel_id, effect)
            elif isinstance(effect, FilePost):
                if effect.private:
                    if effect.to is not None:
                        self._queue.put_nowait(_Send(self._direct(effect.to, effect)))
                    continue
                self._queue.put_nowait(_Send(self._file_send(channel_id, effect)))

    async def _channel(self, channel_id: int) -> discord.abc.Messageable:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            channel = await self.client.fetch_channel(channel_id)
        assert isinstance(channel, discord.abc.Messageable)
        return channel

    def _channel_send(
        self, channel_id: int, kwargs: dict[str, Any]
    ) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            channel = await self._channel(channel_id)
            await channel.send(**kwargs)

        return send

    def _recap_kwargs(self, recap: RecapPost) -> dict[str, Any]:
        """The recap as an embed with the chart attached (and the Markdown if it was cut)."""
        files: list[discord.File] = []
        if recap.embed is None:
            embed = discord.Embed(description=recap.markdown[:EMBED_LIMIT])
        else:
            layout = recap.embed
            embed = discord.Embed(
                title=layout.title, description=layout.description, colour=discord.Colour.blurple()
            )
            for field in layout.fields:
                embed.add_field(name=field.name, value=field.value, inline=field.inline)
            if layout.footer:
                embed.set_footer(text=layout.footer)
            if layout.image and recap.chart is not None:
                embed.set_image(url=layout.image)
        if recap.chart is not None:
            chart = discord.File(
                io.BytesIO(recap.chart.png),
                filename=recap.chart.filename,
                description=recap.chart.alt[:1024],
            )
            files.append(chart)
        if recap.embed is None or recap.embed.truncated:
            name = f"{recap.filename or 'recap'}.md"
            files.append(discord.File(io.BytesIO(recap.markdown.encode("utf-8")), filename=name))
        return {"embed": embed, "files": files}

    def _lazy_channel_send(
        self, channel_id: int, make: Callable[[], dict[str, Any]]
    ) -> Callable[[], Awaitable[None]]:
        """Like _channel_send, with files made afresh on every try (a File is read once)."""

        async def send() -> None:
            channel = await self._channel(channel_id)
            await channel.send(**make())

        return send

    def _direct(
        self, user: UserRef, post: RecapPost | FilePost | Reply
    ) -> Callable[[], Awaitable[None]]:
        """A personal message (approval draft, export) outside an interaction: a DM."""

        async def send() -> None:
            person = await self.client.fetch_user(int(user.id))
            if isinstance(post, RecapPost):
                await person.send(**self._recap_kwargs(post))
            elif isinstance(post, Reply):
                await person.send(post.text[:MESSAGE_LIMIT])
            else:
                file = discord.File(io.BytesIO(post.content), filename=post.filename)
                await person.send(post.caption or None, file=file)

        return send

    def _file_send(self, channel_id: int, post: FilePost) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            channel = await self._channel(channel_id)
            file = discord.File(io.BytesIO(post.content), filename=post.filename)
            await channel.send(post.caption or None, file=file)

        return send

    def _queue_status(self, channel_id: int, view: StatusView) -> None:
        key = (str(channel_id), view.seance_id)
        if view.message_id and key not in self._status_message and view.message_id.isdigit():
            self._status_message[key] = int(view.message_id)
        if self._status_text.get(key) == view.text:
            return
        self._status_text[key] = view.text
        version = self._status_versions.get(key, 0) + 1
        self._status_versions[key] = version

        async def send() -> None:
            title, _, body = view.text.partition("\n")
            embed = discord.Embed(title=title[:256], description=body[:EMBED_LIMIT] or None)
            buttons = None if view.closed else StatusButtons(self._run_command, view.lang)
            existing = self._status_message.get(key)
            if existing is not None:
                channel = await self._channel(channel_id)
                partial = channel.get_partial_message(existing)  # type: ignore[attr-defined]
                await partial.edit(embed=embed, view=buttons)
                return
            channel = await self._channel(channel_id)
            message = await channel.send(embed=embed, view=buttons)
            self._status_message[key] = message.id
            await self.core.record_status_message(view.seance_id, str(message.id))

        self._queue.put_nowait(_Send(send, status_key=key, version=version))

    async def _sender(self) -> None:
        """One message at a time; discord.py honours rate limits, we retry transient errors."""
        while True:
            job = await self._queue.get()
            try:
                if job.status_key and self._status_versions.get(job.status_key) != job.version:
                    continue
                delay = 0.5
                while True:
                    try:
                        await job.action()
                        break
                    except discord.HTTPException as error:
                        if error.status < 500:
                            log.error("discord refused a message: %s", error.status)
                            break
                    except (OSError, TimeoutError) as error:
                        log.warning("discord send failed: %s", type(error).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 60.0)
            except Exception:
                log.exception("discord send failed for good")
            finally:
                self._queue.task_done()

    # -- operations: read by adapters/metrics.py at each scrape ------------------------------

    name = PLATFORM
    _sessions = 0  # gateway sessions opened (READY); the first is no reconnection
    _resumes = 0  # sessions resumed after a dropped connection

    @property
    def reconnects(self) -> int:
        return max(self._sessions - 1, 0) + self._resumes

    def send_queue_length(self) -> int:
        """Messages waiting in the send queue."""
        return self._queue.qsize()

    def count_reconnections(self) -> None:
        """Listen to the gateway's connect and resume events (the runner calls this)."""
        self.client.event(self.on_connect)
        self.client.event(self.on_resumed)

    async def on_connect(self) -> None:
        self._sessions += 1

    async def on_resumed(self) -> None:
        self._resumes += 1
