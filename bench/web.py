"""Benchmark of the circles' web pages: 1,000 circles, pages and calendars served over HTTP.

Run with no arguments from the repository root:

    .venv/bin/python bench/web.py

It builds a throw-away, migrated SQLite database, creates the circles through the core's own
commands (each with five members, one séance held with turns, a check-in word, a decision and
two actions, then two séances planned), and serves the pages with aiohttp on 127.0.0.1. Then it
asks, one request at a time over a kept-alive connection, for random circles' pages through
their members' links, and measures each whole HTTP round trip:

- `page`: a member's circle page (the next séance, the plan, the recap as HTML, actions) and,
  one request in four, a facilitator's (with the plan form);
- `calendar_page`: the calendar page with the subscription URLs;
- `ics`: the calendar file a subscribed calendar fetches;
- `report`: a facilitator's bilan page;
- `rsvp`: a member answering the presence form (`/presence` through the core, a write) and
  the page the answer redirects to: two round trips, POST then GET.

Charts are separate images drawn once and kept (they are not part of these numbers).
The last line printed is one JSON object with the figures. Goals: page p99 <= 50 ms and ics
p99 <= 20 ms. Options: --circles, --requests, --seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from adapters.console.adapter import resolve_mention  # noqa: E402
from adapters.web.app import create_app  # noqa: E402
from adapters.web.server import HttpServer  # noqa: E402
from bot.app import CercleCore  # noqa: E402
from bot.domain.refs import ChannelRef, UserRef  # noqa: E402
from bot.effects import Effect  # noqa: E402
from bot.events import CommandEvent  # noqa: E402
from bot.pages.links import LinkIssuer, LinkSigner, grant_for  # noqa: E402
from bot.timing.clock import ManualClock  # noqa: E402
from storage.database import Database, sqlite_url  # noqa: E402

START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
GOALS = {"page_p99_ms": 50.0, "ics_p99_ms": 20.0}
PEOPLE = ("anim", "alice", "bob", "carla", "dan")


def percentile(sorted_ns: list[int], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    rank = max(1, min(len(sorted_ns), round(share * len(sorted_ns) + 0.5)))
    return sorted_ns[rank - 1] / 1e6


def summary(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 2),
        "p90_ms": round(percentile(ordered, 0.90), 2),
        "p99_ms": round(percentile(ordered, 0.99), 2),
        "max_ms": round(ordered[-1] / 1e6, 2),
    }


async def populate(core: CercleCore, clock: ManualClock, i: int) -> None:
    channel = ChannelRef("console", f"cercle-{i}")

    async def say(name: str, text: str) -> None:
        event = CommandEvent(
            channel,
            UserRef("console", name),
            name,
            text,
            resolve_user=resolve_mention,
            home="console:local",
        )
        outcome = await core.handle(event)
        if outcome.refused:
            raise RuntimeError(f"circle {i}: {text!r} refused: {outcome.refused}")

    await say("anim", f"/cercle creer Cercle {i}")
    for name in PEOPLE[1:]:
        await say(name, "/aide")
    await say("anim", "/seance")
    await say("alice", "/present")
    await say("bob", "/present")
    await say("carla", "/present")
    await say("anim", "/seance phase suivante")
    await say("anim", "/passe")
    await say("alice", "/tour sereine")
    clock.advance(timedelta(seconds=80))
    await say("alice", "/fini")
    clock.advance(timedelta(seconds=40))
    await say("bob", "/fini")
    clock.advance(timedelta(seconds=60))
    await say("carla", "/fini")
    await say("anim", "/seance phase suivante")
    await say("bob", "/tour")
    clock.advance(timedelta(seconds=120))
    await say("bob", "/fini")
    await say("anim", "/decision On garde le jeudi")
    await say("bob", "/action @alice Appeler la fédération échéance 2027-01-15")
    await say("carla", "/action Relire les statuts")
    await say("anim", "/seance fin")
    await say("anim", "/seance planifier 2026-12-17 14:00 | Déléguer | Que lâcher ?")
    await say("anim", "/seance planifier 2027-01-07 14:00 | Bilan")
    await say("alice", "/presence oui")  # the page shows who is coming
    await say("bob", "/presence peut-etre")
    await say("dan", "/presence non")


async def tokens(core: CercleCore, database: Database, count: int) -> list[tuple[str, str]]:
    """(facilitator's token, participant's token) per circle."""
    assert core.links is not None
    signer, now = core.links.signer, core.clock.now()
    out = []
    async with database() as uow:
        for i in range(count):
            circle = await uow.circles.by_channel(ChannelRef("console", f"cercle-{i}"))
            assert circle is not None
            anim = circle.member(UserRef("console", "anim"))
            alice = circle.member(UserRef("console", "alice"))
            assert anim is not None
            assert alice is not None
            out.append(
                (
                    signer.sign(grant_for(circle, anim, now)),
                    signer.sign(grant_for(circle, alice, now)),
                )
            )
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="cercle-bench-web-") as tmp:
        database = Database(sqlite_url(Path(tmp) / "bench.sqlite3"))
        await database.upgrade()
        clock = ManualClock(START)
        issuer = LinkIssuer(LinkSigner(os.urandom(32)), "http://127.0.0.1")
        core = CercleCore(database, clock, links=issuer)
        t0 = time.perf_counter()
        for i in range(args.circles):
            await populate(core, clock, i)
        setup_s = time.perf_counter() - t0
        print(f"setup: {args.circles} circles in {setup_s:.1f} s", flush=True)
        pairs = await tokens(core, database, args.circles)

        async def deliver(effects: list[Effect]) -> None:
            return None

        server = HttpServer(create_app(core, deliver), "127.0.0.1", 0)
        await server.start()
        base = f"http://127.0.0.1:{server.port}"
        samples: dict[str, list[int]] = {
            "page": [],
            "calendar_page": [],
            "ics": [],
            "report": [],
            "rsvp": [],
        }
        assert core.pages is not None
        form_key = core.pages.signer.form_key
        checked = False
        try:
            async with aiohttp.ClientSession() as session:

                async def fetch(kind: str, path: str, record: bool) -> None:
                    began = time.perf_counter_ns()
                    async with session.get(base + path) as answer:
                        body = await answer.read()
                    spent = time.perf_counter_ns() - began
                    if answer.status != 200 or not body:
                        raise RuntimeError(f"{kind}: {answer.status}")
                    if record:
                        samples[kind].append(spent)

                async def rsvp(token: str, value: str) -> None:
                    form = {"form_key": form_key(token), "action": "rsvp"}
                    form |= {"number": "2", "answer": value}
                    began = time.perf_counter_ns()
                    async with session.post(
                        f"{base}/c/{token}", data=form, headers={"Origin": "http://127.0.0.1"}
                    ) as reply:  # follows the redirect to the page
                        body = await reply.text()
                    spent = time.perf_counter_ns() - began
                    if reply.status != 200 or 'role="status"' not in body:
                        raise RuntimeError(f"rsvp: {reply.status}")
                    samples["rsvp"].append(spent)

                for warm in range(50):  # templates compiled, caches warm
                    anim, alice = pairs[warm % len(pairs)]
                    await fetch("page", f"/c/{alice}", record=False)
                for _ in range(args.requests):
                    anim, alice = pairs[rng.randrange(len(pairs))]
                    roll = rng.random()
                    if roll < 0.45:
                        await fetch("page", f"/c/{alice}", record=True)
                    elif roll < 0.6:
                        await fetch("page", f"/c/{anim}", record=True)
                    elif roll < 0.7:
                        await fetch("calendar_page", f"/c/{alice}/calendrier", record=True)
                    elif roll < 0.85:
                        await fetch("ics", f"/c/{alice}/calendar.ics", record=True)
                    elif roll < 0.95:
                        await fetch("report", f"/c/{anim}/bilan", record=True)
                    else:
                        await rsvp(alice, rng.choice(("yes", "no", "maybe")))
                    if not checked:
                        async with session.get(f"{base}/c/{alice}") as answer:
                            text = await answer.text()
                        assert "Récapitulatif" in text, "the page shows no recap"
                        assert "Qui vient ?" in text, "the page shows nobody coming"
                        checked = True
        finally:
            await server.close()
            await database.close()
    figures = {kind: summary(values) for kind, values in samples.items() if values}
    result: dict[str, Any] = {
        "bench": "web",
        "circles": args.circles,
        "requests": args.requests,
        "setup_s": round(setup_s, 1),
        **{f"{kind}_{k}": v for kind, s in figures.items() for k, v in s.items() if k != "count"},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    result["goals_met"] = all(result[name] <= goal for name, goal in GOALS.items())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--circles", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    result = asyncio.run(run(parser.parse_args()))
    for kind in ("page", "calendar_page", "ics", "report", "rsvp"):
        if f"{kind}_p50_ms" in result:
            print(
                f"{kind:14} p50 {result[f'{kind}_p50_ms']:7.2f} ms   "
                f"p90 {result[f'{kind}_p90_ms']:7.2f} ms   p99 {result[f'{kind}_p99_ms']:7.2f} ms"
                f"   max {result[f'{kind}_max_ms']:7.2f} ms"
            )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
