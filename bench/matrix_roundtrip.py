"""Benchmark: how long a `!tour` takes to come back from Cercle on Matrix, next to a bare echo bot.

Run with no arguments from the repository root (Synapse installed once with
`python3 scripts/synapse.py install`):

    .venv/bin/python bench/matrix_roundtrip.py

It starts its own throw-away Synapse (scripts/synapse.py, in a temporary directory; stopped at
the end, even on error or Ctrl-C), registers the accounts, and runs in this one event loop:

- Cercle as in `cercle run`: the configuration parsed from a [matrix] table, the database
  migrated, the core with the real-time scheduler, and the MatrixAdapter (encryption on, the
  default). Alice creates a room, invites the bot, and sets up `!cercle creer`,
  `!cercle protocole libre`, `!seance`, `!seance phase suivante` (the open floor).
- A bare matrix-nio echo bot (below, a minimal AsyncClient with a callback and sync_forever)
  that answers every `!tour` with a message, in a room of its own with Bob. It syncs with the
  adapter's own sync filter, so that both bots get the same sync responses from Synapse.

A round measures, for each bot in turn (the order alternates from round to round), the time
from just before the user's `room_send` of `!tour` to the end of the user's first sync (a long
poll) that contains the bot's answer. In Cercle's room, Alice then gives the floor back
(`!fini` and `!passe` alternately) and the bench waits until the bot's live status has been
edited, so that no send of one round is still queued when the next is measured. The first
rounds are warm-up and are discarded.

Timestamps taken on the way (hooks on the bots' nio clients and on the adapter's instance, the
adapter's code untouched) split each round trip into stages; see `STAGES`.

The main figures come from plain (unencrypted) rooms; the same is then measured in encrypted
rooms (keys prefixed `encrypted_`). With `--diagnose N`, N more rounds of each diagnosis
variant follow, each in fresh rooms: Cercle with something switched off or changed by a hook on
its instance, to see what its extra time is made of (see VARIANTS; keys prefixed `diag_...`).

Each table gives the distribution of round trips, the median of each stage with the
difference between the bots, the work per round trip (CPU of this process and of Synapse, SQL
statements), the steps inside Cercle's bot, and the bots' requests per round trip.

The last line printed is one JSON object with the figures. Options: --rounds, --warmup,
--encrypted-rounds (0 to skip the encrypted-room variant), --diagnose N, --profile FILE
(cProfile of the measured plain rounds; this process runs the bots *and* the users, so look at
the bots' own functions), --keep (leave the temporary directory, with Synapse's logs, in place).

The figures are only as quiet as the machine: run it on an otherwise idle one. The "load
average" printed after each variant says how busy the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import cProfile
import importlib.util
import json
import logging
import os
import platform
import pstats
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nio  # noqa: E402
from sqlalchemy import event as sqla_event  # noqa: E402

from adapters.bootstrap import open_runtime  # noqa: E402
from adapters.config import parse_config  # noqa: E402
from adapters.matrix.adapter import SYNC_FILTER, MatrixAdapter  # noqa: E402
from adapters.scheduler import ApsScheduler  # noqa: E402
from bot.timing.clock import SystemClock  # noqa: E402

SCRIPT = ROOT / "scripts" / "synapse.py"
SYNAPSE_VENV = Path(os.environ.get("CERCLE_SYNAPSE_VENV") or ROOT / ".venv-synapse")
GOAL_RATIO_P50 = 1.10
TIMEOUT = 30.0  # seconds: the longest any wait on the homeserver may take before the bench fails
LONG_POLL_MS = 30_000  # the users' and the echo bot's long poll, as Cercle's (SYNC_TIMEOUT_MS)
TOUR = "!tour"
CERCLE_ANSWER = "vous avez la parole"
ECHO_ANSWER = "echo: "

# The stages of one round trip, in order; they add up to the total (in ms).
STAGES = (
    ("to_bot", "user's send starts -> the bot's sync response arrives (HTTP, Synapse fan-out)"),
    ("bot_parse", "the bot's nio reads and parses that sync response"),
    ("pre_core", "parsed -> command handed to the core (adapter / nio callback)"),
    ("core", "CercleCore.handle (parse, rules, SQLite commit)"),
    ("post_core", "core returned -> the answer's room_send starts (queue, sender task)"),
    ("to_user_http", "the bot's room_send starts -> the user's sync response arrives"),
    ("user_parse", "the user's nio reads and parses that sync response"),
)


# ------------------------------------------------------------------------------------ homeserver


def synapse_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@contextlib.contextmanager
def throwaway_synapse(keep: bool) -> Any:
    """Start a Synapse in a temporary directory; stop it (and remove the directory) after."""
    if not (SYNAPSE_VENV / "bin" / "python").exists():
        raise SystemExit(
            f"Synapse is not installed in {SYNAPSE_VENV}: run `python3 scripts/synapse.py install`"
        )
    tmp = Path(tempfile.mkdtemp(prefix="cercle-bench-matrix-"))
    data_dir = tmp / "synapse"
    try:
        started = synapse_script("start", "--dir", data_dir, "--venv", SYNAPSE_VENV)
        if started.returncode != 0:
            raise SystemExit(f"Synapse did not start:\n{started.stdout}{started.stderr}")
        state = json.loads((data_dir / "synapse.json").read_text())
        state["tmp"] = tmp
        yield state
    finally:
        stopped = synapse_script("stop", "--dir", data_dir)
        if stopped.returncode != 0:
            print(f"warning: stopping Synapse: {stopped.stdout}{stopped.stderr}", file=sys.stderr)
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def synapse_version(url: str) -> str:
    try:
        with urllib.request.urlopen(f"{url}/_synapse/admin/v1/server_version", timeout=5) as r:
            return str(json.load(r).get("server_version", "?"))
    except (OSError, ValueError):
        return "?"


def register(state: dict[str, Any], localpart: str) -> tuple[str, str, str]:
    """(user_id, access_token, device_id) of a new account, by shared-secret registration."""
    spec = importlib.util.spec_from_file_location("cercle_synapse_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    helper = importlib.util.module_from_spec(spec)  # scripts/synapse.py: standard library only
    spec.loader.exec_module(helper)
    answer = helper.register_user(
        state["url"], state["shared_secret"], localpart, secrets.token_urlsafe(16)
    )
    return answer["user_id"], answer["access_token"], answer["device_id"]


# ----------------------------------------------------------------------------------- timestamps


@dataclass
class Marks:
    """Instants (perf_counter seconds) per event id, first write wins."""

    at: dict[str, dict[str, float]] = field(default_factory=dict)
    current_command: str | None = None
    requests: Counter[str] = field(default_factory=Counter)  # "role method endpoint" -> count
    sql: int = 0  # statements the core ran
    synapse_pid: int = 0
    core_cpu: dict[str, float] = field(default_factory=dict)  # command event id -> CPU s

    def mark(self, event_id: str | None, key: str, when: float | None = None) -> None:
        if event_id:
            self.at.setdefault(event_id, {}).setdefault(key, when or time.perf_counter())

    def get(self, event_id: str, key: str) -> float | None:
        return self.at.get(event_id, {}).get(key)

    def synapse_cpu(self) -> float:
        """Seconds of CPU Synapse (all its threads) has used, from /proc (ns resolution)."""
        total = 0
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.synapse_pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def snapshot(self) -> tuple[float, float, Counter[str], int]:
        return time.process_time(), self.synapse_cpu(), Counter(self.requests), self.sql


def hook_client(client: nio.AsyncClient, marks: Marks, role: str, cercle: bool = False) -> None:
    """Timestamp the arrival and the parsing of `client`'s sync responses, and its sends.

    `role` prefixes the keys ("bot" or "user"). Only this instance's attributes are replaced.
    """
    last_sync_http = [0.0]
    send = client.send
    receive = client.receive_response
    room_send = client.room_send

    async def timed_send(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        marks.requests[f"{role}:{client.user_id} {method} {endpoint(path)}"] += 1
        if "/sync" in path and cercle:
            marks.mark(marks.current_command, "next_sync_sent")
        response = await send(method, path, *args, **kwargs)
        if "/sync" in path:
            last_sync_http[0] = time.perf_counter()  # status and headers are in
        return response

    async def timed_receive(response: Any) -> None:
        if isinstance(response, nio.SyncResponse):
            now = time.perf_counter()
            for info in response.rooms.join.values():
                for event in info.timeline.events:
                    event_id = getattr(event, "event_id", None)
                    marks.mark(event_id, f"{role}_http", last_sync_http[0])
                    marks.mark(event_id, f"{role}_parsed", now)
            await receive(response)
            now = time.perf_counter()
            for info in response.rooms.join.values():
                for event in info.timeline.events:
                    marks.mark(getattr(event, "event_id", None), f"{role}_processed", now)
        else:
            await receive(response)

    async def timed_room_send(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = await room_send(*args, **kwargs)
        if isinstance(response, nio.RoomSendResponse):
            marks.mark(response.event_id, f"{role}_send_start", started)
            marks.mark(response.event_id, f"{role}_send_end")
        return response

    client.send = timed_send
    client.receive_response = timed_receive
    if role == "bot":
        client.room_send = timed_room_send


def endpoint(path: str) -> str:
    """A request's kind, from its path: sync, send, state, keys/query, ..."""
    parts = path.split("?")[0].split("/")
    if "rooms" in parts:
        after = parts[parts.index("rooms") + 2 :]
        return after[0] if after else "rooms"
    tail = parts[parts.index("v3") + 1 :] if "v3" in parts else parts[-2:]
    return "/".join(tail[:2])


