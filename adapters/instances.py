"""Instances checking in with each other: warnings for a share run twice or not at all.

A running instance (`cercle run`) records itself in the database at start and every minute
(storage/registry.py). Each time, it compares its share of the work with the other live
instances': two instances with the same Matrix account or Discord shard would both answer the
same commands; a Discord shard that no instance runs gets no answer at all. What it finds goes
to the log (when it changes) and `cercle instances` prints it for operators.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.partition import Partition, describe, overlaps, shards_nobody_runs
from storage.registry import Instance

log = logging.getLogger(__name__)


def problems(name: str, mine: Partition, others: list[Instance], now: datetime) -> list[str]:
    """What is wrong in how the work is shared out, seen from instance `name`."""
    live = [o for o in others if o.live(now)]
    found = []
    for other in live:
        for what in overlaps(mine, other.partition):
            seen = int((now - other.seen_at).total_seconds())
            found.append(
                f"{what}: also run by instance {other.name} (seen {seen} s ago); if it was "
                "just stopped, this goes away within 3 minutes, else one of them is "
                "configured wrong"
            )
    for home, shards in shards_nobody_runs([mine, *(o.partition for o in live)]).items():
        found.append(f"{home}: no running instance has shards {', '.join(map(str, shards))}")
    return found


class CheckIn:
    """What one instance logs about the others, once per change."""

    def __init__(self, name: str, partition: Partition) -> None:
        self.name = name
        self.partition = partition
        self._said: list[str] = []

    def note(self, others: list[Instance], now: datetime) -> list[str]:
        found = problems(self.name, self.partition, others, now)
        if found != self._said:
            for line in found:
                log.warning("sharing out the work: %s", line)
            if not found and self._said:
                log.info("sharing out the work: no problem left")
            self._said = found
        return found


def table(instances: list[Instance], now: datetime) -> list[str]:
    """`cercle instances`: one line per instance on record, then what is wrong, if anything."""
    lines = []
    for inst in instances:
        ago = int((now - inst.seen_at).total_seconds())
        state = "running" if inst.live(now) else f"not seen for {ago // 60} min"
        lines.append(
            f"{inst.name}  {state}  started {inst.started_at:%Y-%m-%d %H:%M} UTC  "
            f"{describe(inst.partition)}"
        )
    live = [i for i in instances if i.live(now)]
    warnings = [
        f"warning: {what}: run by both {a.name} and {b.name}"
        for n, a in enumerate(live)
        for b in live[n + 1 :]
        for what in overlaps(a.partition, b.partition)
    ]
    for home, shards in shards_nobody_runs([i.partition for i in live]).items():
        warnings.append(
            f"warning: {home}: no running instance has shards {', '.join(map(str, shards))}"
        )
    if not live:
        warnings.append("no instance is running")
    return lines + (warnings or ["every share is run by one instance"])
