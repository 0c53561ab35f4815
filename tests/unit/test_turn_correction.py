"""Facilitators correct a turn's length (a forgotten /fini) before the recap is published, and
every figure (the published recap, /bilan, the JSON export) follows the correction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.effects import FilePost, RecapPost
from bot.handlers.recap_correction import parse_length
from tests.conversation import Chat

FR = {
    "create": "/cercle creer Atelier",
    "approval": "/cercle approbation oui",
    "help": "/aide",
    "open": "/seance",
    "floor": "/seance phase libre",
    "turn": "/tour",
    "done": "/fini",
    "next": "/suivant",
    "end": "/seance fin",
    "correct": "/recap duree",
    "publish": "/recap publier",
    "export": "/export json",
    "report": "/bilan",
}
EN = {
    "create": "/circle create Workshop",
    "approval": "/circle approval yes",
    "help": "/help",
    "open": "/session",
    "floor": "/session phase open",
    "turn": "/turn",
    "done": "/done",
    "next": "/next",
    "end": "/session end",
    "correct": "/recap duration",
    "publish": "/recap publish",
    "export": "/export json",
    "report": "/report",
}
SPEAKING = {"fr": "### Temps de parole", "en": "### Speaking time"}


def _recap(chat: Chat) -> RecapPost:
    (post,) = [e for e in chat.last if isinstance(e, RecapPost)]
    return post


def _speaking_lines(markdown: str, lang: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index(SPEAKING[lang]) + 1
    return [line for line in lines[start:] if line.startswith("- ")][:3]


async def _forgotten_fini(chat: Chat, c: dict[str, str]) -> None:
    """Alice speaks 2 minutes and forgets /fini; 20 minutes later the facilitator gives the
    floor to Bob (3 minutes), then Alice speaks again for 1 minute. Carla never speaks."""
    await chat.script(f"anim: {c['create']}", f"anim: {c['approval']}")
    for name in ("alice", "bob", "carla"):
        await chat.say(name, c["help"])
    await chat.script(f"anim: {c['open']}", f"anim: {c['floor']}", f"alice: {c['turn']}")
    await chat.wait(seconds=120)
    await chat.say("bob", c["turn"])
    await chat.wait(minutes=20)
    await chat.say("anim", c["next"])
    await chat.wait(minutes=3)
    await chat.say("bob", c["done"])
    await chat.say("alice", c["turn"])
    await chat.wait(minutes=1)
    await chat.say("alice", c["done"])


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_forgotten_fini_is_corrected_before_the_recap_is_published(
    chat: Chat, lang: str
) -> None:
    c = FR if lang == "fr" else EN
    await _forgotten_fini(chat, c)
    await chat.say("anim", c["help"])
    usage = "/recap duree <@membre> <minutes> [n]" if lang == "fr" else "/recap duration <@member>"
    assert usage in chat.text
    await chat.say("alice", c["help"])
    assert "/recap dur" not in chat.text  # facilitators only
    await chat.say("anim", f"{c['correct']} @alice 4 1")
    assert chat.refused == "recap.correct_not_closed"  # the séance is still running
    await chat.say("anim", c["end"])
    draft = _recap(chat)
    assert draft.private
    assert _speaking_lines(draft.markdown, lang)[0].startswith(
        "- alice : 23 min 00 s (2 tours)" if lang == "fr" else "- alice: 23 min 00 s (2 turns)"
    )

    await chat.say("alice", f"{c['correct']} @alice 4 1")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("anim", f"{c['correct']} @carla 4")
    assert chat.refused == "recap.correct_no_turn"
    await chat.say("anim", f"{c['correct']} @alice 4")  # two turns: which one?
    assert chat.refused == "recap.correct_which"
    assert "1 (22 min 00 s), 2 (1 min 00 s)" in chat.private_to("anim")[0]
    await chat.say("anim", f"{c['correct']} @alice 4 3")
    assert chat.refused == "recap.correct_no_such_turn"
    for absurd in ("-4", "0", "600"):  # the séance lasted 26 minutes
        await chat.say("anim", f"{c['correct']} @alice {absurd} 1")
        assert chat.refused == "recap.correct_absurd", absurd
    await chat.say("anim", f"{c['correct']} @alice quatre 1")
    assert chat.refused == "recap.correct_bad_length"

    await chat.say("anim", f"{c['correct']} @alice 4 1")
    assert chat.refused is None
    assert chat.private_to("anim") == [
        "Durée corrigée : alice a parlé 4 min 00 s (au lieu de 22 min 00 s) pendant la séance 1."
        " Voici le récapitulatif mis à jour ; /recap publier le publie."
        if lang == "fr"
        else "Length corrected: alice spoke for 4 min 00 s (instead of 22 min 00 s) in session 1."
        " Here is the updated recap; /recap publish posts it."
    ]
    draft = _recap(chat)
    assert draft.private
    assert draft.to is not None
    assert "- alice" in _speaking_lines(draft.markdown, lang)[0]
    assert "5 min 00 s" in _speaking_lines(draft.markdown, lang)[0]

    await chat.say("anim", c["publish"])
    published = _recap(chat)
    assert not published.private
    speaking = _speaking_lines(published.markdown, lang)
    if lang == "fr":
        assert speaking[:2] == ["- alice : 5 min 00 s (2 tours)", "- bob : 3 min 00 s (1 tour)"]
        assert (
            "Durée corrigée par anim pour alice : 22 min 00 s enregistrées, 4 min 00 s retenues."
            in published.markdown
        )
        assert "Part équitable (participant·es présent·es) : 4 min 00 s" in published.markdown
    else:
        assert speaking[:2] == ["- alice: 5 min 00 s (2 turns)", "- bob: 3 min 00 s (1 turn)"]
        assert (
            "Length corrected by anim for alice: 22 min 00 s recorded, 4 min 00 s kept."
            in published.markdown
        )
    await chat.say("anim", f"{c['correct']} @alice 3 1")
    assert chat.refused == "recap.already_published"  # figures others have read stay put

    await chat.say("anim", c["export"])
    (file,) = [e for e in chat.last if isinstance(e, FilePost)]
    turns: list[dict[str, Any]] = json.loads(file.content)["seances"][0]["turns"]
    assert [(t["name"], t["duration_s"]) for t in turns] == [
        ("alice", 240.0),
        ("bob", 180.0),
        ("alice", 60.0),
    ]
    assert turns[0]["corrected"] == {
        "by": "console:anim",
        "name": "anim",
        "at": "2026-12-03T13:26:00+00:00",
    }
    assert turns[0]["end"] == "2026-12-03T13:22:00+00:00"  # what was recorded is kept
    assert turns[1]["corrected"] is None

    await chat.say("anim", c["report"])
    (bilan,) = chat.private_to("anim") or chat.texts
    assert "5 min 00 s" in bilan  # alice's corrected time, not 23 minutes
    # the equity figure follows: a Gini of 0.12 for 5 and 3 minutes (0.38 uncorrected)
    assert ("Par séance : S1 0,12" if lang == "fr" else "Session by session: S1 0.12") in bilan


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("4", 240), ("4,5", 270), ("4.5", 270), ("4min", 240), ("4:30", 270), ("-4", -240)],
)
def test_a_length_is_read_in_minutes(typed: str, seconds: int) -> None:
    length = parse_length(typed)
    assert length is not None
    assert length.total_seconds() == seconds


@pytest.mark.parametrize("typed", ["quatre", "4h", "4:75", "", "1e3"])
def test_what_is_not_a_length_is_refused(typed: str) -> None:
    assert parse_length(typed) is None
