"""Several instances on one PostgreSQL database: each looks after its own circles.

Three `cercle console` processes share one database, each with its own console account (the
stand-in for a Matrix account or a set of Discord shards): 300 circles, 100 per instance, each
with a séance planned. Every command is answered once, by the instance it was typed into; every
prompt is posted once, by the instance that owns its circle. One instance is killed with SIGKILL;
while it is down its prompts wait; two new processes then take over its partition at the same
moment (a hand-over where both think they own it): the overdue prompts are posted once, and
nothing the killed one had posted is posted again.

Each process runs on its own simulated clock, moved by the test in the same steps.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PostgresServer
from tests.e2e.processes import Console

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

START = "2026-12-03T13:00:00+00:00"
PLAN = "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que déléguer ?"
ACCOUNTS = ("a", "b", "c")
PER_INSTANCE = 100
KINDS = {
    "preparation": "Pour préparer la séance 1",
    "day_before": "Rappel : séance 1 demain",
    "soon": "La séance 1 commence dans",
    "start": "C'est l'heure de la séance 1",
    "follow_up": "Suivi de la séance 1",
}
_SAID = re.compile(r"^\[cercle #(?P<channel>\w+)(?: → \w+)?\] (?P<text>.*)$")

Start = Callable[..., Console]


def channels(account: str) -> list[str]:
    return [f"{account}{n:03d}" for n in range(PER_INSTANCE)]


def prompts(lines: list[str]) -> Counter[tuple[str, str]]:
    """(channel, kind) of every prompt in these lines."""
    found: Counter[tuple[str, str]] = Counter()
    for line in lines:
        match = _SAID.match(line)
        if match is None:
            continue
        for kind, mark in KINDS.items():
            if match.group("text").startswith(mark):
                found[(match.group("channel"), kind)] += 1
    return found


def answers_by_channel(lines: list[str]) -> Counter[str]:
    return Counter(m.group("channel") for line in lines if (m := _SAID.match(line)))


@pytest.fixture
def start_instance(tmp_path: Path, postgres: PostgresServer) -> Iterator[Start]:
    """`start_instance(account, at)`: a console process on the shared database."""
    url = postgres.create_database()
    config = tmp_path / "cercle.toml"
    config.write_text('[cercle]\ndatabase_url_env = "CERCLE_DATABASE_URL"\n', "utf-8")
    started: list[Console] = []

    def start(account: str, at: str, *, wait: bool = True) -> Console:
        n = len(started)
        console = Console(
            tmp_path / f"data-{n}",
            at,
            tmp_path / f"stderr-{n}.log",
            wait=wait,
            options=["--config", str(config)],
            console_options=["--account", account, "--show-channel", "--quiet-status"],
            env={"CERCLE_DATABASE_URL": url},
        )
        started.append(console)
        return console

    yield start
    for console in started:
        console.ensure_dead()


def test_three_instances_post_each_prompt_once_across_a_kill_and_a_hand_over(
    start_instance: Start,
) -> None:
    a, b, c = (start_instance(account, START) for account in ACCOUNTS)
    instances = {"a": a, "b": b, "c": c}

    # 300 circles, each created and given a séance by the instance it was typed into.
    for account, console in instances.items():
        lines: list[str] = []
        for channel in channels(account):
            lines += [f":salon {channel}", f"anim: /cercle creer Cercle {channel}", PLAN]
        out = console.run(*lines)
        # each command its answers (creating: 1 line; planning: the date, the subject, the question)
        assert answers_by_channel(out) == dict.fromkeys(channels(account), 4), account
        assert sum(1 for line in out if "Séance 1 planifiée" in line) == PER_INSTANCE

    # Monday 7 December, 15:00: the preparation questions, each by its circle's instance.
    for account, console in instances.items():
        out = console.run(":clock +98h")
        assert prompts(out) == {(ch, "preparation"): 1 for ch in channels(account)}, account

    # b dies. Wednesday 9 December, 15:00 for a and c: their day-before reminders go out;
    # b's wait for an owner.
    b.kill()
    for account, console in (("a", a), ("c", c)):
        out = console.run(":clock +48h")
        assert prompts(out) == {(ch, "day_before"): 1 for ch in channels(account)}, account

    # Two processes take over b's partition at once: the overdue reminders (an hour late,
    # still useful) are posted once between them; the preparation questions are not repeated.
    takers = [start_instance("b", "2026-12-09T15:00:00+00:00", wait=False) for _ in range(2)]
    for taker in takers:
        taker.ready()
    takeover = prompts(takers[0].startup) + prompts(takers[1].startup)
    assert takeover == {(ch, "day_before"): 1 for ch in channels("b")}
    b2 = takers[1]
    assert takers[0].stop() == 0
    instances["b"] = b2

    # The rest of the séance's prompts, on every instance in the same steps.
    for step in (":clock +22h50m", ":clock +10m", ":clock +192h"):
        for console in instances.values():
            console.run(step)

    transcripts = {
        "a": a.transcript,
        "b": b.transcript + takers[0].transcript + b2.transcript,
        "c": c.transcript,
    }
    everything: Counter[tuple[str, str]] = Counter()
    for account, lines in transcripts.items():
        posted = prompts(lines)
        # every prompt of the instance's circles, once, and none of another instance's
        assert posted == {(ch, kind): 1 for ch in channels(account) for kind in KINDS}, account
        everything += posted
    assert len(everything) == len(ACCOUNTS) * PER_INSTANCE * len(KINDS)
    assert set(everything.values()) == {1}
    for console in (a, b2, c):
        assert console.stop() == 0
