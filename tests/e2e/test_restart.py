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

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import ROOT, TIMEOUT, Console

START = "2026-12-03T13:00:00+00:00"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


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
    first.messages(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "carol: /present",
    )
    out = first.messages("anim: /seance phase suivante")
    assert "[cercle] anim, vous avez la parole (2 min 00 s)." in out
    first.messages(":clock +50s")
    out = first.messages(
        "anim: /seance phase suivante",  # anim's round turn ends: 50 s spoken
        "bob: /tour",  # 13:00:50, bob has the floor
        "anim: /tour",  # queued first, but has spoken already
        ":clock +40s",
    )
    assert "[cercle] bob, vous avez la parole." in out
    assert "[cercle → anim] C'est noté : vous êtes n° 1 dans la file." in out
    # The last command, at 13:01:30: the bot has answered, so it is committed.
    out = first.messages("carol: /tour")
    assert out[:2] == ["carol: /tour", "[cercle → carol] C'est noté : vous êtes n° 1 dans la file."]
    assert out[2] == (  # anim, moved back by the fair queue, is told why
        "[cercle → anim] carol passe avant vous : la file donne la priorité à qui a moins parlé "
        "pendant cette séance. Vous êtes maintenant n° 2."
    )
    assert out[3].endswith("Parole : bob (40 s)\nFile : 1. carol, 2. anim")
    first.kill()

    second = consoles("2026-12-03T13:01:30+00:00")
    out = second.messages("anim: /file")
    status = (
        "Séance 1 — Test — Parole libre (parole libre) · reste 59 min 20 s\n"
        "Parole : bob (40 s)\n"
        "File : 1. carol, 2. anim"
    )
    assert out == ["anim: /file", f"[cercle → anim] {status}", f"[statut] {status}"]

    assert second.messages(":clock +30s") == []
    out = second.messages("bob: /fini")
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
    first.messages(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "anim: /seance phase suivante",  # météo: 2-minute round turns
        ":clock +30s",
    )
    out = first.messages("anim: /fini")
    assert "[cercle] alice, vous avez la parole (2 min 00 s)." in out
    assert first.messages(":clock +50s") == []
    out = first.messages("dave: /present")  # a late arrival at T+50s joins the round
    assert out[:2] == ["dave: /present", "[cercle] dave est là (4 personnes présentes)."]
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
    out = second.messages("anim: /file")
    assert out[1] == (
        "[cercle → anim] Séance 1 — Test — Météo (tour de table) · reste 13 min 40 s\n"
        "Parole : alice (50 s) · reste 1 min 10 s\n"
        "Tour : 1. bob, 2. dave"
    )
    out = second.messages(":clock +46s")  # T+96s: 80 % of 2 minutes
    assert out[0] == "[cercle → alice] Il vous reste 24 s de temps de parole."
    assert "Parole : alice (1 min 36 s) · reste 24 s" in out[1]
    assert len(out) == 2
    out = second.messages(":clock +24s")  # T+120s
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
    assert second.messages(":clock +45s") == []
    assert "Parole : alice (1 min 35 s) · reste 25 s" in second.messages("anim: /file")[1]
    out = second.messages(":clock +1s")
    assert out[0] == "[cercle → alice] Il vous reste 24 s de temps de parole."
    # Killed again after the warning: it is not given twice, and the turn ends at T+120s.
    second.kill()

    third = consoles("2026-12-03T13:02:06+00:00")  # T+96s
    assert third.messages(":clock +23s") == []
    assert "Parole : alice (1 min 59 s) · reste 1 s" in third.messages("anim: /file")[1]
    out = third.messages(":clock +1s")
    assert out[:2] == [
        "[cercle] Temps écoulé pour alice (2 min 00 s).",
        "[cercle] bob, vous avez la parole (2 min 00 s).",
    ]
    assert not any("Il vous reste" in line for line in third.transcript)
    assert third.stop() == 0

    assert turns_of(export(tmp_path / "data")) == ROUND_TURNS
    assert "Traceback" not in (tmp_path / "stderr.log").read_text("utf-8")
