"""What an operator relies on: the metrics and health endpoint, JSON logs without secrets, and a
clean stop on SIGTERM, all on real parts (SQLite, sockets, a child `cercle run`)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters import runner
from adapters.bootstrap import Runtime, open_runtime
from adapters.config import Config, parse_config
from adapters.logs import LogHandler, secrets_of
from adapters.metrics import Health, Metrics
from adapters.runner import STOP_BOUND_SECONDS, InHand, InteractiveConsole
from adapters.scheduler import ApsScheduler
from adapters.web.server import OpsServer as MetricsServer
from bot.effects import Effect
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler
from tests.cli import run_cercle
from tests.conftest import migrated_sqlite
from tests.conversation import START, Chat

ROOT = Path(__file__).resolve().parents[2]


# -- helpers ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


async def http_get(port: int, path: str, method: str = "GET") -> Answer:
    """One request over a real socket, read to the end (the server closes the connection, as
    asked)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, body)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return page[(name, frozenset(labels.items()))]


def poll(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until `check()` is true, trying again every few hundredths of a second."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[Runtime, Metrics, ManualClock]]:
    url = await asyncio.to_thread(migrated_sqlite, tmp_path / "cercle.sqlite3")
    metrics = Metrics()
    clock = ManualClock(START)
    config = Config(data_dir=tmp_path, database_url=url)
    async with open_runtime(config, clock, on_outcome=metrics.observe) as started:
        metrics.watch_core(started.core)
        yield started, metrics, clock


# -- metrics and health -------------------------------------------------------------------------


async def test_metrics_count_commands_prompts_and_adapters_by_label(
    runtime: tuple[Runtime, Metrics, ManualClock],
) -> None:
    started, metrics, clock = runtime
    metrics.watch_adapter(InteractiveConsole(started))
    chat = Chat(started.database, clock=clock, core=started.core)
    await chat.say("anim", "/cercle creer Essai")
    await chat.say("anim", "/cercle creer Encore")  # refused: one circle per channel
    await chat.say("bob", "/nimportequoi")  # not a command
    await chat.say("anim", "/seance planifier demain 14h")
    await chat.wait(days=2)  # its reminder and start prompts are posted
    await chat.say("anim", "/seance planifier lundi 14h")
    clock.advance(timedelta(days=3))  # the process was down: on restart, they are stale
    await started.core.start()
    scheduler = started.core.scheduler
    assert isinstance(scheduler, ManualScheduler)
    await scheduler.advance_to(clock.now())
    prompts = started.core.prompts
    assert prompts.sent >= 1
    assert prompts.dropped >= 1

    server = MetricsServer(metrics, Health(started.database, clock), "127.0.0.1", 0)
    await server.start()
    try:
        assert server.port != 0
        answer = await http_get(server.port, "/metrics")
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/plain; version=")
        page = samples(answer.body.decode())
        total = "cercle_commands_total"
        assert value(page, total, command="cercle.creer", result="handled", refusal="") == 1
        assert (
            value(
                page,
                total,
                command="cercle.creer",
                result="refused",
                refusal="circle.already_exists",
            )
            == 1
        )
        assert (
            value(page, total, command="unknown", result="refused", refusal="command.unknown") == 1
        )
        assert value(page, total, command="seance.planifier", result="handled", refusal="") == 2
        assert value(page, "cercle_command_seconds_count", command="cercle.creer") == 2
        assert value(page, "cercle_command_seconds_count", command="unknown") == 1
        assert value(page, "cercle_command_seconds_bucket", command="unknown", le="5.0") == 1
        assert value(page, "cercle_prompts_sent_total") == prompts.sent
        assert value(page, "cercle_prompts_dropped_total") == prompts.dropped
        assert value(page, "cercle_send_queue_length", adapter="console") == 0
        assert value(page, "cercle_adapter_reconnects_total", adapter="console") == 0
        assert value(page, "cercle_up") == 1

        health = await http_get(server.port, "/healthz")
        assert (health.status, health.json()) == (200, {"status": "ok"})
        assert health.headers["content-type"] == "application/json"
        assert health.headers["connection"] == "close"
        assert (await http_get(server.port, "/healthz?verbose=1")).status == 200
        assert (await http_get(server.port, "/")).status == 404
        assert (await http_get(server.port, "/metrics", method="POST")).status == 405
    finally:
        await server.close()


async def test_health_is_unavailable_when_the_database_is_busy_broken_or_stopping(
    runtime: tuple[Runtime, Metrics, ManualClock],
) -> None:
    started, metrics, clock = runtime
    health = Health(started.database, clock, timeout=0.2)
    server = MetricsServer(metrics, health, "127.0.0.1", 0)
    await server.start()
    try:
        assert (await http_get(server.port, "/healthz")).status == 200

        # a unit of work that never ends: the probe waits for its turn, then gives up
        async with started.database():
            busy = await http_get(server.port, "/healthz")
            page = samples((await http_get(server.port, "/metrics")).body.decode())
        assert busy.status == 503
        assert busy.json() == {
            "status": "unavailable",
            "reason": "database did not answer within 0.2 s",
        }
        assert value(page, "cercle_up") == 0
        assert (await http_get(server.port, "/healthz")).status == 200

        health.stopping = True
        stopping = await http_get(server.port, "/healthz")
        assert (stopping.status, stopping.json()) == (
            503,
            {"status": "unavailable", "reason": "stopping"},
        )
        health.stopping = False

        # the database closed and its file ruined underneath
        await started.database.close()
        path = started.config.database_url
        assert path is not None
        file = Path(path.removeprefix("sqlite+aiosqlite:///"))
        await asyncio.to_thread(_ruin, file)
        broken = await http_get(server.port, "/healthz")
        assert broken.status == 503
        body = broken.json()
        assert isinstance(body, dict)
        assert body["status"] == "unavailable"
        assert body["reason"].startswith("database error (")
    finally:
        await server.close()


async def test_the_metrics_server_closes_open_connections(
    runtime: tuple[Runtime, Metrics, ManualClock],
) -> None:
    started, metrics, clock = runtime
    server = MetricsServer(metrics, Health(started.database, clock), "127.0.0.1", 0)
    await server.start()
    port = server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)  # sends nothing
    await server.close()
    assert await reader.read() == b""  # the server ended the idle connection
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


