"""`cercle db migrate-sqlite-to-postgres`: a circle network moves from SQLite to PostgreSQL.

The data is made by the real `cercle console` (the demo séance, a second circle, a planned
séance with its prompts, someone forgotten with /oubli), exported in every format before the
move from SQLite and after it from PostgreSQL: the exports must be the same. A second copy is
refused and changes nothing; new circles and séances on PostgreSQL get fresh ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import ROOT, run_cercle
from tests.conftest import PostgresServer

START = "2026-12-03T13:00:00+00:00"
MORE = """
:salon sud
ana: /cercle creer Cercle Sud
ana: /cercle langue en
ana: /seance planifier 2027-01-14 10:00 | Budget | What would you cut?
ana: /seance
ben: /present
ana: /seance phase suivante
:clock +2m
ana: /fini
ben: /note un partenariat possible
ana: /seance fin
ben: /oubli
ben: /oubli confirmer
"""


def exports(*options: str, env: dict[str, str] | None = None) -> dict[str, str]:
    found = {}
    for fmt, circle in (("json", None), ("md", None), ("ics", "Cercle Sud")):
        args = [*options, "export", "--format", fmt]
        if circle:
            args += ["--circle", circle]
        done = run_cercle(*args, env=env)
        assert done.returncode == 0, done.stderr
        # the calendar's stamp is the instant of the export; the rest must not change
        found[fmt] = "\n".join(
            line for line in done.stdout.splitlines() if not line.startswith("DTSTAMP:")
        )
    return found


def test_a_network_moves_to_postgres_and_exports_the_same(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    data = tmp_path / "data"
    script = tmp_path / "script.txt"
    demo = (ROOT / "bot" / "demo" / "meteo.txt").read_text("utf-8")
    script.write_text(demo + MORE, "utf-8")
    made = run_cercle("--data-dir", str(data), "console", "--script", str(script), "--start", START)
    assert made.returncode == 0, made.stderr
    assert "[script" not in made.stdout, made.stdout
    before = exports("--data-dir", str(data))
    assert "Dirigeant·es ESS" in before["json"]
    assert "un partenariat possible" not in before["json"]  # forgotten with /oubli
    assert "BEGIN:VEVENT" in before["ics"]

    url = postgres.create_database(template=None)  # empty: the command migrates it
    config = tmp_path / "cercle.toml"
    config.write_text('[cercle]\ndatabase_url_env = "CERCLE_DATABASE_URL"\n', "utf-8")
    env = {"CERCLE_DATABASE_URL": url}
    on_postgres = ("--config", str(config), "--data-dir", str(data))
    moved = run_cercle(*on_postgres, "db", "migrate-sqlite-to-postgres", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "circle: 2" in moved.stdout.splitlines()
    assert moved.stdout.splitlines()[-1].startswith("copied ")

    assert exports(*on_postgres, env=env) == before

    # A second copy is refused: the target already holds circles; nothing changes.
    again = run_cercle(*on_postgres, "db", "migrate-sqlite-to-postgres", env=env)
    assert again.returncode == 1
    assert "already holds 2 circle(s)" in again.stderr
    assert exports(*on_postgres, env=env) == before

    # Life goes on on PostgreSQL: a new circle and séance get ids after the copied ones.
    script.write_text(
        ":salon est\nzoe: /cercle creer Cercle Est\n"
        "zoe: /seance planifier 2027-02-04 09:00 | Recruter\n",
        "utf-8",
    )
    later = run_cercle(*on_postgres, "console", "--script", str(script), "--start", START, env=env)
    assert later.returncode == 0, later.stderr
    assert "Cercle « Cercle Est » créé" in later.stdout
    assert "Séance 1 planifiée" in later.stdout
    after = json.loads(exports(*on_postgres, env=env)["json"])["circles"]
    assert after[:2] == json.loads(before["json"])["circles"]
    assert after[2]["circle"]["name"] == "Cercle Est"
    assert [s["number"] for s in after[2]["seances"]] == [1]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-sqlite", "no SQLite database at"),
        ("no-url", "set cercle.database_url_env"),
    ],
)
def test_a_move_without_its_two_ends_is_refused(tmp_path: Path, setup: str, message: str) -> None:
    data = tmp_path / "data"
    args = ["--data-dir", str(data)]
    if setup == "no-url":
        data.mkdir()
        (data / "cercle.sqlite3").write_bytes(b"")
    done = run_cercle(*args, "db", "migrate-sqlite-to-postgres")
    assert done.returncode in (1, 2)
    assert message in done.stderr
