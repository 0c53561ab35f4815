"""One database, two Matrix bot accounts, one Cercle instance per account, on a real Synapse.

A large deployment splits its rooms over several bot accounts. Each instance is given the share
of its own account (`matrix:<bot user id>`): it answers the commands its account receives, and
posts the scheduled prompts of the circles that live at that account, never the others'.

Both instances run in the test's event loop, on one manual clock and one PostgreSQL database;
the test moves the clock and wakes each instance's manual scheduler itself. What the bots said is
read from each room's whole history, as the human sees it. "Nothing else was said" is never
waited for: the human sends a marker (`!aide`) and the bot's answer to it comes after anything
the bot had to say before (one room's events are handled in order, and sends go out in order).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nio
import pytest

from adapters.config import MatrixConfig
from adapters.homes import matrix_home
from adapters.matrix.adapter import MatrixAdapter
from bot.app import CercleCore
from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef
from bot.effects import Effect, LiveView, Reply
from bot.partition import Partition, Share
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from storage.database import Database
from tests.adapters.matrix.conftest import (
    POLL_MS,
    TIMEOUT,
    MakeClient,
    Synapse,
    create_room,
    invite_bot,
    is_edit,
    joined_users,
    register,
    stop_cercle,
    unique_localpart,
)
from tests.conftest import PostgresServer
from tests.fakes import MemoryDatabase

# Thursday 3 December 2026; the séances are on Tuesday 8 December, 14:00 in Paris (13:00 UTC).
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
PLANNED = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)
WHEN = "mardi 8 décembre 2026 à 14:00"
PREPARATION_DUE = PLANNED - timedelta(days=3)
DAY_BEFORE_DUE = PLANNED - timedelta(days=1)

Post = tuple[str, str]  # (sender, body) of one text message, edits aside


@dataclass(frozen=True)
class Account:
    user_id: str
    access_token: str
    device_id: str
    data_dir: Path  # sync token, session and crypto store: kept across restarts

    @property
    def home(self) -> str:
        return matrix_home(self.user_id)


@dataclass
class Instance:
    """One Cercle process: its own engine on the shared database, its core, its Matrix account."""

    account: Account
    database: Database
    core: CercleCore
    adapter: MatrixAdapter
    task: asyncio.Task[None]
    stopped: bool = False

    @property
    def scheduler(self) -> ManualScheduler:
        assert isinstance(self.core.scheduler, ManualScheduler)
        return self.core.scheduler

    async def wake(self, now: datetime) -> list[Effect]:
        """Advance this instance's scheduler to `now`; queue what it posts; return it."""
        effects = await self.scheduler.advance_to(now)
        await self.adapter.deliver(effects)
        return effects

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Stop syncing, send what is queued (within a bound), close the account and the engine."""
        if self.stopped:
            return
        self.stopped = True
        await stop_cercle(
            self.task, self.adapter, self.database, self.account.user_id, flush_seconds
        )


class Instances:
    """Starts instances on one database and one clock; stops those still running at the end."""

    def __init__(self, synapse: Synapse, url: str, clock: ManualClock) -> None:
        self.synapse, self.url, self.clock = synapse, url, clock
        self.running: list[Instance] = []

    async def account(self, prefix: str, data_dir: Path) -> Account:
        user_id, token, device_id = await register(self.synapse, unique_localpart(prefix))
        return Account(user_id, token, device_id, data_dir)

    async def start(self, account: Account) -> Instance:
        """As bootstrap.open_runtime does: core first (its wake-ups rebuilt), then the adapter."""
        database = Database(self.url)
        partition = Partition((Share(account.home),))
        name = account.user_id  # who claims a prompt, in the database
        core = CercleCore(database, self.clock, instance=name, partition=partition)
        await core.start()
        config = MatrixConfig(
            homeserver=self.synapse.url,
            user_id=account.user_id,
            device_id=account.device_id,
            access_token=account.access_token,
            encryption=False,
            retry_max_seconds=1.0,
        )
        adapter = MatrixAdapter(core, config, account.data_dir)
        task = asyncio.create_task(adapter.run(), name=f"cercle {account.user_id}")
        instance = Instance(account, database, core, adapter, task)
        self.running.append(instance)
        ready = asyncio.create_task(adapter.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task.done():
                task.result()
            raise TimeoutError(f"{account.user_id} did not say it was ready")
        return instance

    async def close(self) -> None:
        errors = []
        for instance in self.running:
            try:
                await instance.stop(flush_seconds=1)
            except AssertionError as error:
                errors.append(error)
        if errors:
            raise errors[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def database_url(postgres: PostgresServer) -> str:
    return await asyncio.to_thread(postgres.create_database)


@pytest.fixture
async def instances(
    synapse: Synapse, database_url: str, clock: ManualClock
) -> AsyncIterator[Instances]:
    started = Instances(synapse, database_url, clock)
    yield started
    await started.close()


# ------------------------------------------------------------------------------ the rooms' history


async def history(client: nio.AsyncClient, room_id: str) -> list[Post]:
    """Every text message of the room, oldest first, read back from the homeserver."""
    posts: list[Post] = []
    token: str | None = None
    while True:
        page = await client.room_messages(room_id, start=token, limit=100)
        assert isinstance(page, nio.RoomMessagesResponse), page
        for event in page.chunk:
            if isinstance(event, nio.RoomMessageText) and not is_edit(event):
                posts.append((event.sender, event.body))
        if not page.chunk or not page.end or page.end == token:
            break
        token = page.end
    posts.reverse()
    return posts


async def history_until(
    client: nio.AsyncClient, room_id: str, done: Callable[[list[Post]], bool], what: str
) -> list[Post]:
    """Read the room's history each time something happens (a long-polling sync), until `done`."""
    posts: list[Post] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while not done(posts := await history(client, room_id)):
                synced = await client.sync(timeout=POLL_MS)
                assert isinstance(synced, nio.SyncResponse), synced
    except TimeoutError:
        raise TimeoutError(f"waited {TIMEOUT} s for {what}; the room has {posts}") from None
    return posts