# -- logs ---------------------------------------------------------------------------------------


def test_json_logs_have_the_fields_and_hide_secrets() -> None:
    config = parse_config(
        {
            "cercle": {"database_url_env": "TEST_DB_URL"},
            "discord": {"token_env": "TEST_DISCORD_TOKEN"},
        },
        env={
            "TEST_DB_URL": "postgresql+asyncpg://cercle:db-pass-31415@db.example:5432/cercle",
            "TEST_DISCORD_TOKEN": "fake-discord-token-27182",
        },
    )
    secrets = secrets_of(config)
    assert "fake-discord-token-27182" in secrets
    assert "db-pass-31415" in secrets
    stream = io.StringIO()
    logger = logging.getLogger("cercle.test.operations")
    handler = LogHandler("json", secrets, stream)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("connecting with %s", "fake-discord-token-27182")
        logger.info("mirror at https://someone:other-pass@mirror.example/x ready")
        try:
            raise ValueError("login failed for fake-discord-token-27182")
        except ValueError:
            logger.exception("adapter %s stopped", "discord")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = stream.getvalue()
    assert "fake-discord-token-27182" not in out
    assert "db-pass-31415" not in out
    assert "other-pass" not in out
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["level"] for r in records] == ["DEBUG", "INFO", "ERROR"]
    for record in records:
        assert set(record) >= {"time", "level", "logger", "message"}
        assert record["logger"] == "cercle.test.operations"
        when = datetime.fromisoformat(record["time"])
        assert when.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)
    assert records[0]["message"] == "connecting with ***"
    assert records[1]["message"] == "mirror at https://someone:***@mirror.example/x ready"
    assert records[2]["message"] == "adapter discord stopped"
    assert "ValueError: login failed for ***" in records[2]["exc_info"]
    assert "exc_info" not in records[0]


