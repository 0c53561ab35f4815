"""ApsScheduler against the real APScheduler, on this test's event loop.

No test sleeps for a time box: each waits for what it expects (an asyncio.Event) with a timeout,
and the instants used are either already reached or a fraction of a second away. To show that
something did NOT run, a later "sentinel" wake-up is awaited: date jobs run in time order, so
once the sentinel has run, anything due before it would have run too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.scheduler import ApsScheduler
from bot.domain.refs import ChannelRef
from bot.effects import Effect, Reply
from bot.timing.clock import ManualClock, SystemClock

TIMEOUT = 5.0
GRACE = timedelta(minutes=10)
CHANNEL = ChannelRef("console", "salon")


class Recorder:
    """A handler and a deliver callback that remember what they got and let tests wait for it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime, datetime]] = []  # key, `now` given, real instant
        self.delivered: list[list[Effect]] = []
        self.effects: dict[str, list[Effect]] = {}
        self.failing: set[str] = set()
        self._ran: dict[str, asyncio.Event] = {}
        self._delivered = asyncio.Event()

    def _event(self, key: str) -> asyncio.Event:
        return self._ran.setdefault(key, asyncio.Event())

    async def handler(self, key: str, now: datetime) -> list[Effect]:
        self.calls.append((key, now, datetime.now(UTC)))
        self._event(key).set()
        if key in self.failing:
            raise RuntimeError(f"handler failed for {key}")
        return list(self.effects.get(key, []))

    async def deliver(self, effects: list[Effect]) -> None:
        self.delivered.append(effects)
        self._delivered.set()

    async def ran(self, key: str) -> None:
        await asyncio.wait_for(self._event(key).wait(), TIMEOUT)

    async def some_delivery(self) -> None:
        await asyncio.wait_for(self._delivered.wait(), TIMEOUT)

    def runs(self, key: str) -> int:
        return sum(1 for k, _, _ in self.calls if k == key)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


async def stop(scheduler: ApsScheduler) -> None:
    scheduler.shutdown()
    # AsyncIOScheduler shuts down in a callback on the loop's next turn.
    await asyncio.sleep(0)


