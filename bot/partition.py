"""Which circles an instance looks after, when several instances share one database.

Each circle lives at a *home*: the bot account its channel is reached through (`discord`,
`matrix:@cercle:example.org`, `console:local`) and, on Discord, the server id that decides its
shard. An instance is given shares of that work (the Matrix accounts it logs in with, the Discord
shards it runs) and posts the prompts and runs the time boxes of those circles only. Commands
need no filter: a platform only delivers them to the instance connected to their channel.

The database claim on each prompt stays the guard against double posting, even while a share
moves from one instance to another. Circles stored before homes were recorded have none: the
first instance to start with a share of their platform adopts them (see CercleCore.start).
"""

from __future__ import annotations

from dataclasses import dataclass

# Discord puts a server on shard (server id >> 22) % shard count.
DISCORD_SHARD_SHIFT = 22


def shard_of(shard_key: int | None, shard_count: int) -> int:
    return ((shard_key or 0) >> DISCORD_SHARD_SHIFT) % shard_count


def platform_of(home: str) -> str:
    return home.partition(":")[0]


@dataclass(frozen=True, slots=True)
class Share:
    """The circles of one home; on a sharded platform, only those of `shard_ids`."""

    home: str
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def platform(self) -> str:
        return platform_of(self.home)

    @property
    def sharded(self) -> bool:
        return self.shard_count is not None and self.shard_ids is not None

    def owns(self, home: str | None, shard_key: int | None, channel_platform: str) -> bool:
        if home != self.home:
            return False
        if self.shard_count is None or self.shard_ids is None:
            return True
        return shard_of(shard_key, self.shard_count) in self.shard_ids


@dataclass(frozen=True, slots=True)
class Partition:
    """The shares of one instance; no shares at all means the whole database (one instance)."""

    shares: tuple[Share, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.shares

    def adoptive_homes(self) -> list[Share]:
        """The shares that take in circles stored before homes were recorded: the only share
        of its platform in this partition (an older Cercle ran one instance per database)."""
        platforms = [s.platform for s in self.shares]
        return [s for s in self.shares if platforms.count(s.platform) == 1]

    def owns(self, home: str | None, shard_key: int | None, channel_platform: str) -> bool:
        return self.everything or any(
            s.owns(home, shard_key, channel_platform) for s in self.shares
        )


EVERYTHING = Partition()


def _describe(share: Share) -> str:
    if share.shard_count is None or share.shard_ids is None:
        return share.home
    shards = ", ".join(str(i) for i in share.shard_ids)
    return f"{share.home} (shards {shards} of {share.shard_count})"


def describe(partition: Partition) -> str:
    """The partition in a few words, for logs and `cercle instances`."""
    if partition.everything:
        return "everything"
    return "; ".join(_describe(s) for s in partition.shares)


def overlaps(mine: Partition, theirs: Partition) -> list[str]:
    """What two instances would both look after (a mistake, or a hand-over in progress): one
    line each. Different shard counts for one home are reported too: shards would not match."""
    if mine.everything or theirs.everything:
        return ["everything"]
    found: list[str] = []
    for a in mine.shares:
        for b in theirs.shares:
            if a.home != b.home:
                continue
            if not a.sharded or not b.sharded:
                found.append(a.home)
            elif a.shard_count != b.shard_count:
                found.append(f"{a.home}: {a.shard_count} shards here, {b.shard_count} there")
            elif common := sorted(set(a.shard_ids or ()) & set(b.shard_ids or ())):
                found.append(f"{a.home} shards {', '.join(map(str, common))}")
    return found


def shards_nobody_runs(partitions: list[Partition]) -> dict[str, list[int]]:
    """For each sharded home, the shards no instance runs (commands there get no answer)."""
    counts: dict[str, int] = {}
    running: dict[str, set[int]] = {}
    for partition in partitions:
        for share in partition.shares:
            if share.shard_count is not None and share.shard_ids is not None:
                counts[share.home] = max(counts.get(share.home, 0), share.shard_count)
                running.setdefault(share.home, set()).update(share.shard_ids)
    return {
        home: missing
        for home, count in counts.items()
        if (missing := [i for i in range(count) if i not in running[home]])
    }
