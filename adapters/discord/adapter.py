"""Cercle on Discord: slash commands and buttons through discord.py, answered by the core.

- Personal answers (your position, errors, refusals) are ephemeral; floor changes are public.
- The live status is one embed per open séance with buttons, edited in place; the buttons'
  custom ids are stable (`cercle:tour`, ...) and registered as a persistent view, so they keep
  working on old messages after a restart.
- The core answers in a few milliseconds, well within Discord's 3 s to acknowledge; anything
  not tied to the interaction (status, recap, prompts) goes through a send queue per channel
  (adapters/delivery.py). An interaction answer that fails (past Discord's deadline) goes to
  the channel instead. Each interaction id is recorded with what the command did: one replayed
  by a gateway RESUME is not handled twice. What the core stored in its outbox and the process
  could not send before it died is posted after the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any

import aiohttp
import discord
from discord import app_commands

from adapters.config import DiscordConfig
from adapters.delivery import Job, Refused, SendQueues, refusal_reason
from adapters.discord import fallback
from adapters.discord.commands import CatalogCommandTranslator, build_commands
from adapters.discord.deadline import Acknowledgements, acknowledge_in_time
from adapters.discord.events import EventMirror
from adapters.discord.interest import InterestListener
from adapters.discord.live import LIVE_IDS, LiveSender, answer_buttons, answers_view
from adapters.discord.markup import NO_PINGS, pinging, safe, shown
from adapters.discord.stage import VoiceFloor, find_room
from adapters.homes import DISCORD_HOME
from bot.app import CercleCore
from bot.commands.parser import ParsedCommand
from bot.direct import DirectMessage
from bot.dispatcher import Outcome
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import (
    Effect,
    FilePost,
    FloorSpeaker,
    LiveView,
    PollEnd,
    PollPost,
    RecapPost,
    Reply,
    StatusView,
)
from bot.events import CommandEvent
from bot.native_votes import PollVote
from bot.partition import shard_of
from bot.registry import COMMANDS

log = logging.getLogger(__name__)

PLATFORM = "discord"
MESSAGE_LIMIT = 2000
EMBED_LIMIT = 4096
POLL_LONGEST_HOURS = 768  # Discord keeps a poll open 32 days at most
POLL_LONGEST = timedelta(hours=POLL_LONGEST_HOURS)
RECOVER_EVERY_SECONDS = 60.0  # the outbox is read again for anything left behind
# Commands of one channel ahead in the core from which a new one is acknowledged before it
# reaches the core (a burst); with fewer, its own answer comes within a few milliseconds.
CROWD = 2
_MENTION = re.compile(r"^<@!?(\d+)>$")

BUTTONS: tuple[tuple[str, str, str, str, discord.ButtonStyle], ...] = (
    # custom id, command key, French label, English label, style
    ("cercle:tour", "tour", "✋ Lever la main", "✋ Raise hand", discord.ButtonStyle.primary),
    ("cercle:passe", "passe", "Passer", "Pass", discord.ButtonStyle.secondary),
    ("cercle:fini", "fini", "J'ai fini", "I'm done", discord.ButtonStyle.success),
    ("cercle:suivant", "suivant", "Suivant", "Next", discord.ButtonStyle.danger),
)
_BUTTON_COMMANDS = {spec.fr: spec for spec in COMMANDS}


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


Press = Callable[[discord.Interaction, ParsedCommand, Mapping[UserRef, str]], Awaitable[None]]


class StatusButtons(discord.ui.View):
    """The buttons under the live status; persistent, so they work after a restart."""

    def __init__(self, press: Press, lang: str):
        super().__init__(timeout=None)
        for custom_id, command, fr, en, style in BUTTONS:
            button: discord.ui.Button[StatusButtons] = discord.ui.Button(
                label=fr if lang == "fr" else en, style=style, custom_id=custom_id
            )
            button.callback = self._make(press, command)  # type: ignore[method-assign,assignment]
            self.add_item(button)

    @staticmethod
    def _make(
        press: Press, command: str
    ) -> Callable[[discord.Interaction], Coroutine[Any, Any, None]]:
        parsed = ParsedCommand(_BUTTON_COMMANDS[command], {})

        async def callback(interaction: discord.Interaction) -> None:
            await press(interaction, parsed, {})

        return callback


async def _nothing() -> bool:
    return True  # nothing to post (a status already shown, no one to send it to)


def _attempt(action: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[bool]]:
    """A send as a delivery job: a refusal for good (403, 404, another 4xx) is `Refused`;
    a rate limit discord.py gave up on, a 5xx or a lost connection are tried again."""

    async def attempt() -> bool:
        try:
            await action()
        except discord.HTTPException as error:
            if error.status == 429 or error.status >= 500:
                log.warning("discord send failed (%s); trying again", error.status)
                return False
            raise Refused(refusal_reason(error.status), f"{error.status} {error.text}") from None
        except (OSError, TimeoutError, aiohttp.ClientError) as error:
            log.warning("discord send failed: %s", type(error).__name__)
            return False
        return True

    return attempt


def _client(config: DiscordConfig, intents: discord.Intents) -> discord.Client:
    """One gateway connection, or the shards this instance is given (`shard_ids` of
    `shard_count`): each instance then sees only the servers of its shards."""
    # enable_debug_events: the adapter reads the "Interested" dispatches itself (interest.py)
    if config.shard_count is None:
        return discord.Client(
            intents=intents, chunk_guilds_at_startup=False, enable_debug_events=True
        )
    return discord.AutoShardedClient(
        intents=intents,
        chunk_guilds_at_startup=False,
        enable_debug_events=True,
        shard_count=config.shard_count,
        shard_ids=list(config.shard_ids) if config.shard_ids is not None else None,  # type: ignore[arg-type]
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
        intents.guild_scheduled_events = True  # "Interested" on a séance's event (interest.py)
        self.client = client or _client(config, intents)
        self.client.allowed_mentions = NO_PINGS  # the default of every send, ephemeral included
        self.tree = app_commands.CommandTree(self.client)
        self.events = EventMirror(core, self.client)  # séances in the server's events list
        self.voice = VoiceFloor(self.client, self._raise_hand)  # the floor in voice channels
        # "Interested" on a séance's event is an RSVP; read from the gateway's own dispatches
        self.interest = InterestListener(core, self.client, self.events, self.deliver)
        self.client.event(self.interest.on_socket_raw_receive)
        self.ready = asyncio.Event()
        self._ready_again = asyncio.Event()  # each READY: look for what waits in the outbox
        self._queues = SendQueues(core.outbox, PLATFORM)
        self._status_text: dict[tuple[str, int], str] = {}
        self._status_message: dict[tuple[str, int], int] = {}
        # the RSVP question and the follow-up list, edited in place (adapters/discord/live.py)
        self._live = LiveSender(core, self._queues, self._channel, _attempt, self._live_click)
        self._answer_buttons = answer_buttons(self._act)  # under an owner's action reminder
        self._tasks: list[asyncio.Task[None]] = []
        # commands being handled: a stop waits for them, so no transaction outlives the database
        self._handling: set[asyncio.Future[Any]] = set()
        self._in_core: Counter[int] = Counter()  # interactions not through the core, per channel
        self._arrivals: dict[int, asyncio.Future[None]] = {}  # the last one's core call started
        self._acks = Acknowledgements()  # deferrals on their way, ahead of a crowd's core work
        self.client.setup_hook = self._setup  # type: ignore[method-assign]
        self.client.event(self.on_ready)
        self.client.event(self.on_message)
        self.client.event(self.on_raw_poll_vote_add)
        self.client.event(self.on_raw_poll_vote_remove)

    # -- setup -----------------------------------------------------------------------------

    async def _setup(self) -> None:
        await self.tree.set_translator(CatalogCommandTranslator())
        hide = discord.Permissions(manage_channels=True)
        commands = build_commands(
            COMMANDS,
            self._run_command,
            self.core.translator,
            complete=self._suggest,
            facilitator_permissions=hide if self.config.hide_facilitator_commands else None,
        )
        for command in commands:
            self.tree.add_command(command)
        self.client.add_view(StatusButtons(self._run_command, "fr"))
        self.client.add_view(self._live.buttons())
        self.client.add_view(self._live.buttons(kind="topic_vote"))
        self.client.add_dynamic_items(self._answer_buttons)
        answered = {b[0] for b in BUTTONS} | LIVE_IDS
        fallback.install(
            self.client, self.tree, answered, self.core.translator, prefixes=("cercle:do:",)
        )
        for guild_id in self._own_guilds(self.config.guild_ids):
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        self._tasks.append(asyncio.create_task(self._recovering(), name="discord-recovery"))

    def _own_guilds(self, guild_ids: tuple[int, ...]) -> list[int]:
        """The configured servers on this instance's shards (each instance syncs its own)."""
        count, mine = self.config.shard_count, self.config.shard_ids
        if count is None or mine is None:
            return list(guild_ids)
        return [g for g in guild_ids if shard_of(g, count) in mine]

    async def on_ready(self) -> None:
        log.info("discord adapter ready as %s", self.client.user)
        self.ready.set()
        self._ready_again.set()

    async def _recovering(self) -> None:
        """Post what an earlier run left undelivered once connected, then look again every
        minute for anything left behind."""
        while True:
            waiter = asyncio.ensure_future(self._ready_again.wait())
            await asyncio.wait({waiter}, timeout=RECOVER_EVERY_SECONDS)
            waiter.cancel()
            self._ready_again.clear()
            if not self.ready.is_set():
                continue
            try:
                left = await self.core.outbox.recover(PLATFORM)
            except Exception:
                log.exception("could not read the outbox")
                continue
            for effect in left:
                self._queue_effect(effect)

    async def run(self) -> None:
        assert self.config.token is not None
        await self.client.start(self.config.token)

    async def stop(self, flush_seconds: float = 5.0) -> None:
        await self._queues.drained(flush_seconds)
        await self._queues.close()
        await self.events.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:  # ended before the database they read is closed
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()
        if self._handling:  # commands still in the core finish their transaction first
            await asyncio.wait(set(self._handling), timeout=flush_seconds)

    # -- incoming --------------------------------------------------------------------------

    def _is_facilitator(self, interaction: discord.Interaction) -> bool:
        if interaction.permissions.manage_channels:
            return True
        roles = getattr(interaction.user, "roles", [])
        wanted = set(self.config.facilitator_roles)
        return any(role.name in wanted for role in roles)

    async def _run_command(
        self,
        interaction: discord.Interaction,
        command: ParsedCommand,
        names: Mapping[UserRef, str],
        members_only: bool = False,
        circle_channel: int | None = None,
    ) -> None:
        """Hand a command to the core and answer the interaction; `circle_channel`: the circle's
        channel when the click came from elsewhere (a button in a direct message)."""
        channel_id = circle_channel or interaction.channel_id
        if channel_id is None:
            return
        elsewhere = channel_id != interaction.channel_id
        user = interaction.user
        event = CommandEvent(
            channel=ChannelRef(PLATFORM, str(channel_id)),
            author=UserRef(PLATFORM, str(user.id)),
            author_name=user.display_name,
            text="/" + command.spec.key.replace(".", " "),
            command=command,
            names=names,
            platform_facilitator=self._is_facilitator(interaction),
            platform_knows_roles=True,
            resolve_user=resolve_mention,
            home=DISCORD_HOME,
            shard_key=interaction.guild_id,
            event_id=f"{PLATFORM}:{interaction.id}",
            locale=str(interaction.locale.value) if interaction.locale else None,
            resolve_voice=functools.partial(find_room, interaction.guild),
            members_only=members_only,
        )
        # In a burst the core may not have started the commands read just before this one, so
        # its lock alone does not show the crowd: commands of this channel that arrived and are
        # not through the core yet do. Behind a crowd, the acknowledgement goes first.
        crowd = self._in_core[channel_id] >= CROWD
        busy = crowd or self.core.busy(event.channel)
        self._in_core[channel_id] += 1
        earlier = self._arrivals.get(channel_id)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._arrivals[channel_id] = started
        handling: asyncio.Future[Outcome] | None = None
        try:
            if crowd:
                await self._acks.defer(interaction)
            if earlier is not None and not earlier.done():
                await earlier  # the core takes a channel's commands in their order of arrival
            if crowd:
                await self._acks.sent()  # in a burst, every acknowledgement before core work
            handling = asyncio.ensure_future(self.core.handle(event))
            started.set_result(None)
            self._handling.add(handling)
            handling.add_done_callback(self._handling.discard)
            handling.add_done_callback(functools.partial(self._out_of_core, channel_id))
            if not crowd:
                await acknowledge_in_time(interaction, handling, busy)
            outcome = await handling
        finally:
            if not started.done():
                started.set_result(None)  # a failed deferral does not hold up the next one
            if self._arrivals.get(channel_id) is started:
                del self._arrivals[channel_id]
            if handling is None:
                self._out_of_core(channel_id)
        self.events.notice(outcome.command, outcome.effects)
        if outcome.duplicate:
            return  # a replayed interaction (a gateway RESUME): answered the first time
        await self._answer(interaction, event.author, outcome.effects, elsewhere)

    async def _live_click(self, interaction: discord.Interaction, kind: str, answer: str) -> None:
        """A button under a live message, members only: under the RSVP question, `/presence
        <answer>` for that séance; under a topic's thumbs vote, `/prolonger <answer>`."""
        if kind == "topic_vote":
            command = ParsedCommand(_BUTTON_COMMANDS["prolonger"], {"answer": answer})
            await self._run_command(interaction, command, {}, members_only=True)
            return
        number = await self._live.target_number(interaction)
        args: dict[str, Any] = {"answer": answer}
        if number is not None:
            args["number"] = number
        command = ParsedCommand(_BUTTON_COMMANDS["presence"], args)
        await self._run_command(interaction, command, {}, members_only=True)

    async def _act(
        self, interaction: discord.Interaction, channel_id: int, command: str, number: int
    ) -> None:
        """A button under a personal message (an action's reminder, in a direct message): that
        command about item `number`, in the circle's channel, members only."""
        found = self.core.dispatcher.parser.by_key(command.replace(".", " "))
        if found is None:
            await fallback.tell(
                interaction,
                self.core.translator.text(fallback.language_of(interaction), fallback.UPDATING),
            )
            return
        spec, parent = found
        parsed = ParsedCommand(spec, {"number": number}, parent)
        await self._run_command(
            interaction, parsed, {}, members_only=True, circle_channel=channel_id
        )

    async def on_message(self, message: discord.Message) -> None:
        """A direct message to the bot: an answer to a preparation question (bot/direct.py).
        Messages in servers are not read (no message content intent): commands are slash
        commands there."""
        if message.guild is not None or not isinstance(message.channel, discord.DMChannel):
            return
        me = self.client.user
        if message.author.bot or (me is not None and message.author.id == me.id):
            return
        if not message.content.strip():
            return
        direct = DirectMessage(
            ChannelRef(PLATFORM, str(message.channel.id)),
            UserRef(PLATFORM, str(message.author.id)),
            message.author.display_name,
            message.content,
            event_id=f"{PLATFORM}:message:{message.id}",
        )
        handling = asyncio.ensure_future(self.core.handle_direct(direct))
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        outcome = await handling
        if not outcome.duplicate:
            await self.deliver(outcome.effects)

    def _out_of_core(self, channel_id: int, _: object = None) -> None:
        self._in_core[channel_id] -= 1
        if not self._in_core[channel_id]:
            del self._in_core[channel_id]

    async def _raise_hand(self, member: discord.Member, channel_id: int) -> None:
        """A hand raised on a circle's Stage: `/tour` for that member in the circle's channel."""
        spec = _BUTTON_COMMANDS["tour"]
        stamp = member.voice.requested_to_speak_at if member.voice else None
        event = CommandEvent(
            channel=ChannelRef(PLATFORM, str(channel_id)),
            author=UserRef(PLATFORM, str(member.id)),
            author_name=member.display_name,
            text="/" + spec.fr,
            command=ParsedCommand(spec, {}),
            platform_knows_roles=True,
            home=DISCORD_HOME,
            shard_key=member.guild.id,
            event_id=f"{PLATFORM}:stage-hand:{member.id}:{stamp.timestamp() if stamp else 0}",
        )
        outcome = await self.core.handle(event)
        await self.deliver(outcome.effects)

    async def _answer(
        self,
        interaction: discord.Interaction,
        author: UserRef,
        effects: list[Effect],
        elsewhere: bool = False,
    ) -> None:
        ours = [e for e in effects if e.channel.platform == PLATFORM]
        effects = self.core.outbox.hold(ours)
        mine = [e for e in effects if isinstance(e, Reply) and e.private and e.to == author]
        public = [e for e in effects if isinstance(e, Reply) and not e.private]
        if elsewhere:
            # a click outside the circle's channel: what the command says publicly goes to
            # that channel, and the person sees it here, privately, as their answer
            mine = mine + [Reply(e.channel, e.text, to=author, private=True) for e in public]
            public = []
        files = [e for e in effects if isinstance(e, FilePost | RecapPost) and e.to == author]
        rest = [e for e in effects if e not in mine and e not in public and e not in files]
        sent: list[Effect] = []
        try:
            await self._respond(interaction, mine, public, files, sent)
        except (discord.HTTPException, OSError, TimeoutError) as error:
            # The core has already acted (and committed): past Discord's deadline (or with
            # the interaction gone), what it could not carry goes to the channel (private
            # answers addressed to their person, confidential ones as direct messages).
            log.warning("interaction answer failed (%r): posting to the channel", error)
        except Exception:
            log.exception("interaction answer failed: posting to the channel")
        try:
            await self.core.outbox.done(*sent)
        except Exception:
            log.exception("answered messages could not be marked delivered")
        for effect in [*mine, *public, *files, *rest]:
            if effect not in sent:
                self._queue_effect(effect)

    async def _respond(
        self,
        interaction: discord.Interaction,
        mine: list[Reply],
        public: list[Reply],
        files: list[FilePost | RecapPost],
        sent: list[Effect],
    ) -> None:
        """Answer the interaction, adding to `sent` what it carried; public replies of a
        deferred answer are left for the channel."""
        if interaction.response.is_done():
            # deferred (the core took long): answers are follow-ups, public ones go the channel
            texts = "\n".join(shown(r, MESSAGE_LIMIT) for r in mine) or "✅"
            await interaction.followup.send(texts[:MESSAGE_LIMIT], ephemeral=True)
            sent.extend(mine)
        elif public:
            first, *others = public
            await interaction.response.send_message(**self._reply_kwargs(first))
            sent.append(first)
            for reply in others:
                await interaction.followup.send(**self._reply_kwargs(reply))
                sent.append(reply)
            for reply in mine:
                await interaction.followup.send(shown(reply, MESSAGE_LIMIT), ephemeral=True)
                sent.append(reply)
        elif mine:
            text = "\n".join(shown(r, MESSAGE_LIMIT) for r in mine)
            await interaction.response.send_message(text[:MESSAGE_LIMIT], ephemeral=True)
            sent.extend(mine)
        else:
            await interaction.response.defer(ephemeral=True, thinking=False)
        for post in files:
            if isinstance(post, RecapPost):
                await interaction.followup.send(**self._recap_kwargs(post), ephemeral=True)
            else:
                file = discord.File(io.BytesIO(post.content), filename=post.filename)
                await interaction.followup.send(
                    safe(post.caption or post.filename, MESSAGE_LIMIT), file=file, ephemeral=True
                )
            sent.append(post)

    def _reply_kwargs(self, reply: Reply) -> dict[str, Any]:
        text = shown(reply, MESSAGE_LIMIT)
        for user in reply.mentions:
            if user.platform == PLATFORM and user.id.isdigit():
                text = f"<@{user.id}> " + text if f"<@{user.id}>" not in text else text
                break
        return {
            "content": text[:MESSAGE_LIMIT],
            "allowed_mentions": pinging(reply.mentions, PLATFORM),
        }

    async def _suggest(
        self, interaction: discord.Interaction, what: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        """Suggestions while typing: the circle's upcoming séances, or protocol names."""
        if what == "protocol":
            names = self.core.protocols.names()
            return [app_commands.Choice(name=n, value=n) for n in names if current in n][:25]
        channel = ChannelRef(PLATFORM, str(interaction.channel_id))
        found = await self.core.suggest_seances(channel, current)
        return [app_commands.Choice(name=s.label[:100], value=s.value) for s in found]

    # -- outgoing --------------------------------------------------------------------------

    async def deliver(self, effects: list[Effect]) -> None:
        """Queue what the core asks to post outside an interaction."""
        mine = [e for e in effects if e.channel.platform == PLATFORM]
        self.events.notice(None, mine)
        for effect in self.core.outbox.hold(mine):
            self._queue_effect(effect)

    def _put(self, room: str, action: Callable[[], Awaitable[None]], effect: Effect) -> None:
        self._queues.put(room, Job(_attempt(action), effect))

    def _queue_effect(self, effect: Effect) -> None:
        channel_id = int(effect.channel.id)
        room = str(channel_id)
        if isinstance(effect, Reply):
            if effect.confidential or (effect.private and effect.to is None):
                # for that person alone: a direct message, never the channel
                if effect.to is not None:
                    self._put(f"dm:{effect.to.id}", self._direct(effect.to, effect), effect)
                else:
                    self._queues.put(room, Job(_nothing, effect))
                return
            reply = effect
            if effect.private and effect.to is not None:
                # outside an interaction there is no ephemeral: address it in the channel
                reply = Reply(effect.channel, effect.text, mentions=(effect.to,))
            self._put(room, self._channel_send(channel_id, self._reply_kwargs(reply)), effect)
        elif isinstance(effect, RecapPost):
            if effect.private:
                if effect.to is not None:  # an approval draft: to that facilitator only
                    self._put(f"dm:{effect.to.id}", self._direct(effect.to, effect), effect)
                else:
                    self._queues.put(room, Job(_nothing, effect))
                return
            recap = effect
            make = functools.partial(self._recap_kwargs, recap)
            self._put(room, self._lazy_channel_send(channel_id, make), effect)
        elif isinstance(effect, StatusView):
            self._queue_status(channel_id, effect)
        elif isinstance(effect, LiveView):
            self._live.queue(effect)
        elif isinstance(effect, FloorSpeaker):
            self._put(room, functools.partial(self.voice.apply, effect), effect)
        elif isinstance(effect, PollPost):
            self._put(room, self._poll_send(channel_id, effect), effect)
        elif isinstance(effect, PollEnd):
            self._put(room, self._poll_end(channel_id, int(effect.poll_ref)), effect)
        elif isinstance(effect, FilePost):
            if effect.private:
                if effect.to is not None:
                    self._put(f"dm:{effect.to.id}", self._direct(effect.to, effect), effect)
                else:
                    self._queues.put(room, Job(_nothing, effect))
                return
            self._put(room, self._file_send(channel_id, effect), effect)

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
                buttons = answers_view(self._answer_buttons, post)
                if buttons is None:
                    await person.send(shown(post, MESSAGE_LIMIT))
                else:  # the owner answers with a click (adapters/discord/live.py)
                    await person.send(shown(post, MESSAGE_LIMIT), view=buttons)
            else:
                file = discord.File(io.BytesIO(post.content), filename=post.filename)
                await person.send(safe(post.caption, MESSAGE_LIMIT) or None, file=file)

        return send

    def _poll_send(self, channel_id: int, post: PollPost) -> Callable[[], Awaitable[None]]:
        """A message poll on the cases; its message id goes back to the core, whose votes
        it counts from then on."""

        async def send() -> None:
            channel = await self._channel(channel_id)
            left = (post.closes_at - self.core.clock.now()) if post.closes_at else POLL_LONGEST
            hours = min(max(math.ceil(left / timedelta(hours=1)), 1), POLL_LONGEST_HOURS)
            poll = discord.Poll(
                post.question, timedelta(hours=hours), multiple=post.max_selections > 1
            )
            for _, label in post.answers:
                poll.add_answer(text=label)
            message = await channel.send(poll=poll)
            await self.core.record_poll(post.circle_id, str(message.id))

        return send

    def _poll_end(self, channel_id: int, message_id: int) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            channel = await self._channel(channel_id)
            assert isinstance(channel, discord.abc.GuildChannel | discord.abc.PrivateChannel)
            try:
                await discord.PartialMessage(channel=channel, id=message_id).end_poll()  # type: ignore[arg-type]
            except discord.HTTPException as error:
                if error.status not in (400, 404):  # already over, or gone: nothing to end
                    raise

        return send

    async def on_raw_poll_vote_add(self, event: discord.RawPollVoteActionEvent) -> None:
        await self._poll_vote(event, True)

    async def on_raw_poll_vote_remove(self, event: discord.RawPollVoteActionEvent) -> None:
        await self._poll_vote(event, False)

    async def _poll_vote(self, event: discord.RawPollVoteActionEvent, ticked: bool) -> None:
        """A tick in a poll: a vote on a case if it is one of Cercle's polls (bot/native_votes).
        Idempotent, so a vote event replayed by a RESUME changes nothing."""
        me = self.client.user
        if me is not None and event.user_id == me.id:
            return
        vote = PollVote(
            ChannelRef(PLATFORM, str(event.channel_id)),
            UserRef(PLATFORM, str(event.user_id)),
            str(event.message_id),
            {str(event.answer_id): ticked},
        )
        handling = asyncio.ensure_future(self.core.poll_vote(vote))
        self._handling.add(handling)
        handling.add_done_callback(self._handling.discard)
        await self.deliver(await handling)

    def _file_send(self, channel_id: int, post: FilePost) -> Callable[[], Awaitable[None]]:
        async def send() -> None:
            channel = await self._channel(channel_id)
            file = discord.File(io.BytesIO(post.content), filename=post.filename)
            await channel.send(safe(post.caption, MESSAGE_LIMIT) or None, file=file)

        return send

    def _queue_status(self, channel_id: int, view: StatusView) -> None:
        key = (str(channel_id), view.seance_id)
        if view.message_id and key not in self._status_message and view.message_id.isdigit():
            self._status_message[key] = int(view.message_id)
        if self._status_text.get(key) == view.text:
            self._queues.put(str(channel_id), Job(_nothing, view))
            return
        self._status_text[key] = view.text
        version = self._queues.newer_status(key)

        async def send() -> None:
            title, _, body = view.text.partition("\n")
            embed = discord.Embed(
                title=safe(title, 256), description=safe(body, EMBED_LIMIT) or None
            )
            buttons = None if view.closed else StatusButtons(self._run_command, view.lang)
            existing = self._status_message.get(key)
            if existing is not None:
                channel = await self._channel(channel_id)
                shown = channel.get_partial_message(existing)  # type: ignore[attr-defined]
                await shown.edit(embed=embed, view=buttons)
                return
            channel = await self._channel(channel_id)
            if buttons is None:
                message = await channel.send(embed=embed)
            else:
                message = await channel.send(embed=embed, view=buttons)
            self._status_message[key] = message.id
            await self.core.record_status_message(view.seance_id, str(message.id))

        job = Job(_attempt(send), view, status_key=key, version=version)
        self._queues.put(str(channel_id), job)

    # -- operations: read by adapters/metrics.py at each scrape ------------------------------

    name = PLATFORM
    _sessions = 0  # gateway sessions opened (READY); the first is no reconnection
    _resumes = 0  # sessions resumed after a dropped connection

    @property
    def reconnects(self) -> int:
        return max(self._sessions - 1, 0) + self._resumes

    def send_queue_length(self) -> int:
        """Messages waiting in the send queues, or being sent."""
        return self._queues.unfinished

    @property
    def sends_failed(self) -> Mapping[str, int]:
        """Messages refused for good, by reason."""
        return self._queues.sends_failed

    def count_reconnections(self) -> None:
        """Listen to the gateway's connect and resume events (the runner calls this)."""
        self.client.event(self.on_connect)
        self.client.event(self.on_resumed)

    async def on_connect(self) -> None:
        self._sessions += 1

    async def on_resumed(self) -> None:
        self._resumes += 1
