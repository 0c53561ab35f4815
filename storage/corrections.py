"""Turn corrections as rows: kept apart from the turn rows, which the diff on commit never
rewrites once closed, and compared as a whole on commit (a séance has few of them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.refs import UserRef
from bot.domain.seance import Seance, TurnCorrection
from storage.mapping import Row


def correction_rows(seance: Seance) -> dict[Any, Row]:
    return {
        t.seq: {
            "seance_id": seance.id,
            "seq": t.seq,
            "length_s": t.corrected.length.total_seconds(),
            "corrected_by": t.corrected.by.key,
            "corrected_at": t.corrected.at,
        }
        for t in seance.turns
        if t.corrected is not None
    }


def apply_corrections(seance: Seance, rows: list[Row]) -> None:
    by_seq = {r["seq"]: r for r in rows}
    for turn in seance.turns:
        row = by_seq.get(turn.seq)
        if row is not None:
            turn.corrected = TurnCorrection(
                timedelta(seconds=row["length_s"]),
                UserRef.from_key(row["corrected_by"]),
                row["corrected_at"],
            )
