"""Cercle on Matrix when things go wrong: bad input, restarts, a homeserver outage, strangers.

Real users (matrix-nio clients) talk to the bot on a real Synapse. "No answer" is never waited
for: the test sends a marker command and checks that the marker's answer is the next thing the
bot says — the bot handles a room's events in order, so an answer to anything sent before the
marker would come first.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nio
import pytest

from bot.domain.refs import ChannelRef
from bot.domain.seance import Seance
from tests.adapters.matrix.conftest import (
    SCRIPT,
    SYNAPSE_VENV,
    TIMEOUT,
    Bot,
    MakeClient,
    Room,
    StartBot,
    Synapse,
    _run_script,
    client_config,
    create_room,
    invite_bot,
    is_edit,
    joined_users,
    sync_until,
)

CIRCLE = "Résilience"
HUGE = 60_000  # characters: far beyond the parser's limit, still under Matrix's 64 KiB per event


@dataclass
class Circle:
    """A room where `anim` (its creator) runs a circle with alice and bob, and the bot is in."""

    room_id: str
    anim: nio.AsyncClient
    alice: nio.AsyncClient
    bob: nio.AsyncClient
    watch: Room  # the room as anim sees it: every bot message, in order
    status_id: str | None = None  # the live status message, once a séance is open

    def room(self, client: nio.AsyncClient) -> Room:
        return Room(client, self.room_id, self.watch.bot_id)


def mentioned(event: nio.RoomMessageText) -> list[str]:
    return list(event.source.get("content", {}).get("m.mentions", {}).get("user_ids", []))


def replaced_id(event: nio.RoomMessageText) -> str | None:
    return event.source.get("content", {}).get("m.relates_to", {}).get("event_id")


def is_status(body: str) -> bool:
    return body.startswith(f"Séance 1 — {CIRCLE}")


def file_answer(body: str) -> bool:
    """The answer to `!file` during the séance: the status, addressed to whoever asked."""
    return f": Séance 1 — {CIRCLE}" in body


async def open_circle(
    make_client: MakeClient, bot: Bot, *, server: Synapse | None = None, seance: bool = True
) -> Circle:
    """anim, alice and bob in a room with the bot; anim creates the circle and, with `seance`,
    opens séance 1 and gives free speech (so `!tour` gives the floor or a place in the queue)."""
    anim, alice, bob = [
        await make_client(name, encryption=False, server=server)
        for name in ("anim", "alice", "bob")
    ]
    room_id = await create_room(anim, alice, bob, name=CIRCLE)
    await invite_bot(anim, room_id, bot.user_id)
    watch = Room(anim, room_id, bot.user_id)
    circle = Circle(room_id, anim, alice, bob, watch)
    await watch.say(f"!cercle creer {CIRCLE}")
    await watch.expect_text(f"Cercle « {CIRCLE} » créé")
    if seance:
        await watch.say("!seance")
        await watch.expect_text(f"Séance 1 du cercle « {CIRCLE} » ouverte")
        status = await watch.expect(is_status, "the live status message")
        assert not is_edit(status)
        circle.status_id = status.event_id
        await watch.say("!seance phase libre")
        await watch.expect_text("Parole libre")
    await drain(watch)
    return circle


async def drain(watch: Room) -> None:
    """Wait until the bot answered everything said so far, and forget what it said."""
    await watch.say("!aide")
    await watch.answers_until(lambda body: "/tour" in body and "/fini" in body, "the help")
    watch.bot_messages.clear()


async def marker(circle: Circle, predicate: Callable[[str], bool] = file_answer) -> list[str]:
    """anim asks `!file`; the bodies of the bot's new messages (edits aside) up to its answer."""
    await circle.watch.say("!file")
    answers = await circle.watch.answers_until(predicate, "the answer to the marker !file")
    return [answer.body for answer in answers]


