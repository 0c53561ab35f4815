"""A live console process killed with SIGKILL and started again: the séance goes on.

The child reads script lines from its standard input as they arrive (`console --script -`) on a
simulated clock. After a command has been answered its transaction is committed, so killing the
process then must lose nothing: the new process, started at the same simulated instant, shows
the same floor, and turn durations and time boxes count the time before the kill.

Every wait has a timeout; nothing sleeps for a fixed time. To know that the process has
finished with a line, the test sends a marker line (`sync: N`, plain conversation, which the
bot echoes and ignores) and reads up to its echo: lines are handled one at a time, in order.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
START = "2026-12-03T13:00:00+00:00"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


class Console:
    """`cercle console --script -` as a child process, fed line by line."""

    def __init__(self, data_dir: Path, start: str, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        self._log = log
        self._stderr = log.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapters.cli",
                "--data-dir",
                str(data_dir),
                "console",
                "--script",
                "-",
                "--start",
                start,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self._stdin: IO[str] = self.proc.stdin
        self._stdout: IO[str] = self.proc.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.transcript: list[str] = []
        self._syncs = 0
        self.expect("[console] ready")

    def _read(self) -> None:
        for line in self._stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next(self) -> str:
        try:
            line = self._lines.get(timeout=TIMEOUT)
        except queue.Empty:
            self._fail(f"no output for {TIMEOUT} s")
        if line is None:
            self._fail("the process ended")
        self.transcript.append(line)
        return line

    def _fail(self, why: str) -> None:
        self._stderr.flush()
        errors = self._log.read_text("utf-8")
        shown = "\n".join(self.transcript[-60:])
        pytest.fail(f"{why}\n--- output ---\n{shown}\n--- stderr ---\n{errors}")

    def expect(self, wanted: str) -> list[str]:
        """Read lines up to and including the exact line `wanted`."""
        seen: list[str] = []
        while True:
            line = self._next()
            seen.append(line)
            if line == wanted:
                return seen

    def send(self, line: str) -> None:
        self._stdin.write(line + "\n")
        self._stdin.flush()

    def run(self, *lines: str) -> list[str]:
        """Send lines, wait until all are handled; the messages they printed, one per item.

        A message is its first line and the indented lines that follow, joined by newlines
        (without the indentation)."""
        self._syncs += 1
        marker = f"sync: {self._syncs}"
        for line in lines:
            self.send(line)
        self.send(marker)
        out = self.expect(marker)[:-1]
        messages: list[str] = []
        for line in out:
            if line.startswith(" ") and messages:
                messages[-1] += "\n" + line.strip()
            else:
                messages.append(line)
        return messages

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind in the child."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
        self._close()

    def stop(self) -> int:
        """End of input: the console closes its runtime and exits."""
        self._stdin.close()
        code = self.proc.wait(timeout=TIMEOUT)
        self._close()
        return code

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self._close()

    def _close(self) -> None:
        self._reader.join(timeout=TIMEOUT)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
        self._stderr.close()


Consoles = Callable[[str], Console]


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[Consoles]:
    """Starts consoles on one data dir; whatever happens, none outlives the test."""
    started: list[Console] = []

    def start(at: str) -> Console:
        console = Console(tmp_path / "data", at, tmp_path / "stderr.log")
        started.append(console)
        return console

    yield start
    for console in started:
        console.ensure_dead()


def export(data_dir: Path) -> dict[str, Any]:
    command = ["--data-dir", str(data_dir), "export", "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", *command],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def turns_of(data: dict[str, Any]) -> list[tuple[str, str, str | None, float, str | None]]:
    [circle] = data["circles"]
    [seance] = circle["seances"]
    return [
        (t["name"], t["start"], t["end"], t["duration_s"], t["outcome"]) for t in seance["turns"]
    ]


def test_a_killed_console_resumes_the_open_floor(tmp_path: Path, consoles: Consoles) -> None:
    first = consoles(START)
    first.run(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "carol: /present",
    )
    out = first.run("anim: /seance phase suivante")
    assert "[cercle] anim, vous avez la parole (2 min 00 s)." in out
    first.run(":clock +50s")
    out = first.run(
        "anim: /seance phase suivante",  # anim's round turn ends: 50 s spoken
        "bob: /tour",  # 13:00:50, bob has the floor
        "anim: /tour",  # queued first, but has spoken already
        ":clock +40s",
    )
    assert "[cercle] bob, vous avez la parole." in out
    assert "[cercle → anim] C'est noté : vous êtes n° 1 dans la file." in out
    # The last command, at 13:01:30: the bot has answered, so it is committed.
    out = first.run("carol: /tour")
    assert out[:2] == ["carol: /tour", "[cercle → carol] C'est noté : vous êtes n° 1 dans la file."]
    assert out[2].endswith("Parole : bob (40 s)\nFile : 1. carol, 2. anim")
    first.kill()

    second = consoles("2026-12-03T13:01:30+00:00")
    out = second.run("anim: /file")
    status = (
        "Séance 1 — Test — Parole libre (parole libre) · reste 59 min 20 s\n"
        "Parole : bob (40 s)\n"
        "File : 1. carol, 2. anim"
    )
    assert out == ["anim: /file", f"[cercle → anim] {status}", f"[statut] {status}"]

    assert second.run(":clock +30s") == []
    out = second.run("bob: /fini")
    assert out[:3] == [
        "bob: /fini",
        "[cercle] bob a terminé (1 min 10 s).",
        "[cercle] carol, vous avez la parole.",
    ]
    assert out[3] == (
        "[statut] Séance 1 — Test — Parole libre (parole libre) · reste 58 min 50 s\n"
        "Parole : carol (0 s)\n"
        "File : 1. anim"
    )
    assert second.stop() == 0

    assert turns_of(export(tmp_path / "data")) == [
        ("anim", "2026-12-03T13:00:00+00:00", "2026-12-03T13:00:50+00:00", 50.0, "phase_end"),
        ("bob", "2026-12-03T13:00:50+00:00", "2026-12-03T13:02:00+00:00", 70.0, "finished"),
        ("carol", "2026-12-03T13:02:00+00:00", None, 0.0, None),
    ]
    assert "Traceback" not in (tmp_path / "stderr.log").read_text("utf-8")


def start_round_and_kill_mid_turn(consoles: Consoles) -> None:
    """alice's round turn starts at T = 13:00:30 (2-minute limit); killed at T+50s."""
    first = consoles(START)
    first.run(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance phase suivante",  # météo: 2-minute round turns
        ":clock +30s",
    )
    out = first.run("anim: /fini")
    assert "[cercle] alice, vous avez la parole (2 min 00 s)." in out
    assert first.run(":clock +50s") == []
    out = first.run("dave: /present")  # a late arrival at T+50s joins the round
    assert out[:2] == ["dave: /present", "[cercle] dave est là (4 présent·es)."]
    assert out[2].endswith("Parole : alice (50 s) · reste 1 min 10 s\nTour : 1. bob, 2. dave")
    first.kill()


