"""What an operator watches: a health check and Prometheus metrics, on a small HTTP endpoint.

`cercle run` serves them when `[metrics] enabled = true` (on `host`:`port`, 127.0.0.1:9464 by
default):

- `GET /healthz`: 200 `{"status": "ok"}` when the process runs and its database answers a
  trivial query within 2 s, else 503 `{"status": "unavailable", "reason": "..."}` (also while
  the process is stopping);
- `GET /metrics`: the metrics in Prometheus' text format (below); anything else is a 404.

Metrics:

- `cercle_commands_total{command, result, refusal}`: commands handled (`result="handled"`,
  `refusal=""`) or refused (`result="refused"`, `refusal` the refusal's key); `command` is the
  command's key, or `unknown` for text that is not a command. Both keys come from fixed
  catalogs, so the number of series stays bounded.
- `cercle_command_seconds{command}`: how long commands took (a histogram, 0.5 ms to 5 s).
- `cercle_prompts_sent_total`, `cercle_prompts_dropped_total`: prompts posted, and dropped as
  stale, since the start.
- `cercle_prompts_failed_total`: attempts at a prompt that failed (each is logged; a prompt is
  tried a few times, then dropped).
- `cercle_send_queue_length{adapter}`, `cercle_adapter_reconnects_total{adapter}`: messages
  waiting to be sent, and reconnections, of each adapter.
- `cercle_sends_failed_total{adapter, reason}`: messages the platform refused for good
  (`forbidden`: the bot may not post there; `not_found`: the room or person is gone; `refused`:
  another 4xx), logged and not retried; transient failures are retried and not counted here.
- `cercle_up`: 1 when the last health check (made at each scrape) passed, else 0.
- the process' own `process_*` metrics (CPU, memory, open files), where the system has them.

The server is `asyncio.start_server`, one request per connection: the base install needs no
web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.app import CercleCore
from bot.dispatcher import Outcome
from bot.ports import UnitOfWorkFactory
from bot.timing.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")

HEALTH_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 5.0
MAX_REQUEST_BYTES = 8192
SECONDS_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


@runtime_checkable
class ObservedAdapter(Protocol):
    """What an adapter shows of itself for the metrics; read at each scrape."""

    @property
    def name(self) -> str: ...

    @property
    def reconnects(self) -> int: ...

    def send_queue_length(self) -> int: ...


class Metrics:
    """Cercle's metrics in a registry of their own (several can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "cercle_commands",
            "Commands handled or refused, by command key and refusal key.",
            ["command", "result", "refusal"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "cercle_command_seconds",
            "How long commands took, waiting for the circle's lock included.",
            ["command"],
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.up = Gauge(
            "cercle_up",
            "1 when the last health check passed (the database answered), else 0.",
            registry=self.registry,
        )
        self.core: CercleCore | None = None
        self.adapters: list[ObservedAdapter] = []
        self.registry.register(_LiveCollector(self))
        ProcessCollector(registry=self.registry)

    def observe(self, outcome: Outcome) -> None:
        """Count one command; give this to the core as its `on_outcome`."""
        command = outcome.command or "unknown"
        refused = outcome.refused is not None
        self.commands.labels(
            command=command,
            result="refused" if refused else "handled",
            refusal=outcome.refused or "",
        ).inc()
        self.command_seconds.labels(command=command).observe(outcome.seconds)

    def watch_core(self, core: CercleCore) -> None:
        """Report the core's prompt counters."""
        self.core = core

    def watch_adapter(self, adapter: object) -> None:
        """Report an adapter's send queue and reconnections, if it shows them."""
        if isinstance(adapter, ObservedAdapter):
            self.adapters.append(adapter)

    def latest(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    """Values read from the core and the adapters at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        core = self._metrics.core
        yield CounterMetricFamily(
            "cercle_prompts_sent",
            "Prompts (reminders, questions, openings, closings) posted since the start.",
            value=core.prompts.sent if core is not None else 0,
        )
        yield CounterMetricFamily(
            "cercle_prompts_dropped",
            "Prompts dropped as stale (too late, or no longer wanted) since the start.",
            value=core.prompts.dropped if core is not None else 0,
        )
        yield CounterMetricFamily(
            "cercle_prompts_failed",
            "Attempts at a prompt that failed (logged; tried again, then dropped) since the start.",
            value=core.prompts.failed if core is not None else 0,
        )
        queue = GaugeMetricFamily(
            "cercle_send_queue_length",
            "Messages waiting to be sent (or being sent), by adapter.",
            labels=["adapter"],
        )
        reconnects = CounterMetricFamily(
            "cercle_adapter_reconnects",
            "Reconnections to the platform since the start, by adapter.",
            labels=["adapter"],
        )
        sends_failed = CounterMetricFamily(
            "cercle_sends_failed",
            "Messages the platform refused for good (not retried), by adapter and reason.",
            labels=["adapter", "reason"],
        )
        for adapter in self._metrics.adapters:
            try:
                name = adapter.name
                length, count = adapter.send_queue_length(), adapter.reconnects
            except Exception:
                log.exception("adapter metrics could not be read")
                continue
            queue.add_metric([name], length)
            reconnects.add_metric([name], count)
            for reason, failed in sorted(getattr(adapter, "sends_failed", {}).items()):
                sends_failed.add_metric([name, reason], failed)
        yield queue
        yield reconnects
        yield sends_failed


async def bounded(work: Awaitable[T], seconds: float) -> tuple[bool, T | None]:
    """Await `work` for at most `seconds`: (True, result), or (False, None) once cancelled.

    asyncio.wait, not wait_for: on Python 3.11 wait_for can lose a cancellation of the caller."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    finally:
        if not task.done():
            task.cancel()
            # its outcome is of no interest any more; retrieving it keeps asyncio quiet
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
    if not done:
        return False, None
    return True, task.result()


class Health:
    """Answers whether this process can do its work: its database answers, and it is not
    stopping."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        timeout: float = HEALTH_TIMEOUT_SECONDS,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.timeout = timeout
        self.stopping = False

    async def _probe(self) -> None:
        # A real unit of work: it takes its turn like the commands do (SQLite has one writer).
        async with self._uow_factory() as uow:
            await uow.prompts.due(self._clock.now(), 1)

    async def check(self) -> str | None:
        """None when healthy, else the reason."""
        if self.stopping:
            return "stopping"
        try:
            answered, _ = await bounded(self._probe(), self.timeout)
        except Exception as error:
            log.warning("health check: the database failed: %r", error)
            return f"database error ({type(error).__name__})"
        if not answered:
            log.warning("health check: the database did not answer within %.1f s", self.timeout)
            return f"database did not answer within {self.timeout:g} s"
        return None


class MetricsServer:
    """GET /healthz and GET /metrics over plain HTTP/1.1, one request per connection."""

    def __init__(self, metrics: Metrics, health: Health, host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._requested_port)

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose, when asked for port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the metrics server is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        """Stop listening and end the connections being served."""
        if self._server is None:
            return
        self._server.close()
        for task in self._connections:
            task.cancel()
        if self._connections:
            await asyncio.wait(set(self._connections), timeout=1.0)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            status, content_type, body = await self._respond(reader)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("metrics endpoint: request failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await bounded(writer.wait_closed(), 1.0)

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
        read, head = await bounded(_read_head(reader), READ_TIMEOUT_SECONDS)
        if not read or not head:
            return _text("408 Request Timeout" if not read else "400 Bad Request")
        parts = head[0].split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return _text("400 Bad Request")
        method, target = parts[0], parts[1].split("?", 1)[0]
        if target not in ("/healthz", "/metrics"):
            return _text("404 Not Found")
        if method != "GET":
            return _text("405 Method Not Allowed")
        reason = await self.health.check()
        self.metrics.up.set(0 if reason else 1)
        if target == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, self.metrics.latest()
        if reason is None:
            return "200 OK", "application/json", json.dumps({"status": "ok"}).encode()
        answer = {"status": "unavailable", "reason": reason}
        return "503 Service Unavailable", "application/json", json.dumps(answer).encode()


async def _read_head(reader: asyncio.StreamReader) -> list[str]:
    """The request line and headers (the body, if any, is not read)."""
    lines: list[str] = []
    size = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line longer than the reader's limit
            return []
        size += len(line)
        if not line or size > MAX_REQUEST_BYTES:
            return []
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return lines
        lines.append(text)


def _text(status: str) -> tuple[str, str, bytes]:
    return status, "text/plain; charset=utf-8", (status.split(" ", 1)[1] + "\n").encode()