def hook_adapter(adapter: MatrixAdapter, marks: Marks) -> None:
    """Timestamp the adapter's handing of each event and the core's work (instance hooks)."""
    handle_event = adapter._handle_event
    core_handle = adapter.core.handle

    async def timed_handle_event(room_id: str, event: Any, *args: Any, **kwargs: Any) -> None:
        event_id = getattr(event, "event_id", None)
        marks.mark(event_id, "bot_handler")
        marks.current_command = event_id
        await handle_event(room_id, event, *args, **kwargs)

    async def timed_core_handle(*args: Any, **kwargs: Any) -> Any:
        marks.mark(marks.current_command, "core_start")
        cpu = time.process_time()
        try:
            return await core_handle(*args, **kwargs)
        finally:
            marks.mark(marks.current_command, "core_end")
            if marks.current_command:
                marks.core_cpu[marks.current_command] = time.process_time() - cpu

    enqueue = adapter._enqueue
    save_token = adapter._save_token
    send = adapter._send

    def timed_enqueue(*args: Any, **kwargs: Any) -> None:
        marks.mark(marks.current_command, "enqueued")
        enqueue(*args, **kwargs)

    def timed_save_token(*args: Any, **kwargs: Any) -> None:
        marks.mark(marks.current_command, "token_start")
        save_token(*args, **kwargs)
        marks.mark(marks.current_command, "token_end")

    async def timed_send(*args: Any, **kwargs: Any) -> Any:
        marks.mark(marks.current_command, "adapter_send")
        return await send(*args, **kwargs)

    adapter._handle_event = timed_handle_event  # type: ignore[method-assign]
    adapter.core.handle = timed_core_handle  # type: ignore[method-assign]
    adapter._enqueue = timed_enqueue  # type: ignore[method-assign]
    adapter._save_token = timed_save_token  # type: ignore[method-assign]
    adapter._send = timed_send  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------- clients