def label(body: str) -> str:
    """What a bot message is, for comparing whole histories; an unexpected one stays as is."""
    if body.startswith("Cercle « ") and " créé. " in body:
        return "created:" + body.split("»")[0].removeprefix("Cercle « ").strip()
    if body == f"Séance 1 planifiée le {WHEN} (heure de Paris).":
        return "planned"
    if body.startswith("Sujet : "):
        return "subject:" + body.removeprefix("Sujet : ")
    if body.startswith("Question de préparation, envoyée 3 jours avant : "):
        return "question:" + body.rpartition(" : ")[2]
    if body.startswith(f"Pour préparer la séance 1 ({WHEN}), une question : "):
        return "preparation:" + body.rpartition(" : ")[2]
    reminder = f"Rappel : séance 1 demain, {WHEN} — sujet : ", ". Empêché·e ? Tapez /excuse 1."
    if body.startswith(reminder[0]) and body.endswith(reminder[1]):
        return "day_before:" + body.removeprefix(reminder[0]).removesuffix(reminder[1])
    if body.startswith("Serez-vous là à la séance 1 ("):
        return "rsvp"
    if "/tour" in body and "/fini" in body:
        return "help"
    return body


async def said_up_to_marker(human: nio.AsyncClient, room_id: str) -> list[tuple[str, str]]:
    """Send the marker `!aide`; once its answer is in, every bot message of the room, labelled
    (with the human's own messages left out)."""
    before = await history(human, room_id)
    markers = sum(1 for _, body in before if body == "!aide")
    await say(human, room_id, "!aide")

    def answered(posts: list[Post]) -> bool:
        answers = sum(1 for sender, body in posts if sender != human.user_id and "/fini" in body)
        return answers > markers

    posts = await history_until(human, room_id, answered, f"the answer to !aide in {room_id}")
    return [(sender, label(body)) for sender, body in posts if sender != human.user_id]


async def say(client: nio.AsyncClient, room_id: str, text: str) -> None:
    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    assert isinstance(sent, nio.RoomSendResponse), sent


def replies(effects: list[Effect]) -> list[tuple[str, str]]:
    """(room id, label) of what a scheduler pass asked to post."""
    out = []
    for effect in effects:
        assert isinstance(effect, Reply | LiveView), effect
        out.append((effect.channel.id, label(effect.text)))
    return out


# -------------------------------------------------------------------------------------- the test