def display_name(client: nio.AsyncClient) -> str:
    """The name the bot gives a test user: Synapse makes the localpart its display name."""
    return str(client.user_id[1:].split(":")[0])


async def set_power_level(client: nio.AsyncClient, room_id: str, user_id: str, level: int) -> None:
    state = await client.room_get_state_event(room_id, "m.room.power_levels")
    assert isinstance(state, nio.RoomGetStateEventResponse), state
    content = dict(state.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    put = await client.room_put_state(room_id, "m.room.power_levels", content)
    assert isinstance(put, nio.RoomPutStateResponse), put


async def open_seance_of(bot: Bot, room_id: str) -> Seance | None:
    """The open séance of the circle in `room_id`, read from the bot's database."""
    async with bot.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(ChannelRef("matrix", room_id))
        assert circle is not None
        return await uow.seances.open_for(circle.id)


class RetryLog(logging.Handler):
    """Counts the adapter's warnings about retrying; a test can wait for the count to grow."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retrying" in message:
            self.messages.append(message)
            self._changed.set()

    async def wait_for(self, count: int, within: float = TIMEOUT) -> None:
        try:
            async with asyncio.timeout(within):
                while len(self.messages) < count:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {within} s for {count} retries") from None


@pytest.fixture
def retry_log() -> Iterator[RetryLog]:
    handler = RetryLog()
    logger = logging.getLogger("adapters.matrix.adapter")
    level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# ------------------------------------------------------------------------------------ bad input


async def test_refusals_are_clear_and_addressed_to_the_sender(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot)
    alice = circle.room(circle.alice)

    await alice.say("!danse")
    [answer] = await circle.watch.answers_until(lambda b: "« danse »" in b, "the unknown command")
    assert answer.body.endswith(
        "Je ne connais pas la commande « danse ». Tapez /aide pour la liste des commandes.\n"
        "Vous faites maintenant partie du cercle."  # a refused first command still joins
    )
    assert mentioned(answer) == [circle.alice.user_id]
    assert answer.formatted_body is not None
    assert circle.alice.user_id in answer.formatted_body  # a pill

    # alice has power level 0 in a room anim created: /seance fin is not hers to use
    levels = circle.anim.rooms[circle.room_id].power_levels
    assert levels.get_user_level(circle.alice.user_id) == 0
    await alice.say("!seance fin")
    [refusal] = await circle.watch.answers_until(
        lambda b: "Seuls les animateurs" in b, "the refusal of !seance fin"
    )
    assert refusal.body.endswith(
        "Seuls les animateurs et animatrices du cercle peuvent utiliser /seance fin."
    )
    assert mentioned(refusal) == [circle.alice.user_id]
    answers = await marker(circle)
    assert len(answers) == 1, answers  # no recap, no "séance terminée": nothing happened
    assert await open_seance_of(bot, circle.room_id) is not None

    # a room without a circle
    other = await create_room(circle.alice, circle.bob, name="Pas un cercle")
    await invite_bot(circle.alice, other, bot.user_id)
    elsewhere = Room(circle.bob, other, bot.user_id)
    await elsewhere.say("!tour")
    [nothing_here] = await elsewhere.answers_until(
        lambda b: "pas de cercle" in b, "the answer in a room without a circle"
    )
    assert "Il n'y a pas de cercle dans ce salon" in nothing_here.body
    assert mentioned(nothing_here) == [circle.bob.user_id]


async def test_edits_chat_and_huge_messages(make_client: MakeClient, start_bot: StartBot) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot)
    alice = circle.room(circle.alice)

    tour = await alice.say("!tour")
    [floor] = await circle.watch.answers_until(
        lambda b: "vous avez la parole" in b, "the floor for alice"
    )
    assert mentioned(floor) == [circle.alice.user_id]
    # an edit of the old command, whether or not its body carries the usual "* " fallback
    for body in ("!tour", "* !tour"):
        await alice.send(
            {
                "msgtype": "m.text",
                "body": body,
                "m.new_content": {"msgtype": "m.text", "body": "!tour"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": tour},
            }
        )
    # chat turned into a command by an edit is still chat
    chat = await alice.say("je voudrais dire un mot")
    await alice.send(
        {
            "msgtype": "m.text",
            "body": "!passe",
            "m.new_content": {"msgtype": "m.text", "body": "!passe"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": chat},
        }
    )
    answers = await marker(circle)
    assert len(answers) == 1, answers  # not "Vous avez déjà la parole", not "alice passe"

    # plain chat: nothing that starts with ! or / followed by a letter is a command
    for text in ("bonjour à toutes et tous", "tour de parole svp", "! tour", "!!", "/ fin", "42"):
        await alice.say(text)
    answers = await marker(circle)
    assert len(answers) == 1, answers

    huge = ("!tour " + "bla " * HUGE)[:HUGE]
    await alice.say(huge)
    [too_long] = await circle.watch.answers_until(lambda b: "trop long" in b, "too long")
    assert too_long.body.endswith(
        "Ce message est trop long pour une commande (plus de 4000 caractères)."
    )
    assert mentioned(too_long) == [circle.alice.user_id]
    answers = await marker(circle)
    assert len(answers) == 1, answers


# ------------------------------------------------------------------- what the bot must not handle


async def test_the_bot_never_handles_its_own_messages(
    make_client: MakeClient, start_bot: StartBot, synapse: Synapse
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot)
    account = bot.account
    # the bot's own account, from another connection: what it says must never come back to it
    itself = nio.AsyncClient(
        synapse.url, account.user_id, device_id=account.device_id, config=client_config(False)
    )
    mine: set[str] = set()
    try:
        itself.restore_login(account.user_id, account.device_id, account.access_token)
        for text in ("!tour", "!seance fin", "!danse"):
            sent = await itself.room_send(
                circle.room_id, "m.room.message", {"msgtype": "m.text", "body": text}
            )
            assert isinstance(sent, nio.RoomSendResponse), sent
            mine.add(sent.event_id)
    finally:
        await itself.close()
    await circle.watch.say("!file")
    seen = await circle.watch.answers_until(file_answer, "the answer to the marker !file")
    answers = [event.body for event in seen if event.event_id not in mine]
    assert len(answers) == 1, answers
    assert "Parole : personne" in answers[0]  # the bot did not take the floor
    assert await open_seance_of(bot, circle.room_id) is not None


async def test_the_backlog_of_a_first_sync_is_not_handled(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    circle = await open_circle(make_client, bot, seance=False)
    await start_bot.stop(bot)
    token = bot.account.data_dir / "matrix" / "sync_token"
    assert token.exists()
    token.unlink()  # the next start is a first sync, as for a bot that never ran

    await circle.watch.say("!seance")
    await circle.room(circle.alice).say("!danse")
    bot = await start_bot(encryption=False)
    answers = await marker(circle, lambda b: "Aucune séance n'est ouverte" in b)
    assert len(answers) == 1, answers  # no séance was opened, !danse got no answer


async def test_what_a_room_said_before_the_bot_joined_is_not_handled(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot(encryption=False)
    anim = await make_client("anim", encryption=False)
    alice = await make_client("alice", encryption=False)

    # said before the bot was invited
    room_id = await create_room(anim, alice)
    watch, by_alice = Room(anim, room_id, bot.user_id), Room(alice, room_id, bot.user_id)
    await watch.say(f"!cercle creer {CIRCLE}")
    await by_alice.say("!danse")
    await invite_bot(anim, room_id, bot.user_id)
    await watch.say("!file")
    answers = await watch.answers_until(lambda b: "pas de cercle" in b, "the answer to !file")
    assert len(answers) == 1, [a.body for a in answers]  # no circle was created

    # said after the invitation, before the bot (stopped meanwhile) could join
    await start_bot.stop(bot)
    room_id = await create_room(anim, alice)
    watch, by_alice = Room(anim, room_id, bot.user_id), Room(alice, room_id, bot.user_id)
    invited = await anim.room_invite(room_id, bot.user_id)
    assert isinstance(invited, nio.RoomInviteResponse), invited
    await watch.say(f"!cercle creer {CIRCLE}")
    await by_alice.say("!danse")
    bot = await start_bot(encryption=False)

    def joined(_: nio.SyncResponse) -> bool:
        return bot.user_id in joined_users(anim.rooms[room_id])

    await sync_until(anim, joined, TIMEOUT, "the bot joining")
    await watch.say("!file")
    answers = await watch.answers_until(lambda b: "pas de cercle" in b, "the answer to !file")
    assert len(answers) == 1, [a.body for a in answers]


# --------------------------------------------------------------------------------------- restarts


async def test_commands_sent_while_the_bot_is_down_are_handled_once_after_restart(
    make_client: MakeClient, start_bot: StartBot
) -> None:
    bot = await start_bot()
    circle = await open_circle(make_client, bot)
    assert circle.status_id is not None
    # bob moderates the room (power level 50) without having created it
    await set_power_level(circle.anim, circle.room_id, circle.bob.user_id, 50)
    await drain(circle.watch)
    await start_bot.stop(bot)  # its data directory and database stay

    await circle.room(circle.alice).say("!tour")
    await circle.room(circle.bob).say("!tour")
    bot = await start_bot()
    answers = await marker(circle)
    assert len(answers) == 3, answers
    alice_name, bob_name = display_name(circle.alice), display_name(circle.bob)
    assert answers[0] == f"{alice_name}, vous avez la parole."  # alice asked first
    assert answers[1] == f"{bob_name}: C'est noté : vous êtes n° 1 dans la file."
    assert f"Parole : {alice_name} (" in answers[2]
    assert f"File : 1. {bob_name}" in answers[2]

    # the live status was edited in place, not posted again
    edit = await circle.watch.expect(
        lambda b: is_status(b) and f"File : 1. {bob_name}" in b, "the status with bob queued"
    )
    assert is_edit(edit)
    assert replaced_id(edit) == circle.status_id
    for event in circle.watch.bot_messages:
        assert is_edit(event), event.body
        assert replaced_id(event) == circle.status_id
    circle.watch.bot_messages.clear()

    # the room's power levels are known again: bob still moderates
    await circle.room(circle.bob).say("!suivant")
    answers = await marker(circle)
    assert len(answers) == 3, answers
    assert answers[0].startswith(f"{alice_name} a terminé ("), answers
    assert answers[1] == f"{bob_name}, vous avez la parole."
    edit = await circle.watch.expect(
        lambda b: is_status(b) and f"Parole : {bob_name} (" in b, "the status with bob speaking"
    )
    assert replaced_id(edit) == circle.status_id
    seance = await open_seance_of(bot, circle.room_id)
    assert seance is not None
    assert seance.status_message_id == circle.status_id


# ------------------------------------------------------------------------- a homeserver outage


@pytest.fixture
def own_synapse(tmp_path: Path) -> Iterator[Synapse]:
    """A Synapse of this test's own, so that stopping it disturbs no other test."""
    if not (SYNAPSE_VENV / "bin" / "python").exists():
        pytest.fail(f"Synapse is not installed in {SYNAPSE_VENV}", pytrace=False)
    data_dir = tmp_path / "synapse"
    started = _run_script("start", "--dir", data_dir, "--venv", SYNAPSE_VENV)
    if started.returncode != 0:
        _run_script("stop", "--dir", data_dir)
        pytest.fail(f"Synapse did not start:\n{started.stdout}{started.stderr}", pytrace=False)
    state = json.loads((data_dir / "synapse.json").read_text())
    try:
        yield Synapse(state["url"], state["shared_secret"], state["server_name"], data_dir)
    finally:
        stopped = _run_script("stop", "--dir", data_dir)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def synapse_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cercle_synapse_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def stop_synapse(server: Synapse) -> None:
    stopped = await asyncio.to_thread(_run_script, "stop", "--dir", server.data_dir)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr


async def restart_synapse(server: Synapse) -> None:
    """Start the stopped Synapse again with the same configuration: same port, same secrets.

    Not `synapse.py start --port N`: it rewrites the configuration (new shared secret) and
    refuses a port that still has connections in TIME_WAIT, as one just stopped always has.
    Synapse itself binds it (SO_REUSEADDR), so the script's own `launch` is used directly.
    """
    assert server.data_dir is not None
    script = synapse_script()
    state_file = server.data_dir / script.STATE_FILE
    config = json.loads((server.data_dir / script.CONFIG_FILE).read_text())
    port = int(config["listeners"][0]["port"])
    assert server.url.endswith(f":{port}")
    python = script.venv_python(SYNAPSE_VENV)
    pid, why = await asyncio.to_thread(script.launch, server.data_dir, python, port, 90.0)
    assert pid, why
    state = {
        "url": server.url,
        "port": port,
        "pid": pid,
        "shared_secret": server.shared_secret,
        "server_name": server.server_name,
    }
    state_file.write_text(json.dumps(state, indent=2) + "\n")


async def test_the_bot_rides_out_a_homeserver_restart(
    make_client: MakeClient,
    start_bot: StartBot,
    own_synapse: Synapse,
    retry_log: RetryLog,
) -> None:
    bot = await start_bot(server=own_synapse)
    circle = await open_circle(make_client, bot, server=own_synapse)
    before = bot.adapter.reconnects

    await circle.room(circle.alice).say("!tour")  # just before the outage
    await stop_synapse(own_synapse)
    await retry_log.wait_for(3)  # the bot logs its attempts to reconnect
    assert bot.adapter.reconnects >= before + 3, retry_log.messages
    assert not bot.task.done()

    await restart_synapse(own_synapse)
    await circle.room(circle.bob).say("!tour")
    answers = await marker(circle)
    assert len(answers) == 3, answers  # alice's command answered once, bob's too
    alice_name, bob_name = display_name(circle.alice), display_name(circle.bob)
    assert answers[0] == f"{alice_name}, vous avez la parole."
    assert answers[1] == f"{bob_name}: C'est noté : vous êtes n° 1 dans la file."
    assert f"File : 1. {bob_name}" in answers[2]


# ------------------------------------------------------------------------------------ invitations


async def test_only_allowed_inviters_bring_the_bot_in(
    make_client: MakeClient, start_bot: StartBot, synapse: Synapse
) -> None:
    carol = await make_client("carol", encryption=False)
    dave = await make_client("dave", encryption=False)
    bot = await start_bot(encryption=False, allowed_inviters=(carol.user_id,))

    refused_room = await create_room(dave)
    invited = await dave.room_invite(refused_room, bot.user_id)
    assert isinstance(invited, nio.RoomInviteResponse), invited
    accepted_room = await create_room(carol)
    await invite_bot(carol, accepted_room, bot.user_id)
    # once the bot answers in carol's room, it has long seen dave's (earlier) invitation
    by_carol = Room(carol, accepted_room, bot.user_id)
    await by_carol.say("!file")
    await by_carol.answers_until(lambda b: "pas de cercle" in b, "an answer in carol's room")
    membership = await dave.room_get_state_event(refused_room, "m.room.member", bot.user_id)
    assert isinstance(membership, nio.RoomGetStateEventResponse), membership
    assert membership.content["membership"] == "invite"

    # a whole server can be allowed
    await start_bot.stop(bot)
    bot = await start_bot(encryption=False, allowed_inviters=(synapse.server_name,))
    welcome_room = await create_room(dave)
    await invite_bot(dave, welcome_room, bot.user_id)