def client_config(encryption: bool = True) -> nio.AsyncClientConfig:
    return nio.AsyncClientConfig(
        encryption_enabled=encryption,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=2,
        request_timeout=LONG_POLL_MS / 1000 + TIMEOUT,
    )


async def make_client(
    state: dict[str, Any], account: tuple[str, str, str], store: Path
) -> nio.AsyncClient:
    user_id, token, device_id = account
    store.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (set-up, not measured)
    client = nio.AsyncClient(
        state["url"], user_id, device_id=device_id, store_path=str(store), config=client_config()
    )
    client.restore_login(user_id, device_id, token)
    first = await client.sync(timeout=0, full_state=True)
    if not isinstance(first, nio.SyncResponse):
        raise RuntimeError(f"first sync of {user_id}: {first}")
    if client.should_upload_keys:
        await client.keys_upload()
    return client


class EchoBot:
    """The baseline: the smallest matrix-nio bot that answers `!tour`."""

    def __init__(self, client: nio.AsyncClient, marks: Marks) -> None:
        self.client, self.marks = client, marks
        self.answers = 0
        client.add_event_callback(self.on_message, nio.RoomMessageText)
        client.add_event_callback(self.on_invite, nio.InviteMemberEvent)

    async def on_invite(self, room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == self.client.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def on_message(self, room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
        if event.sender == self.client.user_id or event.body.strip() != TOUR:
            return
        self.marks.mark(event.event_id, "bot_handler")
        self.answers += 1
        await self.client.room_send(
            room.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": f"{ECHO_ANSWER}{event.sender} {self.answers}"},
            ignore_unverified_devices=True,
        )

    async def run(self) -> None:
        # The same sync filter as Cercle's, so that both bots get the same sync responses.
        await self.client.sync_forever(
            timeout=LONG_POLL_MS, sync_filter=SYNC_FILTER, full_state=True
        )


@dataclass
class Seen:
    """A bot message as a user's sync brought it."""

    event_id: str
    body: str
    is_edit: bool


class User:
    """One person's client: sends a text, long-polls until the bot's message of interest."""

    def __init__(self, client: nio.AsyncClient, room_id: str, bot_id: str) -> None:
        self.client, self.room_id, self.bot_id = client, room_id, bot_id
        self.backlog: list[Seen] = []  # bot messages a sync brought but no wait has taken yet

    async def say(self, text: str) -> str:
        response = await self.client.room_send(
            self.room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        if not isinstance(response, nio.RoomSendResponse):
            raise RuntimeError(f"{self.client.user_id} sending {text!r}: {response}")
        return str(response.event_id)

    async def until(self, wanted: Callable[[Seen], bool], what: str) -> Seen:
        """Sync (long poll) until a bot message satisfies `wanted`; the first one that does."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    for index, seen in enumerate(self.backlog):
                        if wanted(seen):
                            del self.backlog[: index + 1]  # what came before is stale
                            return seen
                    response = await self.client.sync(timeout=LONG_POLL_MS)
                    if not isinstance(response, nio.SyncResponse):
                        raise RuntimeError(f"sync of {self.client.user_id}: {response}")
                    room = response.rooms.join.get(self.room_id)
                    for event in room.timeline.events if room else []:
                        if getattr(event, "sender", None) != self.bot_id:
                            continue
                        if isinstance(event, nio.MegolmEvent):
                            raise RuntimeError(f"a bot message stayed encrypted ({what})")
                        if not isinstance(event, nio.RoomMessageText):
                            continue
                        content = event.source.get("content", {})
                        new = content.get("m.new_content")
                        body = (new or {}).get("body", event.body)
                        self.backlog.append(Seen(event.event_id, body, bool(new)))
        except TimeoutError:
            raise TimeoutError(f"{self.client.user_id} waited {TIMEOUT} s for {what}") from None

    async def round_trip(
        self, text: str, answer: Callable[[Seen], bool], marks: Marks
    ) -> tuple[float, Trip]:
        """Send `text`; the time until the answer shows in a sync, and what happened on the way."""
        cpu, synapse_cpu, requests, sql = marks.snapshot()
        started = time.perf_counter()
        command_id = await self.say(text)
        sent = time.perf_counter()
        seen = await self.until(answer, f"an answer to {text!r}")
        ended = time.perf_counter()
        cpu2, synapse_cpu2, requests2, sql2 = marks.snapshot()
        trip = Trip(started, ended, command_id, seen.event_id, sent)
        trip.cpu_ms = (cpu2 - cpu) * 1000
        trip.synapse_cpu_ms = (synapse_cpu2 - synapse_cpu) * 1000
        trip.requests = requests2 - requests
        trip.sql = sql2 - sql
        trip.core_cpu_ms = marks.core_cpu.get(command_id, 0.0) * 1000
        trip.marks = marks.at
        return ended - started, trip


@dataclass
class Trip:
    started: float
    ended: float
    command_id: str
    answer_id: str
    sent: float
    cpu_ms: float = 0.0  # this process (users and bots), send -> answer seen
    synapse_cpu_ms: float = 0.0
    core_cpu_ms: float = 0.0
    sql: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    marks: dict[str, dict[str, float]] = field(default_factory=dict)  # all instants, shared

    def stages(self, marks: Marks) -> dict[str, float] | None:
        """The round trip split into STAGES (ms), or None if a timestamp is missing."""
        get = marks.get
        points = {
            "bot_http": get(self.command_id, "bot_http"),
            "bot_parsed": get(self.command_id, "bot_parsed"),
            "bot_handler": get(self.command_id, "bot_handler"),
            "core_start": get(self.command_id, "core_start"),
            "core_end": get(self.command_id, "core_end"),
            "send_start": get(self.answer_id, "bot_send_start"),
            "user_http": get(self.answer_id, "user_http"),
        }
        if points["core_start"] is None:  # the echo bot: no core
            points["core_start"] = points["core_end"] = points["bot_handler"]
        if any(v is None for v in points.values()):
            return None
        p: dict[str, float] = {k: v for k, v in points.items() if v is not None}
        ms = 1000.0
        return {
            "to_bot": (p["bot_http"] - self.started) * ms,
            "bot_parse": (p["bot_parsed"] - p["bot_http"]) * ms,
            "pre_core": (p["core_start"] - p["bot_parsed"]) * ms,
            "core": (p["core_end"] - p["core_start"]) * ms,
            "post_core": (p["send_start"] - p["core_end"]) * ms,
            "to_user_http": (p["user_http"] - p["send_start"]) * ms,
            "user_parse": (self.ended - p["user_http"]) * ms,
        }


# ---------------------------------------------------------------------------------------- rooms


async def wait_joined(client: nio.AsyncClient, room_id: str, user_id: str) -> None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            room = client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                return
            await client.sync(timeout=1000)


async def open_room(user: nio.AsyncClient, bot_id: str, encrypted: bool, name: str) -> str:
    initial_state = []
    if encrypted:
        initial_state.append(
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        )
    created = await user.room_create(
        name=name, invite=[bot_id], initial_state=initial_state, is_direct=False
    )
    if not isinstance(created, nio.RoomCreateResponse):
        raise RuntimeError(f"creating {name}: {created}")
    await wait_joined(user, created.room_id, bot_id)
    if encrypted:
        queried = await user.keys_query()
        if not isinstance(queried, nio.KeysQueryResponse):
            raise RuntimeError(f"keys query: {queried}")
        for device in user.device_store.active_user_devices(bot_id):
            user.verify_device(device)
    return str(created.room_id)


def has(text: str) -> Callable[[Seen], bool]:
    return lambda seen: not seen.is_edit and text in seen.body


def status_edit(speaking: bool) -> Callable[[Seen], bool]:
    def wanted(seen: Seen) -> bool:
        return (
            seen.is_edit
            and "Parole :" in seen.body
            and ("Parole : personne" in seen.body) != speaking
        )

    return wanted


async def set_up_circle(alice: User) -> None:
    for command, answer in (
        ("!cercle creer Bench", "créé"),
        ("!cercle protocole libre", "protocole « libre »"),
        ("!seance", "ouverte"),
        ("!seance phase suivante", "Phase : Parole libre"),
    ):
        await alice.say(command)
        await alice.until(has(answer), repr(answer))


# ------------------------------------------------------------------------------------- measuring


@dataclass
class Series:
    totals: list[float] = field(default_factory=list)  # ms
    stages: list[dict[str, float]] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)


async def cercle_round(alice: User, index: int, marks: Marks, status: bool) -> tuple[float, Trip]:
    elapsed, trip = await alice.round_trip(TOUR, has(CERCLE_ANSWER), marks)
    # Finish the round out of the clock: the status edit, then give the floor back and wait for
    # the last thing the bot queues for it (the status edit saying nobody speaks), so that the
    # next round starts with an empty send queue and an idle bot.
    # (Without status edits the core may be replayed: its first `!fini` answer stands for all.)
    release = "!fini" if index % 2 == 0 or not status else "!passe"
    if status:
        await alice.until(status_edit(speaking=True), "the status edit after !tour")
        await alice.say(release)
        await alice.until(status_edit(speaking=False), f"the status edit after {release}")
    else:
        await alice.say(release)
        await alice.until(has("La parole est libre"), f"the last answer to {release}")
    return elapsed, trip


async def echo_round(bob: User, marks: Marks) -> tuple[float, Trip]:
    return await bob.round_trip(TOUR, has(ECHO_ANSWER), marks)


async def measure(
    alice: User,
    bob: User,
    marks: Marks,
    rounds: int,
    warmup: int,
    status: bool = True,
    profiler: cProfile.Profile | None = None,
) -> tuple[Series, Series]:
    cercle, echo = Series(), Series()
    for index in range(warmup + rounds):
        measured = index >= warmup
        if measured and profiler is not None and index == warmup:
            profiler.enable()
        order = ("cercle", "echo") if index % 2 == 0 else ("echo", "cercle")
        for which in order:
            if which == "cercle":
                elapsed, trip = await cercle_round(alice, index, marks, status)
                series = cercle
            else:
                elapsed, trip = await echo_round(bob, marks)
                series = echo
            if measured:
                series.totals.append(elapsed * 1000)
                series.trips.append(trip)
                split = trip.stages(marks)
                if split is not None:
                    series.stages.append(split)
    if profiler is not None:
        profiler.disable()
    return cercle, echo


# Steps inside Cercle's bot after the core returns: (name, (from, to), what).
ADAPTER_STEPS = (
    ("nio processing", ("bot_parsed", "bot_processed"), "nio's handling of the parsed sync"),
    ("-> _handle_event", ("bot_processed", "bot_handler"), "sync loop: invites, rooms, events"),
    ("event -> core", ("bot_handler", "core_start"), "_handle_event, _command before the core"),
    ("core->enqueued", ("core_end", "enqueued"), "deliver(): the reply's content, queued"),
    ("enqueued->_send", ("enqueued", "adapter_send"), "the sender task picks the job up"),
    ("_send->room_send", ("adapter_send", "send_start"), "_send() before nio's room_send"),
    ("core->token", ("core_end", "token_start"), "sync loop: from the core to _save_token"),
    ("token write", ("token_start", "token_end"), "_save_token(): write + rename, blocking"),
    ("core->next sync", ("core_end", "next_sync_sent"), "sync loop: the next sync is sent"),
)


def marks_of(trip: Trip, key: str) -> float | None:
    source = trip.answer_id if key == "send_start" else trip.command_id
    key = "bot_send_start" if key == "send_start" else key
    return trip.marks.get(source, {}).get(key)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary_table(title: str, cercle: Series, echo: Series) -> str:
    lines = [title, ""]
    head = f"{'bot':<8}{'n':>5}{'min':>9}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}{'mean':>9}"
    lines += [head + "   (ms, send -> answer seen)", "-" * len(head)]
    for name, series in (("cercle", cercle), ("echo", echo)):
        v = series.totals
        lines.append(
            f"{name:<8}{len(v):>5}{min(v):>9.2f}{percentile(v, 50):>9.2f}{percentile(v, 90):>9.2f}"
            f"{percentile(v, 99):>9.2f}{max(v):>9.2f}{statistics.fmean(v):>9.2f}"
        )
    lines += ["", "median of each stage (ms); the medians need not add up to the total's median"]
    head = f"{'stage':<14}{'cercle':>9}{'echo':>9}{'diff':>9}   what"
    lines += [head, "-" * 100]
    for key, what in STAGES:
        c = _median([s[key] for s in cercle.stages])
        e = _median([s[key] for s in echo.stages])
        lines.append(f"{key:<14}{c:>9.2f}{e:>9.2f}{c - e:>+9.2f}   {what}")
    sum_c = sum(_median([s[k] for s in cercle.stages]) for k, _ in STAGES)
    sum_e = sum(_median([s[k] for s in echo.stages]) for k, _ in STAGES)
    lines.append(f"{'sum':<14}{sum_c:>9.2f}{sum_e:>9.2f}{sum_c - sum_e:>+9.2f}")

    lines += ["", "work per round trip (median), from the user's send to the answer seen"]
    lines += [head.replace("what", ""), "-" * 100]
    rows: list[tuple[str, Callable[[Trip], float], str]] = [
        ("user_put_ms", lambda t: (t.sent - t.started) * 1000, "the user's own PUT (wall)"),
        ("cpu_ms", lambda t: t.cpu_ms, "CPU of this process (users + bots + SQLite thread)"),
        ("core_cpu_ms", lambda t: t.core_cpu_ms, "CPU during CercleCore.handle"),
        ("synapse_cpu", lambda t: t.synapse_cpu_ms, "CPU of Synapse (all threads)"),
        ("sql", lambda t: float(t.sql), "SQL statements the core ran"),
    ]
    for key, get, what in rows:
        c = _median([get(t) for t in cercle.trips])
        e = _median([get(t) for t in echo.trips])
        lines.append(f"{key:<14}{c:>9.2f}{e:>9.2f}{c - e:>+9.2f}   {what}")

    lines += ["", "inside Cercle's bot (median, ms)"]
    for key, (a, b), what in ADAPTER_STEPS:
        values = [
            (y - x) * 1000
            for t in cercle.trips
            if (x := marks_of(t, a)) is not None and (y := marks_of(t, b)) is not None
        ]
        lines.append(f"  {key:<18}{_median(values):>8.2f}   {what}")
    lines += ["", "bot requests per round trip (mean), by endpoint"]
    for name, series in (("cercle", cercle), ("echo", echo)):
        total: Counter[str] = Counter()
        for trip in series.trips:
            total.update(
                {k.split(" ", 1)[1]: v for k, v in trip.requests.items() if k.startswith("bot:")}
            )
        n = max(1, len(series.trips))
        parts = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(total.items()))
        lines.append(f"  {name:<7} {parts or '-'}")
    return "\n".join(lines)


def figures(prefix: str, cercle: Series, echo: Series) -> dict[str, Any]:
    c50, e50 = percentile(cercle.totals, 50), percentile(echo.totals, 50)
    c99, e99 = percentile(cercle.totals, 99), percentile(echo.totals, 99)
    return {
        f"{prefix}cercle_p50_ms": round(c50, 2),
        f"{prefix}echo_p50_ms": round(e50, 2),
        f"{prefix}ratio_p50": round(c50 / e50, 3),
        f"{prefix}cercle_p99_ms": round(c99, 2),
        f"{prefix}echo_p99_ms": round(e99, 2),
        f"{prefix}ratio_p99": round(c99 / e99, 3),
    }


# ------------------------------------------------------------------------------------------ main


@dataclass
class Setup:
    alice: nio.AsyncClient
    bob: nio.AsyncClient
    cercle_id: str
    echo_id: str


# The variants: (label, encrypted rooms, what is changed in Cercle for a diagnosis).
VARIANTS = {
    "plain": (False, ""),
    "encrypted": (True, ""),
    # Diagnosis only: the adapter's live status edits dropped (a hook on the instance), then
    # also the core replaced by a replay of its first answer to each command text.
    "diag_no_status": (False, "no_status"),
    "diag_no_status_replay_core": (False, "no_status replay_core"),
    # Cercle's sync loop waits for its send queue to drain before it long-polls again, as the
    # echo bot does (it answers inside its sync handling): its own answers no longer wake an
    # outstanding sync of its own while Synapse wakes the user's.
    "diag_send_before_sync": (False, "send_before_sync"),
    # Cercle's sync filter leaves out its own messages (timeline not_senders).
    "diag_no_own_events": (False, "no_own_events"),
}
DIAGNOSES = [label for label in VARIANTS if label.startswith("diag_")]


@contextlib.contextmanager
def tweaked(adapter: MatrixAdapter, tweaks: str, marks: Marks) -> Any:
    """Apply a diagnosis's changes to this adapter instance; undo them after."""
    saved = {name: adapter.__dict__.get(name) for name in ("_queue_status",)}
    core_handle = adapter.core.handle
    client = adapter.client
    sync = client.sync
    if "send_before_sync" in tweaks:

        async def sync_after_sends(*args: Any, **kwargs: Any) -> Any:
            await adapter._queue.join()
            return await sync(*args, **kwargs)

        client.sync = sync_after_sends
    if "no_own_events" in tweaks:

        async def sync_without_own(*args: Any, **kwargs: Any) -> Any:
            wanted = copy.deepcopy(kwargs.get("sync_filter") or SYNC_FILTER)
            timeline = wanted.setdefault("room", {}).setdefault("timeline", {})
            timeline["not_senders"] = [client.user_id]
            kwargs["sync_filter"] = wanted
            return await sync(*args, **kwargs)

        client.sync = sync_without_own
    if "no_status" in tweaks:
        adapter._queue_status = lambda *args, **kwargs: None  # type: ignore[method-assign]
    if "replay_core" in tweaks:
        answers: dict[tuple[str, str], Any] = {}

        async def replay(event: Any) -> Any:
            key = (event.channel.id, event.text)
            if key not in answers:
                answers[key] = await core_handle(event)
            else:
                marks.mark(marks.current_command, "core_start")
                marks.mark(marks.current_command, "core_end")
            return answers[key]

        adapter.core.handle = replay  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                adapter.__dict__.pop(name, None)
            else:
                adapter.__dict__[name] = value
        adapter.core.handle = core_handle  # type: ignore[method-assign]
        client.sync = sync


async def variant(
    setup: Setup,
    adapter: MatrixAdapter,
    marks: Marks,
    label: str,
    rounds: int,
    warmup: int,
    profile: Path | None,
) -> tuple[Series, Series]:
    encrypted, tweaks = VARIANTS[label]
    cercle_room = await open_room(setup.alice, setup.cercle_id, encrypted, f"Cercle {label}")
    echo_room = await open_room(setup.bob, setup.echo_id, encrypted, f"Echo {label}")
    alice = User(setup.alice, cercle_room, setup.cercle_id)
    bob = User(setup.bob, echo_room, setup.echo_id)
    await set_up_circle(alice)
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    with tweaked(adapter, tweaks, marks):
        cercle, echo = await measure(
            alice, bob, marks, rounds, warmup, "no_status" not in tweaks, profiler
        )
    load = os.getloadavg()[0]
    print(
        f"{label}: {warmup} + {rounds} rounds in {time.perf_counter() - started:.1f} s "
        f"(load average {load:.2f} at the end)"
    )
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
        print(f"profile of the measured {label} rounds written to {profile}; top by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return cercle, echo


async def run(state: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    tmp: Path = state["tmp"]
    marks = Marks(synapse_pid=int(state["pid"]))
    accounts = {
        name: register(state, f"{name}-{secrets.token_hex(3)}")
        for name in ("cercle", "echo", "alice", "bob")
    }

    # Cercle, configured and assembled as `cercle run` does it (encryption on: the default).
    env = {"BENCH_CERCLE_MATRIX_TOKEN": accounts["cercle"][1]}
    config = parse_config(
        {
            "cercle": {"data_dir": str(tmp / "cercle-data"), "adapters": ["matrix"]},
            "matrix": {
                "homeserver": state["url"],
                "user_id": accounts["cercle"][0],
                "device_id": accounts["cercle"][2],
                "access_token_env": "BENCH_CERCLE_MATRIX_TOKEN",
            },
        },
        env,
    )
    assert config.matrix is not None
    clock = SystemClock()
    scheduler = ApsScheduler(clock)
    tasks: list[asyncio.Task[None]] = []
    labels = ["plain"]
    if args.encrypted_rounds > 0:
        labels.append("encrypted")
    if args.diagnose:
        labels += DIAGNOSES
    results: dict[str, tuple[Series, Series]] = {}
    async with open_runtime(config, clock, scheduler) as runtime:
        adapter = MatrixAdapter(runtime.core, config.matrix, config.data_dir)
        scheduler.deliver = adapter.deliver

        def count_sql(*_: Any) -> None:
            marks.sql += 1

        sqla_event.listen(runtime.database.engine.sync_engine, "before_cursor_execute", count_sql)
        hook_client(adapter.client, marks, "bot", cercle=True)
        hook_adapter(adapter, marks)
        (tmp / "echo-store").mkdir()
        echo_client = nio.AsyncClient(
            state["url"],
            accounts["echo"][0],
            device_id=accounts["echo"][2],
            store_path=str(tmp / "echo-store"),
            config=nio.AsyncClientConfig(store_sync_tokens=False),  # nio's defaults otherwise
        )
        echo_client.restore_login(accounts["echo"][0], accounts["echo"][2], accounts["echo"][1])
        echo = EchoBot(echo_client, marks)
        hook_client(echo_client, marks, "bot")
        alice = await make_client(state, accounts["alice"], tmp / "alice-store")
        bob = await make_client(state, accounts["bob"], tmp / "bob-store")
        for client in (alice, bob):
            hook_client(client, marks, "user")
        try:
            tasks.append(asyncio.create_task(adapter.run(), name="cercle"))
            tasks.append(asyncio.create_task(echo.run(), name="echo"))
            ready = asyncio.create_task(adapter.ready.wait())
            done, _ = await asyncio.wait(
                {tasks[0], ready}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                ready.cancel()
                if tasks[0].done():
                    tasks[0].result()
                raise RuntimeError("Cercle did not say it was ready")
            setup = Setup(alice, bob, accounts["cercle"][0], accounts["echo"][0])
            for label in labels:
                rounds = args.encrypted_rounds if label == "encrypted" else args.rounds
                if label.startswith("diag_"):
                    rounds = args.diagnose
                profile = args.profile if label == "plain" else None
                results[label] = await variant(
                    setup, adapter, marks, label, rounds, args.warmup, profile
                )
                print()
                print(summary_table(f"== {label} rooms ==", *results[label]), flush=True)
                print()
                for task in tasks:
                    if task.done():
                        task.result()  # a bot that died must not go unnoticed
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await adapter.stop(flush_seconds=1)
            for client in (echo_client, alice, bob):
                await client.close()
    out: dict[str, Any] = {}
    for label, (cercle, echo_series) in results.items():
        prefix = "" if label == "plain" else f"{label}_"
        out.update(figures(prefix, cercle, echo_series))
        out[f"{prefix}rounds"] = len(cercle.totals)
    return out


def source_state() -> str:
    """The repository's commit, and whether the working tree has changes (for the record)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + ("+changes" if dirty else "")


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="measured rounds per bot")
    parser.add_argument("--warmup", type=int, default=20, help="discarded rounds per bot")
    parser.add_argument(
        "--encrypted-rounds", type=int, default=100, help="rounds in encrypted rooms (0: skip)"
    )
    parser.add_argument(
        "--diagnose",
        type=int,
        default=0,
        metavar="N",
        help="also N rounds of each diagnosis variant (see VARIANTS)",
    )
    parser.add_argument("--profile", type=Path, help="cProfile of the measured plain rounds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if args.rounds < 1 or min(args.warmup, args.encrypted_rounds, args.diagnose) < 0:
        parser.error("--rounds must be at least 1; the other counts at least 0")
    logging.basicConfig(
        level=logging.ERROR, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    def terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)  # so that Synapse is stopped on SIGTERM too
    info = machine()
    with throwaway_synapse(args.keep) as state:
        version = synapse_version(state["url"])
        print(
            f"Cercle {source_state()}; Synapse {version} at {state['url']}; matrix-nio "
            f"{_version('matrix-nio')}; Python {info['python']}; "
            f"{info['nproc']} CPU(s): {info['cpu']}"
        )
        figures_out = asyncio.run(run(state, args))
    ratio = figures_out["ratio_p50"]
    verdict = "met" if ratio <= GOAL_RATIO_P50 else "MISSED"
    print(f"\ngoal ratio_p50 <= {GOAL_RATIO_P50:.2f}: {verdict} ({ratio:.3f})")
    figures_out.update(
        {
            "warmup": args.warmup,
            "goal_ratio_p50": GOAL_RATIO_P50,
            "goal_met": ratio <= GOAL_RATIO_P50,
            "synapse": version,
            "source": source_state(),
            "loadavg_end": round(os.getloadavg()[0], 2),
            "nproc": info["nproc"],
            "cpu": info["cpu"],
        }
    )
    print(json.dumps(figures_out))
    return 0


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
