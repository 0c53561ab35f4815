"""/bilan: attendance over the cycle, who is drifting away, speaking equity, actions."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from bot.domain.circle import Circle
from bot.domain.refs import ChannelRef
from bot.domain.roles import Role
from bot.domain.seance import AttendanceStatus, SeanceTrail
from bot.effects import FilePost, Reply
from bot.recaps.report import drift_alerts
from tests.conversation import START, Chat, user

# Seconds each participant speaks in each séance (bob drifts away after séance 2; carla is
# there every time and never speaks).
CYCLE = [
    {"alice": 60, "bob": 120, "dan": 60},
    {"alice": 90, "bob": 30, "dan": 60},
    {"alice": 120, "dan": 60},
    {"alice": 60, "dan": 90},
]


async def seance(chat: Chat, speaking: dict[str, int]) -> None:
    await chat.say("anim", "/seance")
    for name in ("alice", "carla", "dan", *(["bob"] if "bob" in speaking else [])):
        await chat.say(name, "/present")
    await chat.say("anim", "/seance phase suivante")
    for name, seconds in speaking.items():
        await chat.say(name, "/tour")
        await chat.wait(seconds=seconds)
        await chat.say(name, "/fini")


async def run_cycle(chat: Chat) -> list[list[str]]:
    """Four séances, a week apart; returns the facilitator's private notes after each."""
    await chat.say("anim", "/cercle creer Cercle ESS")
    await chat.say("anim", "/cercle protocole libre")
    for name in ("alice", "bob", "carla", "dan"):
        await chat.say(name, "/aide")
    notes = []
    for number, speaking in enumerate(CYCLE, start=1):
        await seance(chat, speaking)
        if number == 1:
            await chat.say("alice", "/action @bob Envoyer le document échéance 2026-12-10")
            await chat.say("alice", "/action Préparer le budget")
            await chat.say("dan", "/action Relire la charte")
        if number == 2:
            await chat.say("alice", "/action fait 2")
        await chat.say("anim", "/seance fin")
        notes.append(chat.private_to("anim"))
        await chat.wait(days=7)
    return notes


def gini_by_hand(values: list[float]) -> float:
    """Mean absolute difference over all pairs, over twice the mean."""
    n, mean = len(values), sum(values) / len(values)
    return sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)


