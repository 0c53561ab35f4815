"""The whole app through the console adapter, as a newcomer would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cercle(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd or ROOT,
    )


def test_demo_plays_a_whole_seance_and_prints_the_recap() -> None:
    result = cercle("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[cercle] Cercle « Dirigeant·es ESS » créé." in out
    assert "[cercle] Phase : Météo (15 minutes)." in out
    assert "[cercle] eva est là (7 personnes présentes)." in out
    assert "[cercle] Temps écoulé pour chloe (2 min 00 s)." in out
    assert "## Récapitulatif — Dirigeant·es ESS, séance 1/1" in out
    recap = out.split("## Récapitulatif", 1)[1]
    assert "- Présent·es (7) : camille, dominique, ali, bea, chloe, dan, eva" in recap
    assert "- chloe : 6 min 00 s (2 tours)" in recap
    assert "- #3 Préparer une page sur la situation de mon équipe — responsable : bea" in recap
    assert "Traceback" not in result.stderr


def test_demo_in_english() -> None:
    result = cercle("demo", "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "## Recap — Dirigeant·es ESS, session 1/1" in result.stdout
    assert "Thursday 3 December 2026 at 14:00" in result.stdout


def test_script_keeps_everything_in_sqlite_and_exports_it(tmp_path: Path) -> None:
    script = tmp_path / "seance.txt"
    script.write_text(
        "\n".join(
            [
                "# a short séance",
                "anim: /cercle creer Essai",
                "anim: /cercle protocole libre",
                "anim: /seance",
                "alice: /present",
                "alice: /tour",
                ":clock +75s",
                "alice: /fini",
                "alice: bonjour à toutes et à tous",
                "anim: /note Une idée à garder",
                "anim: /seance fin",
            ]
        ),
        "utf-8",
    )
    data = tmp_path / "data"
    run = cercle(
        "--data-dir",
        str(data),
        "console",
        "--script",
        str(script),
        "--start",
        "2026-12-03T13:00:00+00:00",
        "--quiet-status",
    )
    assert run.returncode == 0, run.stderr
    assert "[cercle] alice a terminé (1 min 15 s)." in run.stdout
    assert (data / "cercle.sqlite3").exists()
    export = cercle("--data-dir", str(data), "export", "--format", "json", "--circle", "Essai")
    assert export.returncode == 0, export.stderr
    circle = json.loads(export.stdout)["circles"][0]
    seance = circle["seances"][0]
    assert seance["status"] == "closed"
    assert [(t["name"], t["duration_s"]) for t in seance["turns"]] == [("alice", 75.0)]
    assert seance["turns"][0]["start"] == "2026-12-03T13:00:00+00:00"
    assert seance["attendance"] == {"console:alice": "present", "console:anim": "present"}
    assert [i["text"] for i in circle["items"]] == ["Une idée à garder"]
    assert "bonjour" not in export.stdout  # what people say is never stored


def test_export_of_an_unknown_circle_says_so(tmp_path: Path) -> None:
    result = cercle("--data-dir", str(tmp_path), "export", "--circle", "Nope")
    assert result.returncode == 1
    assert "no circle named 'Nope'" in result.stderr


def test_unreadable_script_is_exit_1_bad_lines_are_reported(tmp_path: Path) -> None:
    missing = cercle("--data-dir", str(tmp_path), "console", "--script", str(tmp_path / "no.txt"))
    assert missing.returncode == 1
    script = tmp_path / "bad.txt"
    script.write_text("this line has no colon\n:clock soon\nanim: /aide\n", "utf-8")
    run = cercle("--data-dir", str(tmp_path), "console", "--script", str(script))
    assert run.returncode == 0
    assert "[script, line 1] expected 'name: text'" in run.stdout
    assert "[script, line 2] not a duration" in run.stdout
    assert "Commandes de Cercle" in run.stdout


def test_the_console_writes_published_recaps_and_exports_them_as_markdown(tmp_path: Path) -> None:
    script = tmp_path / "seance.txt"
    script.write_text(
        "\n".join(
            [
                "anim: /cercle creer Essai",
                "anim: /cercle protocole libre",
                "anim: /seance",
                "alice: /present",
                "alice: /tour",
                ":clock +75s",
                "alice: /fini",
                "anim: /note Une idée à garder",
                "anim: /seance fin",
            ]
        ),
        "utf-8",
    )
    data = tmp_path / "data"
    run = cercle(
        "--data-dir",
        str(data),
        "console",
        "--script",
        str(script),
        "--start",
        "2026-12-03T13:00:00+00:00",
        "--quiet-status",
    )
    assert run.returncode == 0, run.stderr
    assert "[graphique] Graphique du temps de parole par personne, séance 1" in run.stdout
    markdown = (data / "recaps" / "recap-essai-1.md").read_text("utf-8")
    assert markdown.startswith("## Récapitulatif — Essai, séance 1/1\n")
    assert "- alice : 1 min 15 s (1 tour)" in markdown
    assert "![Graphique du temps de parole" in markdown
    assert markdown.rstrip().endswith("(recap-essai-1.png)")
    png = (data / "recaps" / "recap-essai-1.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    export = cercle("--data-dir", str(data), "export", "--format", "md", "--circle", "Essai")
    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith("# Essai — récapitulatifs des séances\n")
    assert "- #1 Une idée à garder" in export.stdout