def test_text_logs_hide_secrets_too() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("cercle.test.operations.text")
    handler = LogHandler("text", ["s3cret-value"], stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("retrying postgresql://u:p4ss@h/db with s3cret-value")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    line = stream.getvalue().strip()
    assert line.endswith(
        "WARNING cercle.test.operations.text: retrying postgresql://u:***@h/db with ***"
    )


# -- stopping -----------------------------------------------------------------------------------


class _Hanging:
    """A platform adapter whose connection never closes."""

    name = "hanging"

    def __init__(self) -> None:
        self.stopped = False

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def deliver(self, effects: list[Effect]) -> None:
        return None

    async def stop(self, flush_seconds: float = 0.0) -> None:
        await asyncio.Event().wait()
        self.stopped = True


async def test_stop_finishes_the_work_in_hand_and_leaves_a_hanging_adapter(
    runtime: tuple[Runtime, Metrics, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STOP_BOUND_SECONDS", 3.0)
    started, _, clock = runtime
    in_hand = InHand()
    release = asyncio.Event()
    listening_when_done: list[bool] = []

    @in_hand.track
    async def command() -> None:
        await release.wait()
        listening_when_done.append(not listening.done())

    adapter = _Hanging()
    listening = asyncio.create_task(adapter.run(), name="hanging")
    working = asyncio.create_task(command())
    await asyncio.sleep(0)
    assert in_hand.count == 1
    stopping = asyncio.create_task(asyncio.Event().wait())
    health = Health(started.database, clock)
    loop = asyncio.get_running_loop()
    began = loop.time()
    stop = asyncio.create_task(
        runner._stop(
            loop, [adapter], [listening], stopping, in_hand, health, ApsScheduler(clock), []
        )
    )
    await asyncio.sleep(0)  # the stop begins, and waits for the command in hand
    assert health.stopping
    release.set()
    await stop
    assert listening_when_done == [True]  # the adapter listened until the command was done
    assert working.done()
    assert not working.cancelled()
    assert listening.cancelled()
    assert not adapter.stopped
    assert loop.time() - began <= 3.0 + 0.5


def _ruin(file: Path) -> None:
    for extra in (file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
        extra.unlink(missing_ok=True)
    file.write_bytes(b"this is not a database file " * 200)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def _cercle(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cercle("--config", str(config), *args, env=env)


def test_sigterm_stops_cercle_run_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "cercle.toml"
    config.write_text(
        f"""
[cercle]
data_dir = "{tmp_path / "data"}"
log_format = "json"
adapters = ["console"]

[discord]
token_env = "TEST_FAKE_DISCORD_TOKEN"

[metrics]
enabled = true
port = {port}
""",
        "utf-8",
    )
    env = {**os.environ, "TEST_FAKE_DISCORD_TOKEN": "fake-token-1618033"}
    env.pop("CERCLE_DATA_DIR", None)
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "--config", str(config), "run"],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
            env=env,
        )
    assert process.stdin is not None
    base = f"http://127.0.0.1:{port}"
    try:
        poll(
            lambda: process.poll() is not None or _get(f"{base}/healthz")[0] == 200,
            60,
            "the health check",
        )
        assert process.poll() is None, err.read_text()
        process.stdin.write(b"anim: /cercle creer Essai\n")
        process.stdin.flush()

        def created() -> bool:
            status, body = _get(f"{base}/metrics")
            return (
                status == 200
                and 'cercle_commands_total{command="cercle.creer",refusal="",result="handled"} 1.0'
                in body.decode()
            )

        poll(created, 30, "the command in the metrics")
        listed = _cercle(config, env, "instances")
        assert listed.returncode == 0, listed.stderr
        [running, fine] = listed.stdout.splitlines()
        assert running.split("  ")[1] == "running"
        assert running.endswith("console:local")
        assert fine == "every share is run by one instance"
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_BOUND_SECONDS + 5)  # stdin is still open
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
    log = err.read_text("utf-8")
    assert code == 0, log
    records = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    messages = [r["message"] for r in records]
    assert any(m.startswith("health and metrics on http://127.0.0.1:") for m in messages)
    assert "stopping: taking no new work, finishing what is in hand" in messages
    assert messages[-1] == "stopped (exit status 0)"
    assert not [r for r in records if r["level"] in ("WARNING", "ERROR", "CRITICAL")], log
    assert "fake-token-1618033" not in log
    assert "créé" in out.read_text("utf-8")
    assert _get(f"{base}/healthz")[0] == 0  # nobody listens any more
    gone = _cercle(config, env, "instances")  # a stopped instance takes its record away
    assert (gone.returncode, gone.stdout) == (1, "no instance is running\n")
