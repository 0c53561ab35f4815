"""`/bilan` leaves single-speaker phases out of the fair share and shows them apart, as the
recap does: a case holder is not "over their share" for holding the exposé."""

from __future__ import annotations

import re

from tests.conversation import Chat


async def hold_a_codev_seance(chat: Chat, holder: str) -> None:
    await chat.script(
        f"anim: /seance cas @{holder}",
        "anim: /seance phase suivante",  # retour: a round everybody passes
        "anim: /passe",
        "alice: /passe",
        "bob: /passe",
        "anim: /seance phase suivante",  # exposé: the holder alone
    )
    await chat.wait(minutes=8)
    await chat.script(f"{holder}: /fini", "anim: /seance phase suivante", "alice: /tour")
    await chat.wait(minutes=2)
    await chat.script("alice: /fini", "bob: /tour")
    await chat.wait(minutes=1)
    await chat.script("bob: /fini", "anim: /seance fin")


async def test_the_cycle_report_counts_single_speaker_phases_apart(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole codev",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
    )
    await hold_a_codev_seance(chat, "bob")
    await chat.wait(days=7)
    await chat.script("anim: /seance", "alice: /present", "bob: /present")
    await hold_a_codev_seance(chat, "alice")
    await chat.say("anim", "/bilan")
    text = chat.text
    table = [re.sub(r"\s+", " ", row).strip() for row in text.split("```")[3].splitlines()[1:]]
    assert table == [
        "temps part tours % tours séances",
        "alice 4 min 00 s 67 % 2 50 % 2",
        "bob 2 min 00 s 33 % 2 50 % 2",
    ]
    single = text.split("### Phases à une voix (hors part équitable)\n", 1)[1]
    assert single.split("\n\n", 1)[0].splitlines() == [
        "- alice : 8 min 00 s (1 tour)",
        "- bob : 8 min 00 s (1 tour)",
    ]
    # The recap of the last séance words the same figures the same way.
    recap = chat.recaps()[-1]
    assert "### Phases à une voix (hors part équitable)\n- alice : 8 min 00 s (1 tour)" in recap