@pytest.fixture
async def scheduler(recorder: Recorder) -> AsyncIterator[ApsScheduler]:
    aps = ApsScheduler(SystemClock())
    aps.handler = recorder.handler
    aps.deliver = recorder.deliver
    aps.start()
    yield aps
    await stop(aps)


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_reached_instant_runs_the_handler_promptly_with_its_key(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    asked = now()
    scheduler.wake_at("prompt:12", asked, GRACE)
    await recorder.ran("prompt:12")
    assert [key for key, _, _ in recorder.calls] == ["prompt:12"]
    _, given, ran_at = recorder.calls[0]
    assert ran_at - asked < timedelta(seconds=2)
    assert given >= asked
    assert given.tzinfo is not None
    assert scheduler.job_ids() == []
    assert scheduler.errors == 0


async def test_an_instant_passed_within_the_grace_still_runs(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    scheduler.wake_at("prompt:3", now() - timedelta(minutes=5), GRACE)
    await recorder.ran("prompt:3")
    assert recorder.runs("prompt:3") == 1


async def test_an_instant_passed_beyond_its_grace_is_skipped(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    """As documented: past the grace APScheduler skips the job (the core would drop it)."""
    scheduler.wake_at("prompt:31", now() - timedelta(seconds=30), timedelta(seconds=5))
    scheduler.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
    await recorder.ran("sentinel")
    assert recorder.runs("prompt:31") == 0
    assert scheduler.errors == 0


async def test_a_near_instant_runs_at_it_not_before(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    at = now() + timedelta(milliseconds=300)
    scheduler.wake_at("timebox:4", at, GRACE)
    assert scheduler.job_ids() == ["timebox:4"]
    await recorder.ran("timebox:4")
    _, _, ran_at = recorder.calls[0]
    assert ran_at >= at


async def test_the_handler_gets_the_adapters_clock_not_the_scheduled_instant(
    recorder: Recorder,
) -> None:
    clock = ManualClock(datetime(2026, 12, 3, 13, 0, tzinfo=UTC))
    aps = ApsScheduler(clock)
    aps.handler = recorder.handler
    aps.start()
    try:
        aps.wake_at("timebox:7", now(), GRACE)
        await recorder.ran("timebox:7")
    finally:
        await stop(aps)
    assert recorder.calls[0][:2] == ("timebox:7", clock.now())


async def test_wakeups_armed_before_start_run_once_started(recorder: Recorder) -> None:
    """As at boot: `core.start()` arms every wake-up, then the scheduler starts."""
    aps = ApsScheduler(SystemClock())
    aps.handler = recorder.handler
    aps.wake_at("prompt:1", now() - timedelta(seconds=30), GRACE)
    aps.wake_at("prompt:2", now(), GRACE)
    aps.wake_at("prompt:9", now() + timedelta(hours=1), GRACE)
    assert sorted(aps.job_ids()) == ["prompt:1", "prompt:2", "prompt:9"]
    aps.start()
    try:
        await recorder.ran("prompt:1")
        await recorder.ran("prompt:2")
        assert aps.job_ids() == ["prompt:9"]
    finally:
        await stop(aps)
    assert recorder.runs("prompt:1") == recorder.runs("prompt:2") == 1


async def test_a_second_wake_at_for_a_key_replaces_the_first(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    first = now()
    later = first + timedelta(milliseconds=300)
    scheduler.wake_at("timebox:5", first, GRACE)
    scheduler.wake_at("timebox:5", later, GRACE)
    assert scheduler.job_ids() == ["timebox:5"]
    await recorder.ran("timebox:5")
    # Had the first wake-up survived, it would have run first, before `later`.
    _, _, ran_at = recorder.calls[0]
    assert ran_at >= later
    assert recorder.runs("timebox:5") == 1
    assert scheduler.job_ids() == []


async def test_moving_a_wakeup_earlier_runs_it_once_at_the_new_instant(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    scheduler.wake_at("prompt:8", now() + timedelta(hours=1), GRACE)
    scheduler.wake_at("prompt:8", now(), GRACE)
    await recorder.ran("prompt:8")
    scheduler.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
    await recorder.ran("sentinel")
    assert recorder.runs("prompt:8") == 1
    assert scheduler.job_ids() == []


async def test_cancel_removes_the_job(scheduler: ApsScheduler, recorder: Recorder) -> None:
    scheduler.wake_at("prompt:20", now() + timedelta(hours=1), GRACE)
    scheduler.wake_at("prompt:21", now() + timedelta(hours=2), GRACE)
    assert sorted(scheduler.job_ids()) == ["prompt:20", "prompt:21"]
    scheduler.cancel("prompt:20")
    assert scheduler.job_ids() == ["prompt:21"]
    scheduler.cancel("prompt:20")  # unknown keys are ignored
    scheduler.cancel("never:armed")
    assert scheduler.job_ids() == ["prompt:21"]


async def test_a_cancelled_due_wakeup_does_not_run(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    scheduler.wake_at("prompt:30", now(), GRACE)
    scheduler.cancel("prompt:30")
    scheduler.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
    await recorder.ran("sentinel")
    assert recorder.runs("prompt:30") == 0


async def test_cancel_before_start(recorder: Recorder) -> None:
    aps = ApsScheduler(SystemClock())
    aps.handler = recorder.handler
    aps.wake_at("prompt:40", now(), GRACE)
    aps.cancel("prompt:40")
    assert aps.job_ids() == []
    aps.start()
    try:
        aps.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
        await recorder.ran("sentinel")
    finally:
        await stop(aps)
    assert recorder.runs("prompt:40") == 0


async def test_a_failing_handler_is_logged_counted_and_later_jobs_still_run(
    scheduler: ApsScheduler, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.scheduler")
    recorder.failing.add("timebox:9")
    scheduler.wake_at("timebox:9", now(), GRACE)
    await recorder.ran("timebox:9")
    scheduler.wake_at("prompt:10", now(), GRACE)
    await recorder.ran("prompt:10")
    assert scheduler.errors == 1
    failures = [r for r in caplog.records if r.name == "adapters.scheduler"]
    assert [r.getMessage() for r in failures] == ["scheduled wake-up timebox:9 failed"]
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


async def test_several_failures_are_all_counted(
    scheduler: ApsScheduler, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.scheduler")
    keys = [f"prompt:{n}" for n in range(50, 55)]
    recorder.failing.update(keys)
    for key in keys:
        scheduler.wake_at(key, now(), GRACE)
    for key in keys:
        await recorder.ran(key)
    scheduler.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
    await recorder.ran("sentinel")
    assert scheduler.errors == len(keys)


async def test_deliver_receives_the_effects(scheduler: ApsScheduler, recorder: Recorder) -> None:
    reply = Reply(CHANNEL, "La séance 1 commence dans 15 min.")
    recorder.effects["prompt:60"] = [reply]
    scheduler.wake_at("prompt:60", now(), GRACE)
    await recorder.some_delivery()
    assert recorder.delivered == [[reply]]
    assert scheduler.errors == 0


async def test_nothing_is_delivered_when_there_are_no_effects(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    reply = Reply(CHANNEL, "after")
    recorder.effects["prompt:72"] = [reply]
    scheduler.wake_at("prompt:71", now(), GRACE)
    await recorder.ran("prompt:71")
    scheduler.wake_at("prompt:72", now(), GRACE)
    await recorder.some_delivery()
    assert recorder.delivered == [[reply]]


async def test_a_failing_deliver_is_counted(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.scheduler")
    failed = asyncio.Event()

    async def deliver(effects: list[Effect]) -> None:
        failed.set()
        raise ConnectionError("platform down")

    aps = ApsScheduler(SystemClock())
    aps.handler = recorder.handler
    aps.deliver = deliver
    recorder.effects["prompt:80"] = [Reply(CHANNEL, "x")]
    aps.start()
    try:
        aps.wake_at("prompt:80", now(), GRACE)
        await asyncio.wait_for(failed.wait(), TIMEOUT)
        aps.wake_at("sentinel", now() + timedelta(milliseconds=100), GRACE)
        await recorder.ran("sentinel")
    finally:
        await stop(aps)
    assert aps.errors == 1
    assert [r.getMessage() for r in caplog.records if r.name == "adapters.scheduler"] == [
        "scheduled wake-up prompt:80 failed"
    ]


async def test_without_a_handler_a_wakeup_is_an_error_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.scheduler")
    aps = ApsScheduler(SystemClock())
    logged = asyncio.Event()

    class Flag(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logged.set()

    flag = Flag(logging.ERROR)
    logging.getLogger("adapters.scheduler").addHandler(flag)
    aps.start()
    try:
        aps.wake_at("prompt:90", now(), GRACE)
        await asyncio.wait_for(logged.wait(), TIMEOUT)
    finally:
        logging.getLogger("adapters.scheduler").removeHandler(flag)
        await stop(aps)
    assert aps.errors == 1


async def test_many_wakeups_due_together_all_run_once(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    """A burst like a round hour: each job keeps the grace it was given (APScheduler's default of
    1 s would skip those that start late), and each runs once."""
    keys = [f"prompt:{n}" for n in range(1000, 1500)]
    at = now()
    for key in keys:
        scheduler.wake_at(key, at, GRACE)
    for key in keys:
        await recorder.ran(key)
    assert all(recorder.runs(key) == 1 for key in keys)
    assert scheduler.errors == 0
    assert scheduler.job_ids() == []


async def test_shutdown_twice_and_before_start_is_harmless(recorder: Recorder) -> None:
    aps = ApsScheduler(SystemClock())
    aps.shutdown()  # never started
    aps.start()
    await stop(aps)
    await stop(aps)


async def test_a_key_rearmed_from_its_own_run_for_a_reached_instant_runs_again(
    scheduler: ApsScheduler, recorder: Recorder
) -> None:
    """A time box run re-arms `timebox:<id>` for the séance's next deadline; if that deadline
    has already passed (the run waited for the circle's lock), it must still run."""
    skipped = asyncio.Event()

    class SkipWatch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "maximum number of running instances" in record.getMessage():
                skipped.set()

    watch = SkipWatch(logging.WARNING)
    aps_log = logging.getLogger("apscheduler")
    aps_log.addHandler(watch)
    second = asyncio.Event()

    async def handler(key: str, at: datetime) -> list[Effect]:
        recorder.calls.append((key, at, now()))
        if len(recorder.calls) == 1:
            scheduler.wake_at(key, now(), GRACE)  # the next deadline, already reached
        else:
            second.set()
        return []

    scheduler.handler = handler
    try:
        scheduler.wake_at("timebox:3", now(), GRACE)
        waits = [asyncio.ensure_future(e.wait()) for e in (second, skipped)]
        done, pending = await asyncio.wait(waits, timeout=TIMEOUT, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
    finally:
        aps_log.removeHandler(watch)
    assert done, "neither a second run nor a skip within the timeout"
    assert not skipped.is_set()
    assert recorder.runs("timebox:3") == 2


async def test_a_recurring_chore_goes_on_after_a_failure(
    scheduler: ApsScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.scheduler")
    runs = 0
    again = asyncio.Event()

    async def chore() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("database away")
        again.set()

    scheduler.every(0.05, "resync", chore)
    await asyncio.wait_for(again.wait(), TIMEOUT)
    assert scheduler.errors == 1
    assert [r.getMessage() for r in caplog.records if r.name == "adapters.scheduler"] == [
        "recurring job resync failed"
    ]
    assert scheduler.job_ids() == ["resync"]
