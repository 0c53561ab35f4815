"""Scheduled prompts and time boxes across real processes: killed, restarted, or run twice.

Each test drives `cercle console --script -` child processes on a simulated clock, one line at
a time. The database is the truth for what is due: a process started after another was killed
rebuilds its wake-ups from it, posts what is overdue but still useful, drops what is stale, and
never repeats what was already posted. Two processes on one SQLite file claim each prompt row
before posting it, so exactly one of them posts it.

Every wait has a timeout (a reader thread per child feeds a queue); nothing sleeps for a fixed
time. To know that a child has finished with some lines, the test sends a marker line (`sync: N`,
plain conversation that the bot echoes and ignores) and reads up to its echo.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import Console

PLANNED = "2026-12-03T13:00:00+00:00"  # when the séance is planned
PLAN = "anim: /seance planifier 2026-12-10 14:00 | Déléguer | Que déléguer ?"  # 13:00 UTC

# What each prompt of séance 1 says (circle language fr, zone Europe/Paris).
PREPARATION = (
    "[cercle] Pour préparer la séance 1 (jeudi 10 décembre 2026 à 14:00), "
    "une question : Que déléguer ?"
)
DAY_BEFORE = (
    "[cercle] Rappel : séance 1 demain, jeudi 10 décembre 2026 à 14:00 — sujet : Déléguer. "
    "Empêché·e ? Tapez /excuse 1."
)
RSVP_HINT = "[cercle] Serez-vous là à la séance 1 (jeudi 10 décembre 2026 à 14:00) ?"
RSVP_LINES = [  # the RSVP question, a message kept up to date (printed again when it changes)
    RSVP_HINT,
    "         Répondez /presence oui, non ou peut-etre.",
    "         Réponses — oui : 0 · peut-être : 0 · non : 0",
]
SOON = (
    "[cercle] La séance 1 commence dans 15 minutes, à 14:00 — sujet : Déléguer. "
    "Empêché·e ? Tapez /excuse 1."
)
START = (
    "[cercle] C'est l'heure de la séance 1 — sujet : Déléguer ! "
    "Animation : ouvrez-la avec /seance. "
    "Participant·es : la séance commence, signalez-vous avec /present."
)
FOLLOW_UP = "[cercle] Suivi de la séance 1 : aucune action ouverte."

# A recognisable part of each prompt, to count variants of the wording too.
MARKS = {
    "preparation": "Pour préparer la séance 1",
    "day_before": "Rappel : séance 1 demain",
    "soon": "La séance 1 commence dans",
    "start": "C'est l'heure de la séance 1",
    "follow_up": "Suivi de la séance 1",
}

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


Consoles = Callable[..., Console]


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[Consoles]:
    """Starts consoles (each with its own stderr log); whatever happens, none outlives the test.

    `consoles(at)` uses the data dir `tmp_path/data`; `consoles(at, data_dir=...)` another."""
    started: list[Console] = []

    def start(at: str, *, data_dir: Path | None = None, wait: bool = True) -> Console:
        log = tmp_path / f"stderr-{len(started) + 1}.log"
        console = Console(data_dir or tmp_path / "data", at, log, wait=wait)
        started.append(console)
        return console

    yield start
    for console in started:
        console.ensure_dead()


def count(transcripts: Iterable[list[str]], text: str) -> int:
    """How many output lines, over all the transcripts, contain `text`."""
    return sum(text in line for lines in transcripts for line in lines)


def prompt_counts(*consoles: Console) -> dict[str, int]:
    transcripts = [c.transcript for c in consoles]
    return {kind: count(transcripts, mark) for kind, mark in MARKS.items()}


def prompt_rows(data_dir: Path) -> dict[str, tuple[str | None, str | None]]:
    """The prompt table: kind → (sent_at, dropped_at)."""
    uri = (data_dir / "cercle.sqlite3").resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute("SELECT kind, sent_at, dropped_at FROM prompt ORDER BY id").fetchall()
    return {kind: (sent, dropped) for kind, sent, dropped in rows}


def assert_clean(*consoles: Console) -> None:
    for console in consoles:
        errors = console.log.read_text("utf-8")
        assert "Traceback" not in errors, errors
        assert " ERROR " not in errors, errors
        assert " WARNING " not in errors, errors


def plan(consoles: Consoles, **kwargs: Path) -> Console:
    """A circle with séance 1 planned for 2026-12-10 14:00 Paris (13:00 UTC)."""
    first = consoles(PLANNED, **kwargs)
    first.run("anim: /cercle creer Test")
    out = first.run(PLAN)
    assert out == [
        PLAN,
        "[cercle] Séance 1 planifiée le jeudi 10 décembre 2026 à 14:00 (heure de Paris).",
        "[cercle] Sujet : Déléguer",
        "[cercle] Question de préparation, envoyée 3 jours avant : Que déléguer ?",
    ]
    return first


def test_prompts_are_posted_once_across_two_kills(tmp_path: Path, consoles: Consoles) -> None:
    first = plan(consoles)
    first.kill()

    # Restarted just before the preparation question (due 2026-12-07 13:00 UTC).
    second = consoles("2026-12-06T12:00:00+00:00")
    assert second.startup == []
    assert second.run(":clock +24h") == []  # 2026-12-07 12:00 (directives are not echoed)
    assert second.run(":clock +59m59s") == []  # 12:59:59, a second early
    assert second.run(":clock +1s") == [PREPARATION]  # 2026-12-07 13:00
    assert second.run(":clock +24h") == []  # 2026-12-08 13:00: the reminder is a day later
    assert second.run(":clock +24h") == [DAY_BEFORE, *RSVP_LINES]  # 2026-12-09 13:00
    second.kill()

    # Restarted after the day-before reminder: it is not posted again.
    third = consoles("2026-12-09T13:30:00+00:00")
    assert third.startup == []
    assert third.run(":clock +23h14m59s") == []  # 2026-12-10 12:44:59
    assert third.run(":clock +1s") == [SOON]  # 12:45
    assert third.run(":clock +14m59s") == []
    assert third.run(":clock +1s") == [START]  # 13:00, the planned time
    assert third.run(":clock +1h") == []
    assert third.stop() == 0

    counts = prompt_counts(first, second, third)
    assert counts == {"preparation": 1, "day_before": 1, "soon": 1, "start": 1, "follow_up": 0}
    rows = prompt_rows(tmp_path / "data")
    assert rows["preparation"] == ("2026-12-07 13:00:00.000000", None)
    assert rows["day_before"] == ("2026-12-09 13:00:00.000000", None)
    assert rows["soon"] == ("2026-12-10 12:45:00.000000", None)
    assert rows["start"] == ("2026-12-10 13:00:00.000000", None)
    assert rows["follow_up"] == (None, None)  # 2026-12-17: still pending
    assert_clean(first, second, third)


def test_downtime_across_the_start_drops_reminders_and_still_says_it_starts(
    tmp_path: Path, consoles: Consoles
) -> None:
    plan(consoles).kill()

    # Down until ten minutes after the planned start (13:00 UTC).
    second = consoles("2026-12-10T13:10:00+00:00")
    assert second.startup == [START]
    assert second.run(":clock +1h") == []
    assert second.stop() == 0

    assert prompt_counts(second) == {
        "preparation": 0,
        "day_before": 0,
        "soon": 0,
        "start": 1,
        "follow_up": 0,
    }
    rows = prompt_rows(tmp_path / "data")
    dropped = (None, "2026-12-10 13:10:00.000000")
    assert rows == {
        "preparation": dropped,
        "day_before": dropped,
        "soon": dropped,
        "start": ("2026-12-10 13:10:00.000000", None),
        "follow_up": (None, None),
    }
    assert_clean(second)


def test_a_turn_time_box_survives_a_kill_mid_turn(consoles: Consoles) -> None:
    first = consoles(PLANNED)
    first.run(
        "anim: /cercle creer Test",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
    )
    out = first.run("anim: /seance phase suivante")  # météo: a round of 2-minute turns
    assert "[cercle] anim, vous avez la parole (2 min 00 s)." in out
    assert first.run(":clock +50s") == []
    first.kill()

    second = consoles("2026-12-03T13:00:50+00:00")
    assert second.startup == []
    assert second.run(":clock +45s") == []  # 13:01:35, a second before 80 % of 2 minutes
    out = second.run(":clock +1s")
    assert out == [
        "[cercle → anim] Il vous reste 24 s de temps de parole.",
        "[statut] Séance 1 — Test — Météo (tour de table) · reste 13 min 24 s",
        "         Parole : anim (1 min 36 s) · reste 24 s",
        "         Tour : 1. alice, 2. bob",
    ]
    out = second.run(":clock +23s")
    assert out == []
    out = second.run(":clock +1s")  # 13:02:00
    assert out == [
        "[cercle] Temps écoulé pour anim (2 min 00 s).",
        "[cercle] alice, vous avez la parole (2 min 00 s).",
        "[statut] Séance 1 — Test — Météo (tour de table) · reste 13 min 00 s",
        "         Parole : alice (0 s) · reste 2 min 00 s",
        "         Tour : 1. bob",
    ]
    assert second.stop() == 0

    transcripts = [first.transcript, second.transcript]
    assert count(transcripts, "Il vous reste") == 1
    assert count(transcripts, "Temps écoulé") == 1
    assert_clean(first, second)


def test_two_processes_on_one_database_post_each_prompt_once(
    tmp_path: Path, consoles: Consoles
) -> None:
    for attempt in range(3):
        data_dir = tmp_path / f"data-{attempt}"
        planner = plan(consoles, data_dir=data_dir)
        assert planner.stop() == 0

        at = "2026-12-03T13:05:00+00:00"
        pair = [consoles(at, data_dir=data_dir, wait=False) for _ in range(2)]
        for console in pair:
            assert console.ready() == []
        # Both at once: 2026-12-11 21:05 (every prompt but the follow-up), then 2026-12-20 05:05.
        for console in pair:
            console.send(":clock +200h")
        for console in pair:
            console.sync()
        for console in pair:
            console.send(":clock +200h")
        for console in pair:
            console.sync()
        for console in pair:
            assert console.stop() == 0

        counts = prompt_counts(*pair)
        assert counts == dict.fromkeys(MARKS, 1), (attempt, counts)
        lines = [line for console in pair for line in console.transcript]
        for text in (PREPARATION, DAY_BEFORE, RSVP_HINT, SOON, START, FOLLOW_UP):
            assert lines.count(text) == 1, (attempt, text)
        rows = prompt_rows(data_dir)
        assert all(sent is not None and dropped is None for sent, dropped in rows.values())
        assert len(rows) == 5
        assert_clean(planner, *pair)


def test_two_processes_share_a_busy_schedule(tmp_path: Path, consoles: Consoles) -> None:
    """Eight séances, forty prompts (some due at the same instant), two processes racing for each
    one: each prompt is posted by exactly one of them."""
    data_dir = tmp_path / "busy"
    planner = consoles(PLANNED, data_dir=data_dir)
    planner.run("anim: /cercle creer Test")
    for day in range(10, 18):
        out = planner.run(f"anim: /seance planifier 2026-12-{day} 14:00 | Sujet {day} | Q{day} ?")
        assert out[1].startswith(f"[cercle] Séance {day - 9} planifiée le "), out
    assert planner.stop() == 0

    pair = [consoles("2026-12-03T13:05:00+00:00", data_dir=data_dir, wait=False) for _ in "ab"]
    for console in pair:
        assert console.ready() == []
    # In lock-step, 6 hours at a time up to 2026-12-28 13:05 (after the last follow-up, 12-24):
    # both get each step before either is waited for, each first in turn.
    for step in range(100):
        for console in pair if step % 2 else pair[::-1]:
            console.send(":clock +6h")
        for console in pair:
            console.sync()
    for console in pair:
        assert console.stop() == 0

    transcripts = [console.transcript for console in pair]
    for number in range(1, 9):
        for mark in (
            f"Pour préparer la séance {number} (",
            f"Rappel : séance {number} demain,",
            f"La séance {number} commence dans 15 minutes,",
            f"C'est l'heure de la séance {number} —",
            f"Suivi de la séance {number} :",
            f"Serez-vous là à la séance {number} (",
        ):
            assert count(transcripts, mark) == 1, mark
    assert count(transcripts, "[cercle]") == 48
    uri = (data_dir / "cercle.sqlite3").resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        states = db.execute(
            "SELECT count(*), count(sent_at), count(dropped_at) FROM prompt"
        ).fetchone()
    assert states == (40, 40, 0)
    assert_clean(planner, *pair)


def test_two_processes_restarting_after_downtime_say_it_starts_once(
    tmp_path: Path, consoles: Consoles
) -> None:
    """Both rebuild their wake-ups at 13:10 and fire what is overdue at once, racing."""
    for attempt in range(2):
        data_dir = tmp_path / f"data-{attempt}"
        planner = plan(consoles, data_dir=data_dir)
        assert planner.stop() == 0

        pair = [consoles("2026-12-10T13:10:00+00:00", data_dir=data_dir, wait=False) for _ in "ab"]
        startups = sorted((console.ready() for console in pair), key=len)
        assert startups == [[], [START]], attempt
        for console in pair:
            assert console.stop() == 0

        dropped = (None, "2026-12-10 13:10:00.000000")
        assert prompt_rows(data_dir) == {
            "preparation": dropped,
            "day_before": dropped,
            "soon": dropped,
            "start": ("2026-12-10 13:10:00.000000", None),
            "follow_up": (None, None),
        }, attempt
        assert_clean(planner, *pair)
