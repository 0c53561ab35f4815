"""A whole cycle in the console, with the cast of the workshop in `seed/`: two facilitators,
five participants, four séances, two drop-outs, a late arrival, a séance opened by itself that
nobody joins, a forgotten /fini. Checked through what people see and through the JSON export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.test_console import cercle

SCRIPT = """
# sign-up: the roster is open, every first command joins, even a refused one
dominique: /cercle creer Atelier d'échange
dominique: /cercle animateur @camille
ali: /present
bea: /actions
chloe: /actions
dan: /actions
eva: /actions
camille: /actions
dominique: /cercle inscriptions fermees
zoe: /present
# planning: a day just passed is refused with the likely reading
dominique: /cercle protocole libre
dominique: /cercle rappels ouverture auto
dominique: /seance planifier 01/12 14h
dominique: /seance cycle 4 7j 10/12 14h
dominique: /seance
# séance 1: opened by itself; chloe arrives late
:clock +7d
ali: /present
bea: /present
dan: /present
eva: /present
camille: /present
dominique: /present
ali: /tour
:clock +3m
ali: /fini
chloe: /present
bea: /tour
:clock +2m
bea: /fini
eva: /action relancer le conseil, échéance vendredi.
dominique: /seance fin
# séance 2: chloe forgets /fini, nobody closes the séance
:clock +7d
ali: /present
bea: /present
chloe: /present
eva: /present
chloe: /tour
:clock +4h
# two drop-outs, after séance 2
dominique: /cercle depart @dan
dominique: /cercle depart @eva
# séance 3: opened by itself, nobody comes
:clock +7d
# séance 4
:clock +6d19h55m
ali: /present
bea: /present
chloe: /present
bea: /tour
:clock +2m
ali: /fini
bea: /fini
dominique: /seance fin
dominique: /actions
dominique: /bilan
"""


def test_a_whole_cycle_facilitators_can_trust(tmp_path: Path) -> None:
    script = tmp_path / "cycle.txt"
    script.write_text(SCRIPT, "utf-8")
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
    out = run.stdout
    assert "Traceback" not in run.stderr
    assert "mal passé" not in out
    # Nobody is lost on the way in; closing the roster shows who is in.
    assert (
        "[cercle → ali] Aucune séance n'est ouverte. Un animateur ou une animatrice l'ouvre "
        "avec /seance.\n               Vous faites maintenant partie du cercle." in out
    )
    assert "[cercle → zoe] Inscriptions fermées" in out
    assert (
        "Inscriptions fermées : seuls les membres actuels peuvent participer. "
        "Membres (7) : dominique, camille, ali, bea, chloe, dan, eva." in out
    )
    # Dates: a day just passed is refused with the likely reading.
    assert "Le mardi 1 décembre 2026 à 14:00 est déjà passé. Pour 2027, écrivez 01/12/2027." in out
    # The right séance: /seance a week early does not open séance 1.
    assert "La séance 1 est planifiée le jeudi 10 décembre 2026 à 14:00, pas maintenant." in out
    # Participants are told the séance starts; the forgotten /fini gets a private nudge.
    assert (
        "[cercle] Séance 1 du cercle « Atelier d'échange » ouverte. Signalez-vous avec /present."
        in out
    )
    assert "[cercle] chloe est là (7 personnes présentes)." in out
    assert "[cercle → chloe] Vous avez la parole depuis 5 minutes." in out
    # The séance nobody joined is not held.
    assert "Séance 3 fermée sans personne" in out
    # /fini after the floor moved on, the due date in words left the text.
    assert "[cercle → ali] Ce n'est pas vous qui a" in out
    assert "n° 1 — relancer le conseil (eva, échéance : vendredi 11 décembre 2026)" in out
    assert "2 séances tenues" not in out
    assert "3 séances tenues, de la n° 1 à la n° 4" in out

    export = cercle("--data-dir", str(data), "export", "--format", "json")
    assert export.returncode == 0, export.stderr
    circle: dict[str, Any] = json.loads(export.stdout)["circles"][0]
    members = {m["name"]: m for m in circle["members"]}
    assert "zoe" not in members
    assert members["dan"]["left_at"] is not None
    assert members["eva"]["left_at"] is not None
    assert members["ali"]["left_at"] is None
    seances = {s["number"]: s for s in circle["seances"]}
    assert [seances[n]["status"] for n in (1, 2, 3, 4)] == [
        "closed",
        "closed",
        "not_held",
        "closed",
    ]
    # chloe came late to séance 1 and is present; co-facilitators are never "absent"
    assert seances[1]["attendance"]["console:chloe"] == "present"
    # séance 2 ended at its planned end (libre: two hours), not when it was auto-closed
    assert seances[2]["closed_at"] == "2026-12-17T15:00:00+00:00"
    assert seances[2]["turns"][-1]["end"] == "2026-12-17T15:00:00+00:00"
    assert seances[2]["attendance"]["console:dan"] == "absent"
    assert seances[3]["attendance"] == {}
    # the drop-outs are no longer expected; history is kept
    assert "console:dan" not in seances[4]["attendance"]
    assert "console:eva" not in seances[4]["attendance"]
    assert "console:camille" not in seances[4]["attendance"]
    assert seances[1]["attendance"]["console:eva"] == "present"
    (action,) = [i for i in circle["items"] if i["kind"] == "action"]
    assert action["text"] == "relancer le conseil"
    assert action["due"] == "2026-12-11"
