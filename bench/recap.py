"""Benchmark of the recap: a 3-hour séance with 2,000 turns and 200 notes.

Run with no arguments from the repository root:

    .venv/bin/python bench/recap.py

It builds the séance in memory (10 people, a check-in round then three hours of open floor,
2,000 turns, 200 notes, 20 actions and decisions, check-in words), then measures, each as the
median of several runs:

- `recap_ms`: the recap model built from the séance (`build_recap`), worded once, and laid out
  as Markdown, HTML and the Discord embed: everything a recap post needs but the picture;
- `chart_ms`: the speaking-time chart drawn as a PNG (matplotlib, Agg), once matplotlib is
  loaded; `chart_first_ms` is the first drawing in the process and `import_ms` the loading of
  matplotlib, both paid once per process.

The last line printed is one JSON object with the figures, for scripts and CI.
Goals: recap_ms <= 50, chart_ms <= 500. Options: --turns, --notes, --runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.circle import Circle  # noqa: E402
from bot.domain.items import Item, ItemKind  # noqa: E402
from bot.domain.protocol import PhaseMode  # noqa: E402
from bot.domain.refs import ChannelRef, UserRef  # noqa: E402
from bot.domain.roles import Role  # noqa: E402
from bot.domain.seance import (  # noqa: E402
    AttendanceStatus,
    CheckIn,
    PhaseRun,
    Seance,
    SeanceStatus,
    Turn,
    TurnOutcome,
)
from bot.i18n.catalog import CatalogTranslator  # noqa: E402
from bot.recaps.embed import embed_of  # noqa: E402
from bot.recaps.html import html_of  # noqa: E402
from bot.recaps.model import build_recap, chart_alt, markdown_of, recap_text  # noqa: E402
from bot.recaps.posting import speaking_figure  # noqa: E402

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
LENGTH = timedelta(hours=3)
NAMES = ("Camille", "Dominique", "Ali", "Béa", "Chloé", "Dan", "Eva", "Farid", "Gaëlle", "Hugo")
GOALS = {"recap_ms": 50.0, "chart_ms": 500.0}


def build(turns: int, notes: int) -> tuple[Circle, Seance, list[Item]]:
    circle = Circle(1, "Dirigeant·es ESS", ChannelRef("bench", "salon"), START)
    people = [UserRef("bench", name.casefold()) for name in NAMES]
    for i, (user, name) in enumerate(zip(people, NAMES, strict=True)):
        circle.add_member(user, name, Role.FACILITATOR if i < 2 else Role.PARTICIPANT, START)
    seance = Seance(id=1, circle_id=1, number=3, protocol="meteo", status=SeanceStatus.CLOSED)
    seance.opened_at = START
    seance.closed_at = START + LENGTH
    checkin_end = START + timedelta(minutes=15)
    seance.phases = [
        PhaseRun(0, "meteo", PhaseMode.ROUND, START, timedelta(minutes=15), ended_at=checkin_end),
        PhaseRun(1, "libre", PhaseMode.QUEUE, checkin_end, timedelta(hours=2, minutes=45)),
    ]
    seance.phases[1].ended_at = seance.closed_at
    step = (LENGTH - timedelta(minutes=15)) / turns
    at = checkin_end
    for seq in range(1, turns + 1):
        user = people[(seq * 7) % len(people)]
        length = step * (0.4 + (seq % 5) * 0.15)
        outcome = TurnOutcome.PASSED if seq % 23 == 0 else TurnOutcome.FINISHED
        seance.turns.append(Turn(seq, user, 1, at, at + length, outcome=outcome))
        at += step
    for i, user in enumerate(people):
        absent = i == 9
        seance.attendance[user] = AttendanceStatus.ABSENT if absent else AttendanceStatus.PRESENT
        if i % 2 == 0:
            seance.checkins[user] = CheckIn(["calme", "fatigué·e", "plein d'élan"][i % 3], START)
    items = []
    for n in range(1, notes + 21):
        kind = ItemKind.NOTE if n <= notes else (ItemKind.ACTION if n % 2 else ItemKind.DECISION)
        items.append(
            Item(
                circle_id=1,
                number=n,
                kind=kind,
                text=f"Élément {n} : déléguer commence par dire ce qu'on ne fera plus soi-même",
                author=people[n % len(people)],
                created_at=START + timedelta(minutes=n % 180),
                seance_id=1,
                owner=people[(n + 3) % len(people)] if kind is ItemKind.ACTION else None,
            )
        )
    return circle, seance, items


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    tr = CatalogTranslator()
    circle, seance, items = build(args.turns, args.notes)
    seances = [seance]
    lang, tz = "fr", "Europe/Paris"

    def recap_once() -> tuple[int, int]:
        recap = build_recap(circle, seance, items, seances)
        text = recap_text(recap, tr, lang, tz)
        markdown, html = markdown_of(text), html_of(text)
        embed_of(text, tr.text(lang, "recap.more"))
        chart_alt(recap, tr, lang)
        return len(markdown), len(html)

    recap_once()  # warm the catalogs and Babel's locale data
    recap_samples = []
    for _ in range(args.runs):
        began = time.perf_counter()
        markdown_chars, html_chars = recap_once()
        recap_samples.append(time.perf_counter() - began)

    recap = build_recap(circle, seance, items, seances)
    figure = speaking_figure(recap, tr, lang)
    assert figure is not None
    began = time.perf_counter()
    from bot.recaps.chart import bar_chart

    import_s = time.perf_counter() - began
    began = time.perf_counter()
    png = bar_chart(figure)
    first_s = time.perf_counter() - began
    chart_samples = []
    for _ in range(max(3, args.runs // 3)):
        began = time.perf_counter()
        png = bar_chart(figure)
        chart_samples.append(time.perf_counter() - began)

    result: dict[str, Any] = {
        "bench": "recap",
        "turns": len(seance.turns),
        "notes": sum(1 for i in items if i.kind is ItemKind.NOTE),
        "items": len(items),
        "people": len(circle.members),
        "markdown_chars": markdown_chars,
        "html_chars": html_chars,
        "png_bytes": len(png),
        "recap_ms": median_ms(recap_samples),
        "recap_max_ms": round(max(recap_samples) * 1000, 2),
        "chart_ms": median_ms(chart_samples),
        "chart_first_ms": round(first_s * 1000, 2),
        "import_ms": round(import_s * 1000, 2),
        "runs": args.runs,
        "python": platform.python_version(),
        "goals": GOALS,
    }
    result["ok"] = all(result[k] <= v for k, v in GOALS.items())
    print(
        f"recap of {result['turns']} turns and {result['notes']} notes: "
        f"{result['recap_ms']} ms (Markdown {markdown_chars} chars, HTML {html_chars} chars); "
        f"chart: {result['chart_ms']} ms ({len(png)} bytes), first {result['chart_first_ms']} ms, "
        f"matplotlib import {result['import_ms']} ms"
    )
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