ROUND_TURNS = [
    ("anim", "2026-12-03T13:00:00+00:00", "2026-12-03T13:00:30+00:00", 30.0, "finished"),
    ("alice", "2026-12-03T13:00:30+00:00", "2026-12-03T13:02:30+00:00", 120.0, "timeout"),
    ("bob", "2026-12-03T13:02:30+00:00", None, 0.0, None),
]


def test_a_round_time_box_counts_the_time_before_the_kill(
    tmp_path: Path, consoles: Consoles
) -> None:
    start_round_and_kill_mid_turn(consoles)

    second = consoles("2026-12-03T13:01:20+00:00")  # T+50s
    out = second.run("anim: /file")
    assert out[1] == (
        "[cercle → anim] Séance 1 — Test — Météo (tour de table) · reste 13 min 40 s\n"
        "Parole : alice (50 s) · reste 1 min 10 s\n"
        "Tour : 1. bob, 2. dave"
    )
    out = second.run(":clock +46s")  # T+96s: 80 % of 2 minutes
    assert out[0] == "[cercle → alice] Il vous reste 24 s de temps de parole."
    assert "Parole : alice (1 min 36 s) · reste 24 s" in out[1]
    assert len(out) == 2
    out = second.run(":clock +24s")  # T+120s
    assert out[:2] == [
        "[cercle] Temps écoulé pour alice (2 min 00 s).",
        "[cercle] bob, vous avez la parole (2 min 00 s).",
    ]
    assert out[2].startswith("[statut] ")
    assert out[2].endswith("Parole : bob (0 s) · reste 2 min 00 s\nTour : 1. dave")
    assert len(out) == 3
    assert second.stop() == 0

    assert turns_of(export(tmp_path / "data")) == ROUND_TURNS
    assert "Traceback" not in (tmp_path / "stderr.log").read_text("utf-8")


def test_time_boxes_fire_on_the_exact_second_across_two_kills(
    tmp_path: Path, consoles: Consoles
) -> None:
    start_round_and_kill_mid_turn(consoles)

    second = consoles("2026-12-03T13:01:20+00:00")  # T+50s
    # The warning is due at T+96s, not a second earlier.
    assert second.run(":clock +45s") == []
    assert "Parole : alice (1 min 35 s) · reste 25 s" in second.run("anim: /file")[1]
    out = second.run(":clock +1s")
    assert out[0] == "[cercle → alice] Il vous reste 24 s de temps de parole."
    # Killed again after the warning: it is not given twice, and the turn ends at T+120s.
    second.kill()

    third = consoles("2026-12-03T13:02:06+00:00")  # T+96s
    assert third.run(":clock +23s") == []
    assert "Parole : alice (1 min 59 s) · reste 1 s" in third.run("anim: /file")[1]
    out = third.run(":clock +1s")
    assert out[:2] == [
        "[cercle] Temps écoulé pour alice (2 min 00 s).",
        "[cercle] bob, vous avez la parole (2 min 00 s).",
    ]
    assert not any("Il vous reste" in line for line in third.transcript)
    assert third.stop() == 0

    assert turns_of(export(tmp_path / "data")) == ROUND_TURNS
    assert "Traceback" not in (tmp_path / "stderr.log").read_text("utf-8")