async def test_each_account_posts_the_prompts_of_its_own_rooms(
    make_client: MakeClient,
    instances: Instances,
    database_url: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    account_a = await instances.account("cercle-a", tmp_path / "a")
    account_b = await instances.account("cercle-b", tmp_path / "b")
    a = await instances.start(account_a)
    b = await instances.start(account_b)
    human = await make_client("humain", encryption=False)

    # each room has one bot: the human invites bot A to room A, bot B to room B
    room_a = await create_room(human, name="Salle A")
    await invite_bot(human, room_a, account_a.user_id)
    room_b = await create_room(human, name="Salle B")
    await invite_bot(human, room_b, account_b.user_id)
    rooms = {room_a: ("A", account_a), room_b: ("B", account_b)}
    assert joined_users(human.rooms[room_a]) == {human.user_id, account_a.user_id}
    assert joined_users(human.rooms[room_b]) == {human.user_id, account_b.user_id}
    for room_id, (letter, _) in rooms.items():
        await say(human, room_id, f"!cercle creer Cercle {letter}")
        await say(
            human,
            room_id,
            f"!seance planifier 2026-12-08 14:00 | Sujet {letter} | Question {letter} ?",
        )

    # every command answered once, by the bot of its room
    history_of: dict[str, list[tuple[str, str]]] = {}
    for room_id, (letter, account) in rooms.items():
        bot = account.user_id
        history_of[room_id] = [
            (bot, f"created:Cercle {letter}"),
            (bot, "planned"),
            (bot, f"subject:Sujet {letter}"),
            (bot, f"question:Question {letter} ?"),
            (bot, "help"),
        ]
        assert await said_up_to_marker(human, room_id) == history_of[room_id]

    # each circle lives at the account its commands came through
    reader = Database(database_url)
    try:
        async with reader() as uow:
            homes = {c.channel.id: c.home for c in await uow.circles.all()}
            mine_a = [c.channel.id for c in await uow.circles.all(a.core.partition)]
            mine_b = [c.channel.id for c in await uow.circles.all(b.core.partition)]
    finally:
        await reader.close()
    assert homes == {room_a: account_a.home, room_b: account_b.home}
    assert (mine_a, mine_b) == ([room_a], [room_b])

    # the preparation question: each instance posts its own room's, in its own room
    clock.set(PREPARATION_DUE + timedelta(minutes=1))
    assert replies(await a.wake(clock.now())) == [(room_a, "preparation:Question A ?")]
    assert replies(await b.wake(clock.now())) == [(room_b, "preparation:Question B ?")]
    for room_id, (letter, account) in rooms.items():
        history_of[room_id] += [
            (account.user_id, f"preparation:Question {letter} ?"),
            (account.user_id, "help"),
        ]
        assert await said_up_to_marker(human, room_id) == history_of[room_id]

    # instance B goes down; the day before, instance A reminds room A only
    await b.stop()
    clock.set(DAY_BEFORE_DUE + timedelta(hours=1))  # within the reminder's 6 h of grace
    assert replies(await a.wake(clock.now())) == [
        (room_a, "day_before:Sujet A"),
        (room_a, "rsvp"),
    ]
    history_of[room_a] += [
        (account_a.user_id, "day_before:Sujet A"),
        (account_a.user_id, "rsvp"),
        (account_a.user_id, "help"),
    ]
    assert await said_up_to_marker(human, room_a) == history_of[room_a]
    reader = Database(database_url)
    try:
        async with reader() as uow:
            pending = {(p.circle_id, p.kind) for p in await uow.prompts.pending()}
            circle_b = await uow.circles.by_channel(ChannelRef("matrix", room_b))
    finally:
        await reader.close()
    assert circle_b is not None
    assert (circle_b.id, PromptKind.DAY_BEFORE) in pending, "room B's reminder was taken"
    said_b = [(s, label(body)) for s, body in await history(human, room_b) if s != human.user_id]
    assert said_b == history_of[room_b]  # nothing new there

    # a new instance B (same account, same database) catches up on its overdue reminder, once
    b = await instances.start(account_b)
    assert replies(await b.wake(clock.now())) == [
        (room_b, "day_before:Sujet B"),
        (room_b, "rsvp"),
    ]
    history_of[room_b] += [
        (account_b.user_id, "day_before:Sujet B"),
        (account_b.user_id, "rsvp"),
        (account_b.user_id, "help"),
    ]
    assert await said_up_to_marker(human, room_b) == history_of[room_b]
    assert await said_up_to_marker(human, room_a) == history_of[room_a] + [
        (account_a.user_id, "help")
    ]


async def test_a_data_folder_serves_one_account_in_one_process(tmp_path: Path) -> None:
    """Its session, sync position and keys are one account's: a second instance on the same
    folder, or another account, is stopped with a clear message; after a stop it is free."""
    core = CercleCore(MemoryDatabase(), ManualClock(datetime(2026, 12, 3, 13, 0, tzinfo=UTC)))

    def adapter(user_id: str) -> MatrixAdapter:
        config = MatrixConfig(
            homeserver="http://127.0.0.1:9", user_id=user_id, access_token="t", encryption=False
        )
        return MatrixAdapter(core, config, tmp_path)

    first = adapter("@cercle-a:example.org")
    with pytest.raises(RuntimeError, match="used by another running instance"):
        adapter("@cercle-a:example.org")
    await first.stop(0)
    with pytest.raises(RuntimeError, match=r"holds the session of @cercle-a:example\.org"):
        adapter("@cercle-b:example.org")
    again = adapter("@cercle-a:example.org")
    await again.stop(0)
