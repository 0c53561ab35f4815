"""A vote on the next case closes at its time (once, by the clock), or earlier by a facilitator;
a closed vote, a past closing time and a stranger's vote are refused and change nothing."""

from __future__ import annotations

from bot.domain.case_vote import close_key
from tests.conversation import Chat

# The Chat clock starts on Thursday 3 December 2026, 13:00 UTC (14:00 in Paris).


def votes_said(chat: Chat) -> list[str]:
    return [t for t in chat.public() if "vote" in t]


async def propose_three(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "alice: /aide",
        "bob: /aide",
        "chloe: /aide",
        "anim: /seance planifier 2026-12-10 14:00",
        "alice: /cas proposer Déléguer la compta",
        "bob: /cas proposer Un salarié qui décroche",
        "chloe: /cas proposer Parler argent",
    )


async def test_a_vote_closes_by_itself_at_its_time_and_says_the_result(chat: Chat) -> None:
    await propose_three(chat)
    await chat.say("anim", "/cas ouvrir jusqu'à vendredi 18h")
    assert chat.refused is None
    assert chat.public() == [
        "Le vote pour le prochain cas est ouvert : chacun a 3 voix (/cas voter <n>, "
        "/cas retirer <n> pour en reprendre une). Cas en lice : 3.\n"
        "Clôture du vote : vendredi 4 décembre 2026 à 18:00.\n"
        "- n° 1 Déléguer la compta — alice — 0 voix\n"
        "- n° 2 Un salarié qui décroche — bob — 0 voix\n"
        "- n° 3 Parler argent — chloe — 0 voix"
    ]
    await chat.script("alice: /cas voter 2", "alice: /cas voter 2", "bob: /cas voter 1")
    await chat.script("chloe: /cas voter 2", "chloe: /cas retirer 2", "chloe: /cas voter 1")
    assert chat.private_to("chloe") == [
        "Voix comptée pour le cas n° 1 (Déléguer la compta) : 2 voix en tout. Il vous en reste 2."
    ]
    await chat.say("bob", "/cas")
    assert chat.private_to("bob")[0].endswith(
        "Vote ouvert : il vous reste 2 voix sur 3 (/cas voter <n>).\n"
        "Clôture du vote : vendredi 4 décembre 2026 à 18:00."
    )
    await chat.wait(hours=27, minutes=59)  # Friday 17:59 in Paris: still open
    assert chat.public() == []
    await chat.wait(minutes=1)
    assert chat.public() == [
        "Le vote pour le prochain cas est clos (3 votant·es). Résultat :\n"
        "- n° 1 Déléguer la compta — alice — 2 voix\n"
        "- n° 2 Un salarié qui décroche — bob — 2 voix\n"
        "En tête : le cas n° 1. L'animation le confirme avec /cas choisir."
    ]
    await chat.say("bob", "/cas voter 3")
    assert chat.refused == "cases.vote_closed"
    assert chat.text == "Le vote est clos : on ne peut plus voter pour l'instant."
    await chat.say("alice", "/cas retirer 2")
    assert chat.refused == "cases.vote_closed"
    # the same wake-up again (a restart, another instance): nothing is said twice
    assert await chat.core.wake(close_key(1), chat.clock.now()) == []
    await chat.core.start()
    assert await chat.wait(minutes=1) == []


async def test_a_facilitator_closes_before_the_time_and_the_clock_says_nothing(
    chat: Chat,
) -> None:
    await propose_three(chat)
    await chat.script("anim: /cas ouvrir 48h", "bob: /cas voter 3")
    await chat.say("anim", "/cas clore")
    assert chat.public() == [
        "Le vote pour le prochain cas est clos (1 votant·es). Résultat :\n"
        "- n° 3 Parler argent — chloe — 1 voix\n"
        "En tête : le cas n° 3. L'animation le confirme avec /cas choisir."
    ]
    await chat.say("anim", "/cas clore")
    assert chat.private_to("anim") == ["Le vote est déjà clos."]
    await chat.wait(hours=49)
    assert chat.public() == []
    await chat.say("anim", "/cas ouvrir")  # open again, until a facilitator closes it
    await chat.say("alice", "/cas voter 3")
    assert chat.refused is None
    await chat.wait(days=40)
    assert votes_said(chat) == []


async def test_closing_times_that_cannot_be_used_are_refused(chat: Chat) -> None:
    await propose_three(chat)
    await chat.say("anim", "/cas ouvrir jusqu'à hier 18h")
    assert chat.refused is not None
    await chat.say("anim", "/cas ouvrir 03/12/2026 10h")  # this morning
    assert chat.refused == "planning.past"
    await chat.say("anim", "/cas ouvrir 60j")
    assert chat.refused == "cases.closing_too_far"
    assert chat.text == "Clôture trop lointaine : 31 jours au plus."
    await chat.say("anim", "/cas ouvrir n'importe quand")
    assert chat.refused == "planning.unparseable"
    await chat.say("alice", "/cas ouvrir 48h")
    assert chat.refused == "permission.facilitator_only"
    # nothing changed: still open with no closing time
    await chat.say("bob", "/cas")
    assert "Clôture" not in chat.private_to("bob")[0]


async def test_a_stranger_cannot_vote_and_a_vote_not_given_cannot_be_taken_back(
    chat: Chat,
) -> None:
    await propose_three(chat)
    await chat.say("anim", "/cercle inscriptions fermees")
    assert chat.refused is None
    await chat.say("zoe", "/cas voter 1")
    assert chat.refused == "circle.roster_closed"
    await chat.say("bob", "/cas retirer 1")
    assert chat.refused == "cases.no_vote_here"
    await chat.say("bob", "/cas retirer 9")
    assert chat.refused == "cases.unknown"
    await chat.say("bob", "/cas")
    assert "- n° 1 Déléguer la compta — alice — 0 voix" in chat.private_to("bob")[0]


async def test_choosing_starts_a_new_round_without_the_old_closing_time(chat: Chat) -> None:
    await propose_three(chat)
    await chat.script("anim: /cas ouvrir 2j", "bob: /cas voter 1", "anim: /cas choisir")
    await chat.wait(days=3)
    assert votes_said(chat) == []  # the old round's closing time went with the choice
    await chat.say("bob", "/cas voter 2")
    assert chat.refused is None
