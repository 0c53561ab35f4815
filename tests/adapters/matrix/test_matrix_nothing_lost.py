"""Nothing lost, nothing twice, on a real Synapse: a direct room the bot has just created, a
reminder that fell due while the bot was stopped, and `cercle run` killed right after answering.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import nio

from bot.domain.prompts import PromptKind
from bot.domain.refs import ChannelRef
from bot.timing.clock import SystemClock
from storage.database import Database, sqlite_url
from tests.adapters.matrix.conftest import (
    TIMEOUT,
    MakeClient,
    Room,
    StartBot,
    Synapse,
    invite_bot,
    register,
    sync_until,
    unique_localpart,
)
from tests.adapters.matrix.test_matrix_resilience import CIRCLE, drain, open_circle

ROOT = Path(__file__).resolve().parents[3]
KILLS = 5  # the window between "answered" and "sync position saved" depends on timing


async def waiting_in_outbox(database: Database) -> int:
    async with database() as uow:
        rows = await uow.outbox.waiting()
        await uow.commit()
    return len(rows)


async def test_the_first_confidential_answer_opens_a_direct_room_and_arrives(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot()  # encryption on, as by default
    circle = await open_circle(make_client, bot, seance=False)
    alice = circle.alice
    await circle.room(alice).say("!oubli")  # what the circle keeps about her: for her alone

    def invited(response: nio.SyncResponse) -> str | None:
        return next(iter(response.rooms.invite), None)

    direct = await sync_until(alice, invited, TIMEOUT, "an invitation to a direct room")
    # joined without syncing: the bot's message may come with the join's own history, which
    # the wait below must see (a sync that only waited for the join would swallow it)
    joined = await alice.join(direct)
    assert isinstance(joined, nio.JoinResponse), joined

    def from_bot(response: nio.SyncResponse) -> bool:
        room = response.rooms.join.get(direct)
        events = room.timeline.events if room else []
        return any(
            isinstance(e, nio.RoomMessageText | nio.MegolmEvent) and e.sender == bot.user_id
            for e in events
        )

    # encrypted for the room's members: seeing it arrive is what matters here
    await sync_until(alice, from_bot, TIMEOUT, "the bot's message in the direct room")
    assert direct not in (circle.room_id,)
    assert await waiting_in_outbox(bot.database) == 0


async def test_a_reminder_due_while_the_bot_was_stopped_is_posted_once_after_restart(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot()
    circle = await open_circle(make_client, bot, seance=False)
    when = (SystemClock().now() + timedelta(days=3)).strftime("%Y-%m-%d 14:00")
    await circle.watch.say(f"!seance planifier {when} | Déléguer")
    await circle.watch.expect_text("planifiée")
    await drain(circle.watch)
    await start_bot.stop(bot)

    # While it is stopped, the day-before reminder falls due (an hour ago: within its grace).
    database = Database(bot.account.database_url)
    now = SystemClock().now()
    key = ""
    async with database() as uow:
        circle_row = await uow.circles.by_channel(bot_channel(circle.room_id))
        assert circle_row is not None
        (seance,) = await uow.seances.for_circle(circle_row.id)
        prompts = await uow.prompts.for_seance(seance.id)
        for prompt in prompts:
            if prompt.kind is PromptKind.DAY_BEFORE:
                await uow.prompts.reschedule(prompt.id, now - timedelta(hours=1))
                key = prompt.key
            elif prompt.pending:
                await uow.prompts.delete(prompt.id)
        await uow.commit()
    await database.close()

    bot = await start_bot()
    # as `cercle run` does at start: the overdue prompt is woken at once, before the first sync
    effects = await bot.core.wake(key, SystemClock().now())
    assert effects
    await bot.adapter.deliver(effects)
    await circle.watch.expect_text("Rappel : séance 1 demain")
    await circle.watch.say("!aide")
    answers = await circle.watch.answers_until(lambda b: "/tour" in b, "the help")
    assert not [a for a in answers if "Rappel" in a.body], "posted twice"
    assert await waiting_in_outbox(bot.database) == 0


def bot_channel(room_id: str) -> ChannelRef:
    return ChannelRef("matrix", room_id)


class CercleRun:
    """`cercle run` with the Matrix adapter, as a child process that can be killed."""

    def __init__(self, tmp_path: Path, synapse: Synapse, user_id: str, token: str) -> None:
        self.config = tmp_path / "cercle.toml"
        self.data_dir = tmp_path / "data"
        self.log = tmp_path / "cercle.log"
        self.config.write_text(
            f"""
[cercle]
data_dir = "{self.data_dir}"
adapters = ["matrix"]

[matrix]
homeserver = "{synapse.url}"
user_id = "{user_id}"
access_token_env = "TEST_CERCLE_MATRIX_TOKEN"
encryption = false
retry_max_seconds = 1
""",
            "utf-8",
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
        self.env["TEST_CERCLE_MATRIX_TOKEN"] = token
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "adapters.cli", "--config", str(self.config), "run"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=ROOT,
                env=self.env,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def database(self) -> Database:
        return Database(sqlite_url((self.data_dir / "cercle.sqlite3").resolve()))


async def test_killed_right_after_answering_it_handles_nothing_twice(
    synapse: Synapse, make_client: MakeClient, tmp_path: Path
) -> None:
    user_id, token, _ = await register(synapse, unique_localpart("cercle"))
    run = CercleRun(tmp_path, synapse, user_id, token)
    anim = await make_client("anim", encryption=False)
    created = await anim.room_create(name=CIRCLE)
    assert isinstance(created, nio.RoomCreateResponse), created
    room_id = created.room_id
    watch = Room(anim, room_id, user_id)
    run.start()
    try:
        await invite_bot(anim, room_id, user_id)
        await watch.say(f"!cercle creer {CIRCLE}")
        await watch.expect_text(f"Cercle « {CIRCLE} » créé")
        for number in range(1, KILLS + 1):
            await watch.say(f"!note Essai {number}")
            await watch.expect_text(f"Note n° {number} enregistrée")
            run.kill()  # as soon as the answer is seen in the room
            run.start()
            await watch.say("!aide")
            answers = await watch.answers_until(lambda b: "/tour" in b, "the help")
            again = [a.body for a in answers if "enregistrée" in a.body]
            assert again == [], f"after kill {number}: {again}"
    finally:
        run.kill()
    database = run.database()
    try:
        async with database() as uow:
            found = await uow.circles.by_channel(bot_channel(room_id))
            assert found is not None
            notes = await uow.items.for_circle(found.id)
            await uow.commit()
        assert [n.text for n in notes] == [f"Essai {n}" for n in range(1, KILLS + 1)]
    finally:
        await database.close()
