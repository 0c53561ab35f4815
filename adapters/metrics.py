"""What an operator watches: a health check and Prometheus metrics.

`cercle run` serves them when `[metrics] enabled = true` (on `host`:`port`, 127.0.0.1:9464 by
default), with aiohttp (`adapters/web/server.py`):

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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

from prometheus_client import (
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
