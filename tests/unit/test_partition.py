"""How work is shared out between instances: who owns a circle, overlaps, shards nobody runs."""

from __future__ import annotations

from bot.partition import (
    EVERYTHING,
    Partition,
    Share,
    describe,
    overlaps,
    shard_of,
    shards_nobody_runs,
)

A = Share("matrix:@cercle-a:example.org")
B = Share("matrix:@cercle-b:example.org")


def discord(*shards: int, count: int = 4) -> Share:
    return Share("discord", count, shards)


def test_a_server_is_on_the_shard_discord_puts_it_on() -> None:
    assert shard_of(41771983423143937, 4) == (41771983423143937 >> 22) % 4
    assert [shard_of(n << 22, 3) for n in range(6)] == [0, 1, 2, 0, 1, 2]
    assert shard_of(None, 3) == 0  # not yet known: the first shard's


def test_a_circle_belongs_to_the_share_of_its_home_and_shard() -> None:
    mine = Partition((A, discord(1, 3)))
    assert mine.owns(A.home, None, "matrix")
    assert not mine.owns(B.home, None, "matrix")
    assert mine.owns("discord", 3 << 22, "discord")
    assert not mine.owns("discord", 2 << 22, "discord")
    assert not mine.owns(None, None, "matrix")  # no home yet: adopted at start, not guessed
    assert EVERYTHING.owns(None, None, "console")


def test_overlaps_name_what_two_instances_would_both_run() -> None:
    assert overlaps(Partition((A, discord(0, 1))), Partition((B, discord(2, 3)))) == []
    assert overlaps(Partition((A,)), Partition((A, B))) == [A.home]
    assert overlaps(Partition((discord(0, 1),)), Partition((discord(1, 2),))) == [
        "discord shards 1"
    ]
    assert overlaps(Partition((discord(0),)), Partition((discord(0, count=8),))) == [
        "discord: 4 shards here, 8 there"
    ]
    assert overlaps(Partition((Share("discord"),)), Partition((discord(3),))) == ["discord"]
    assert overlaps(EVERYTHING, Partition((A,))) == ["everything"]


def test_shards_nobody_runs_are_found_across_instances() -> None:
    instances = [Partition((discord(0),)), Partition((discord(2), A))]
    assert shards_nobody_runs(instances) == {"discord": [1, 3]}
    assert shards_nobody_runs([*instances, Partition((discord(1, 3),))]) == {}
    assert shards_nobody_runs([Partition((A, Share("discord")))]) == {}


def test_a_partition_is_described_in_a_few_words() -> None:
    assert describe(EVERYTHING) == "everything"
    assert describe(Partition((A, discord(0, 2)))) == (
        "matrix:@cercle-a:example.org; discord (shards 0, 2 of 4)"
    )
