"""An effect numbered with its outbox id is the very effect `dataclasses.replace` would make."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.refs import ChannelRef, UserRef
from bot.effects import (
    Answer,
    ChartImage,
    Effect,
    FilePost,
    FloorSpeaker,
    LiveView,
    Moment,
    PollEnd,
    PollPost,
    RecapPost,
    Reply,
    StatusView,
)
from bot.outbox import with_outbox_id

ROOM = ChannelRef("matrix", "!r")
ANA = UserRef("matrix", "@ana")
WHEN = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

EFFECTS: list[Effect] = [
    Reply(ROOM, "Bonjour", to=ANA, mentions=(ANA,), moments=(Moment("lundi", WHEN),)),
    Reply(ROOM, "Choisir", answers=(Answer("/presence", 1, "oui"),)),
    StatusView(ROOM, 3, "$s", "Séance 1", closed=True, lang="en"),
    RecapPost(ROOM, 3, "# Récap", chart=ChartImage(b"\x89PNG", "un graphique", "x.png")),
    FilePost(ROOM, "export.json", "application/json", b"{}", "Export", ANA, True, True),
    FloorSpeaker(ROOM, "voice", ANA, keep=(ANA,)),
    PollPost(ROOM, 1, "Quel cas ?", ((1, "un"), (2, "deux")), closes_at=WHEN),
    PollEnd(ROOM, "$poll", "fini"),
    LiveView(ROOM, "topic_vote", 3, 1, None, "Prolonger ?", answers=("yes", "no"), round=7),
]


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda e: type(e).__name__)
def test_numbering_copies_every_field(effect: Effect) -> None:
    numbered = with_outbox_id(effect, 42)
    assert numbered == dataclasses.replace(effect, outbox_id=42)
    assert type(numbered) is type(effect)
    assert numbered.outbox_id == 42
    assert effect.outbox_id is None  # the original is left as it was
    with pytest.raises(dataclasses.FrozenInstanceError):
        numbered.outbox_id = 1  # type: ignore[misc]


def test_a_class_with_its_own_post_init_goes_through_replace() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        text: str
        outbox_id: int | None = None
        calls: list[str] = dataclasses.field(default_factory=list, compare=False)

        def __post_init__(self) -> None:
            self.calls.append(self.text)

    numbered: Any = with_outbox_id(Checked("x"), 7)  # type: ignore[arg-type]
    assert numbered == Checked("x", 7)
    assert numbered.calls == ["x", "x"]  # __post_init__ ran again