async def test_the_cycle_report_flags_who_drifts_away_and_measures_equity(chat: Chat) -> None:
    notes = await run_cycle(chat)
    # The facilitator hears about carla once she has been silent twice, about bob once he has
    # missed two séances; nobody is flagged before.
    assert notes[0] == []
    assert notes[1] == [
        "Note pour l'animation (vous seul·es la voyez) :\n"
        "- carla n'a pas pris la parole lors de ses 2 dernières présences.\n"
        "C'est peut-être le moment de les appeler. Le détail : /bilan."
    ]
    assert "bob" not in notes[2][0]
    assert "carla n'a pas pris la parole lors de ses 3" in notes[2][0]
    assert "- bob a manqué les 2 dernières séances." in notes[3][0]
    assert "- carla n'a pas pris la parole lors de ses 4 dernières présences." in notes[3][0]

    await chat.say("alice", "/bilan")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("anim", "/bilan")
    (reply,) = [e for e in chat.last if isinstance(e, Reply)]
    assert reply.private
    assert reply.confidential
    assert reply.to == user("anim")
    text = reply.text
    assert text.startswith("## Bilan du cycle — Cercle ESS\n4 séances tenues, de la n° 1")
    grid = text.split("```")[1].splitlines()[1:]
    assert [re.sub(r"\s+", " ", row).strip() for row in grid] == [
        "S1 S2 S3 S4 présences",
        "anim (animation) P P P P 4/4",
        "alice P P P P 4/4",
        "bob P P A A 2/4",
        "carla P P P P 4/4",
        "dan P P P P 4/4",
    ]
    alerts = text.split("### À appeler (visible par l'animation seulement)\n", 1)[1]
    assert alerts.split("\n\n", 1)[0].splitlines() == [
        "- bob a manqué les 2 dernières séances.",
        "- carla n'a pas pris la parole lors de ses 4 dernières présences.",
    ]

    # Equity: the séance figures and the cycle's, against a hand computation.
    # Participants present at each séance: carla always (silent), bob only in the first two.
    per_seance = [
        gini_by_hand(
            [float(s.get(n, 0)) for n in ("alice", "carla", "dan", *s.keys() - {"alice", "dan"})]
        )
        for s in CYCLE
    ]
    assert per_seance == pytest.approx([0.375, 5 / 12, 4 / 9, 0.4])
    totals = [330.0, 150.0, 0.0, 270.0]  # alice, bob, carla, dan
    assert gini_by_hand(totals) == pytest.approx(0.37)
    assert "Indice de Gini du cycle : 0,37 (0 = parole" in text
    assert "Par séance : S1 0,38 · S2 0,42 · S3 0,44 · S4 0,40" in text
    table = [re.sub(r"\s+", " ", row).strip() for row in text.split("```")[3].splitlines()[1:]]
    assert table == [
        "temps part tours % tours séances",
        "alice 5 min 30 s 44 % 4 40 % 4",
        "dan 4 min 30 s 36 % 4 40 % 4",
        "bob 2 min 30 s 20 % 2 20 % 2",
        "carla 0 s 0 % 0 0 % 4",
    ]

    # Actions: open, done, overdue, per owner.
    assert "3 action(s)" not in text
    assert "2 ouvertes, dont 1 en retard ; 1 faite." in text
    assert (
        "- bob (1 ouverte, 0 faite) : #1 Envoyer le document — en retard "
        "(échéance : jeudi 10 décembre 2026)"
    ) in text
    assert "- alice (0 ouverte, 1 faite) : #2 Préparer le budget — faite" in text
    assert "- dan (1 ouverte, 0 faite) : #3 Relire la charte" in text

    # The chart: a PNG for the facilitator alone, described in words.
    (chart,) = [e for e in chat.last if isinstance(e, FilePost)]
    assert chart.to == user("anim")
    assert chart.private
    assert chart.confidential
    assert chart.filename == "bilan-cercle-ess.png"
    assert chart.media_type == "image/png"
    with Image.open(io.BytesIO(chart.content)) as image:
        assert image.format == "PNG"
        assert 600 <= image.width <= 1600
        assert 300 <= image.height <= 2000
    assert re.sub(r"\s", " ", chart.caption) == (
        "Graphique du bilan. Part de chaque participant·e dans le temps de parole du cycle : "
        "alice 44 % ; dan 36 % ; bob 20 % ; carla 0 %. "
        "Indice de Gini par séance : S1 0,38 ; S2 0,42 ; S3 0,44 ; S4 0,40."
    )


async def test_the_report_in_english_before_any_seance(chat: Chat) -> None:
    await chat.say("anim", "/cercle creer Circle")
    await chat.say("anim", "/circle language en")
    await chat.say("anim", "/report")
    assert chat.private_to("anim") == [
        "## Cycle report — Circle\nNo session has ended yet (0 to come)."
    ]


def test_gini_and_the_daily_retention_instant() -> None:
    from datetime import UTC, datetime

    from bot.recaps.equity import gini
    from bot.timing.retention import next_run

    assert gini([]) is None
    assert gini([0.0, 0.0]) is None  # nobody spoke: no figure rather than a misleading one
    assert gini([5.0]) == 0.0
    assert gini([3.0, 3.0, 3.0]) == 0.0
    assert gini([0.0, 0.0, 10.0]) == pytest.approx(gini_by_hand([0.0, 0.0, 10.0]))
    assert gini([0.0, 0.0, 10.0]) == pytest.approx(2 / 3)
    at = datetime(2026, 3, 29, 2, 59, tzinfo=UTC)  # the night clocks change in Paris
    assert next_run(at) == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    assert next_run(next_run(at)) == datetime(2026, 3, 30, 3, 0, tzinfo=UTC)


def test_silence_is_counted_only_where_the_person_was() -> None:
    """Absent, present and silent, absent: one silent séance, not "silent in the last three"."""
    circle = Circle(id=1, name="c", channel=ChannelRef("console", "c"), created_at=START)
    chloe, ali = user("chloe"), user("ali")
    for person in (chloe, ali):
        circle.add_member(person, person.id, Role.PARTICIPANT, START)
    absent, present = AttendanceStatus.ABSENT, AttendanceStatus.PRESENT
    marks = [
        {chloe: absent, ali: present},
        {chloe: present, ali: present},
        {chloe: absent, ali: present},
    ]
    trails = [SeanceTrail(n, m, frozenset()) for n, m in enumerate(marks, start=1)]
    alerts = drift_alerts(circle, trails, lambda u: u.id)
    assert [(a.name, a.kind, a.count) for a in alerts] == [("ali", "silent", 3)]
