"""A Lean Coffee séance: the proposed topics in vote order, each in a time box, a thumbs vote
to extend it, the facilitation moving on, and the recap listing the topics in order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import CercleCore
from bot.domain.circle import CircleSettings
from bot.domain.protocol import ProtocolBook, ProtocolError, protocol_from_mapping
from bot.domain.topics import Tally, Verdict, tally
from bot.timing.clock import ManualClock
from tests.conversation import START, Chat, user
from tests.fakes import MemoryDatabase


async def lean_coffee(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "anim: /cercle protocole leancoffee",
        "alice: /cas proposer Déléguer la compta",
        "bob: /cas proposer Un salarié qui décroche",
        "chloe: /cas proposer Parler argent",
        "alice: /cas voter 2",
        "chloe: /cas voter 2",
        "bob: /cas voter 3",
        "anim: /seance",
        "alice: /present",
        "bob: /present",
        "chloe: /present",
        "anim: /seance phase suivante",  # météo
    )


async def test_topics_come_in_vote_order_with_a_time_box_and_a_thumbs_vote(chat: Chat) -> None:
    await lean_coffee(chat)
    await chat.say("anim", "/seance phase suivante")  # the topics: most votes first
    assert chat.public() == [
        "« Météo » s'arrête avant la fin du tour. Sans prise de parole : alice, bob, chloe.",
        "Phase : Sujet n° 2 — Un salarié qui décroche (8 minutes). "
        "Demandez la parole avec /tour, rendez-la avec /fini.",
        "Sujet proposé par bob (2 voix) : bob l'introduit, puis /tour pour en parler.",
        "bob, vous avez la parole.",
    ]
    await chat.say("alice", "/prolonger oui")
    assert chat.refused == "topic.no_vote"
    await chat.say("alice", "/sujet")
    assert chat.private_to("alice") == [
        "Sujet en cours : Sujet n° 2 — Un salarié qui décroche (encore 8 min 00 s).\n"
        "Sujets à venir, par nombre de voix (2) :\n"
        "- n° 3 Parler argent — chloe — 1 voix\n"
        "- n° 1 Déléguer la compta — alice — 0 voix"
    ]
    await chat.wait(minutes=7, seconds=59)
    assert "écoulé" not in chat.text
    await chat.wait(seconds=1)
    assert chat.public() == []  # the vote is a message of its own, kept up to date
    (vote,) = chat.live("topic_vote")
    assert vote.text == (
        "Le temps de « Sujet n° 2 — Un salarié qui décroche » est écoulé. On continue "
        "4 min 00 s de plus ? Votez /prolonger oui ou /prolonger non : la majorité des "
        "présent·es décide.\n"
        "Pour l'instant : 👍 0 · 👎 0, sur 4 présent·es."
    )
    assert (vote.answers, vote.closed) == (("yes", "no"), False)
    await chat.say("alice", "/prolonger oui")
    assert chat.private_to("alice") == [
        "Vote noté (oui). Pour l'instant : 1 oui, 0 non, sur 4 présent·es."
    ]
    (counted,) = chat.live("topic_vote")
    assert counted.text.endswith("Pour l'instant : 👍 1 · 👎 0, sur 4 présent·es.")
    assert counted.key == vote.key  # the same message, edited
    assert (chat.status() or "").endswith(
        "Prolonger ce sujet ? 👍 1 · 👎 0 — /prolonger oui ou non"
    )
    await chat.say("alice", "/prolonger peut-etre")
    assert chat.refused == "args.bad_choice"
    await chat.say("bob", "/prolonger oui")
    assert chat.public() == []  # 2 out of 4 is not a majority
    await chat.say("chloe", "/prolonger oui")
    assert chat.public() == [
        "On prolonge « Sujet n° 2 — Un salarié qui décroche » de 4 min 00 s "
        "(3 oui sur 4 présent·es)."
    ]
    (decided,) = chat.live("topic_vote")  # no more answers offered on it
    assert (decided.key, decided.answers, decided.closed) == (vote.key, (), True)
    assert decided.text.endswith("👍 3 · 👎 0, sur 4 présent·es.\nLe vote est terminé.")
    await chat.say("chloe", "/prolonger non")
    assert chat.refused == "topic.no_vote"  # decided: the vote is over
    await chat.wait(minutes=3, seconds=59)
    assert not chat.live("topic_vote")
    await chat.wait(seconds=1)
    (again,) = chat.live("topic_vote")  # a new vote: a new message
    assert again.text.startswith("Le temps de « Sujet n° 2")
    assert again.key != vote.key
    assert again.answers == ("yes", "no")
    await chat.script("alice: /prolonger non", "bob: /prolonger non")  # 2 of 4: out of reach
    assert [v.closed for v in chat.live("topic_vote")] == [True]
    assert chat.public() == [
        "On arrête « Sujet n° 2 — Un salarié qui décroche » ici (2 non sur 4 présent·es).",
        "Phase : Sujet n° 3 — Parler argent (8 minutes). "
        "Demandez la parole avec /tour, rendez-la avec /fini.",
        "Sujet proposé par chloe (1 voix) : chloe l'introduit, puis /tour pour en parler.",
        "chloe, vous avez la parole.",
    ]
    await chat.say("bob", "/sujet suivant")
    assert chat.refused == "permission.facilitator_only"
    await chat.say("anim", "/sujet suivant")  # the facilitation moves on before the end
    assert chat.public()[0].startswith("Phase : Sujet n° 1 — Déléguer la compta (8 minutes).")
    await chat.say("anim", "/sujet suivant")
    assert chat.refused == "topic.none_left"
    await chat.say("anim", "/seance phase suivante")  # no topic left: the closing round
    assert chat.public()[0].startswith("Phase : Clôture (10 minutes).")
    await chat.say("anim", "/sujet suivant")
    assert chat.refused == "topic.not_in_topics"
    await chat.say("anim", "/seance fin")
    recap = chat.recaps()[-1]
    phases = recap.split("### Déroulé (prévu / réel)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(" : ")[0] for line in phases] == [
        "- Météo",
        "- Sujet n° 2 — Un salarié qui décroche",
        "- Sujet n° 3 — Parler argent",
        "- Sujet n° 1 — Déléguer la compta",
        "- Clôture",
    ]
    assert "- Sujet n° 2 — Un salarié qui décroche : 12 min 00 s / 12 min 00 s" in recap
    await chat.say("alice", "/cas")  # discussed topics leave the list of proposals
    assert "Déléguer" not in chat.text
    assert "Parler argent" not in chat.text


async def test_moving_on_during_a_vote_ends_it_and_its_answers(chat: Chat) -> None:
    await lean_coffee(chat)
    await chat.say("anim", "/seance phase suivante")  # topic n° 2
    await chat.wait(minutes=8)
    (vote,) = chat.live("topic_vote")
    await chat.say("alice", "/prolonger non")
    await chat.say("anim", "/sujet suivant")  # the facilitation moves on before it is decided
    (ended,) = chat.live("topic_vote")
    assert (ended.key, ended.answers, ended.closed) == (vote.key, (), True)
    assert ended.text.endswith("👍 0 · 👎 1, sur 4 présent·es.\nLe vote est terminé.")
    assert chat.public()[0].startswith("Phase : Sujet n° 3 — Parler argent")
    await chat.say("bob", "/prolonger oui")
    assert chat.refused == "topic.no_vote"
    await chat.say("anim", "/seance fin")  # no vote running: nothing to end
    assert not chat.live("topic_vote")


async def test_topics_proposed_during_the_seance_and_the_circle_setting(chat: Chat) -> None:
    await chat.script(
        "anim: /cercle creer Atelier",
        "anim: /cercle protocole leancoffee",
        "anim: /seance",
        "alice: /present",
        "anim: /seance phase suivante",  # météo
    )
    await chat.say("anim", "/cercle sujets 61")
    assert chat.refused == "topic.bad_minutes"
    await chat.say("anim", "/cercle sujets 5")
    assert chat.public() == ["Chaque sujet du Lean Coffee dure maintenant 5 min 00 s."]
    await chat.say("anim", "/seance phase suivante")  # nothing proposed yet
    assert chat.public()[0].endswith("Sans prise de parole : alice.")
    assert chat.public()[1].startswith("Phase : Sujets.")
    assert chat.public()[2].startswith("Aucun sujet proposé pour l'instant")
    await chat.say("alice", "/sujet")
    assert chat.private_to("alice") == [
        "Aucun sujet en attente. Proposez-en un avec /cas proposer <titre>."
    ]
    await chat.script("alice: /cas proposer Recruter sans budget", "anim: /sujet suivant")
    assert chat.public()[0] == (
        "Phase : Sujet n° 1 — Recruter sans budget (5 minutes). "
        "Demandez la parole avec /tour, rendez-la avec /fini."
    )
    await chat.wait(minutes=5)
    await chat.say("alice", "/prolonger non")  # alone with anim: 1 no of 2 is enough
    assert chat.public() == [
        "On arrête « Sujet n° 1 — Recruter sans budget » ici (1 non sur 2 présent·es).",
        "Tous les sujets proposés ont été abordés. Suite avec /seance phase suivante.",
    ]
    await chat.say("anim", "/seance phase suivante")
    assert chat.public()[0].startswith("Phase : Clôture")


async def test_lean_coffee_in_english(chat: Chat) -> None:
    await chat.script(
        "anim: /circle create Workshop",
        "anim: /circle language en",
        "anim: /circle protocol leancoffee",
        "alice: /case propose Hiring on no budget",
        "anim: /session",
        "alice: /here",
        "anim: /session phase next",
        "anim: /session phase next",
    )
    assert chat.public()[:3] == [
        '"Check-in" stops before the round is over. Did not get the floor: alice.',
        "Phase: Topic 1 — Hiring on no budget (8 minutes). "
        "Ask for the floor with /turn, hand it back with /done.",
        "Topic proposed by alice (0 votes): alice introduces it, then /turn to discuss it.",
    ]
    await chat.wait(minutes=8)
    assert (chat.live_text("topic_vote") or "").startswith(
        "Time is up for “Topic 1 — Hiring on no budget”."
    )
    await chat.say("alice", "/extend yes")
    assert chat.private_to("alice") == ["Vote noted (yes). So far: 1 yes, 0 no, out of 2 present."]
    await chat.say("anim", "/extend yes")
    assert chat.public() == [
        "“Topic 1 — Hiring on no budget” goes on for 4 min 00 s more (2 yes out of 2 present)."
    ]


async def test_the_check_in_running_out_opens_the_first_topic_by_itself(
    memory_db: MemoryDatabase,
) -> None:
    clock = ManualClock(START)
    defaults = CircleSettings(protocol="leancoffee", phase_auto_advance=True)
    chat = Chat(memory_db, clock=clock, core=CercleCore(memory_db, clock, defaults=defaults))
    await chat.script(
        "anim: /cercle creer Atelier",
        "alice: /cas proposer Recruter sans budget",
        "anim: /seance",
        "alice: /present",
        "anim: /seance phase suivante",  # météo, 10 minutes
    )
    await chat.wait(minutes=10)
    assert chat.public()[-4:] == [
        "Le temps prévu pour « Météo » est écoulé : on passe à la suite.",
        "Phase : Sujet n° 1 — Recruter sans budget (8 minutes). "
        "Demandez la parole avec /tour, rendez-la avec /fini.",
        "Sujet proposé par alice (0 voix) : alice l'introduit, puis /tour pour en parler.",
        "alice, vous avez la parole.",
    ]
    await chat.wait(minutes=8)  # the topic's end is a vote, never a move by itself
    (vote,) = chat.live("topic_vote")
    assert vote.text.startswith("Le temps de « Sujet n° 1 — Recruter sans budget »")
    assert not any(text.startswith("Phase :") for text in chat.public())


def test_a_protocol_says_where_topics_run_and_how_long() -> None:
    book = ProtocolBook()
    lean = book.get("leancoffee")
    assert lean is not None
    assert [(p.key, p.topics) for p in lean.phases] == [
        ("meteo", False),
        ("sujets", True),
        ("cloture", False),
    ]
    assert (lean.topic_minutes, lean.extend_minutes) == (timedelta(minutes=8), timedelta(minutes=4))
    with pytest.raises(ProtocolError, match="'topics' phase has the open floor"):
        protocol_from_mapping("x", {"phase": [{"key": "a", "mode": "round", "topics": True}]})
    with pytest.raises(ProtocolError, match="unknown key 'topic_minute'"):
        protocol_from_mapping("x", {"phase": [{"key": "a"}], "topic_minute": 5})


def test_a_strict_majority_of_those_present_extends() -> None:
    people = {user(n) for n in ("a", "b", "c", "d")}
    assert tally({user("a"): True, user("b"): True}, people).verdict is Verdict.OPEN
    assert tally({user("a"): True, user("b"): False}, people).verdict is Verdict.OPEN
    assert tally({u: True for u in list(people)[:3]}, people).verdict is Verdict.EXTEND
    assert tally({user("a"): False, user("b"): False}, people).verdict is Verdict.MOVE_ON
    gone = {user("z"): True, user("y"): True, user("x"): True}  # not present: not counted
    assert tally(gone, people) == Tally(0, 0, 4)
