"""Ticks in a native poll as votes on cases: one vote per ticked case, unticking takes it
back, the command still stacks, a full budget and a closed vote are explained to the person
alone, strangers and old polls are ignored."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.refs import ChannelRef
from bot.effects import PollEnd, PollPost, Reply
from bot.native_votes import PollVote
from tests.conversation import Chat, user

SALON = ChannelRef("console", "salon")


async def open_with_poll(chat: Chat) -> PollPost:
    await chat.script(
        "anim: /cercle creer Cercle ESS",
        "alice: /cas proposer Déléguer",
        "bob: /cas proposer Recruter",
        "chloe: /cas proposer Parler argent",
        "anim: /cercle voix 2",
        "anim: /cas ouvrir",
    )
    (poll,) = [e for e in chat.last if isinstance(e, PollPost)]
    await chat.core.record_poll(poll.circle_id, "poll-1")
    return poll


async def tick(chat: Chat, name: str, choices: Mapping[str, bool], **more: object) -> list[str]:
    vote = PollVote(
        SALON, user(name), str(more.get("poll", "poll-1")), choices, whole=bool(more.get("whole"))
    )
    effects = await chat.core.poll_vote(vote)
    return [
        e.text for e in effects if isinstance(e, Reply) and e.confidential and e.to == user(name)
    ]


async def votes(chat: Chat) -> list[str]:
    await chat.say("anim", "/cas")
    return [line for line in chat.private_to("anim")[0].split("\n") if line.startswith("- ")]


async def test_the_poll_lists_the_cases_and_ticks_count_once_each(chat: Chat) -> None:
    poll = await open_with_poll(chat)
    assert poll.answers == ((1, "n° 1 Déléguer"), (2, "n° 2 Recruter"), (3, "n° 3 Parler argent"))
    assert poll.max_selections == 2
    assert await tick(chat, "alice", {"1": True}) == []
    assert await tick(chat, "alice", {"1": True}) == []  # seen again: still one vote
    assert await tick(chat, "alice", {"3": True}) == []
    refused = await tick(chat, "alice", {"2": True})
    assert refused == [
        "Votre choix dans le sondage n'a pas compté pour le cas n° 2 : vous avez déjà utilisé "
        "vos 2 voix. Décochez un autre cas, ou reprenez une voix avec /cas retirer <n>."
    ]
    assert await tick(chat, "alice", {"3": False}) == []
    assert await votes(chat) == [
        "- n° 1 Déléguer — alice — 1 voix",
        "- n° 2 Recruter — bob — 0 voix",
        "- n° 3 Parler argent — chloe — 0 voix",
    ]


async def test_a_whole_selection_replaces_the_poll_votes_and_the_command_still_stacks(
    chat: Chat,
) -> None:
    await open_with_poll(chat)
    await chat.script("bob: /cas voter 2", "bob: /cas voter 2")
    assert await tick(chat, "bob", {"case-1": True}, whole=True) == []  # case 2 loses both
    assert await tick(chat, "bob", {"case-3": True, "case-1": True}, whole=True) == []
    assert await votes(chat) == [
        "- n° 1 Déléguer — alice — 1 voix",
        "- n° 3 Parler argent — chloe — 1 voix",
        "- n° 2 Recruter — bob — 0 voix",
    ]


async def test_strangers_old_polls_and_a_closed_vote(chat: Chat) -> None:
    await open_with_poll(chat)
    assert await tick(chat, "zoe", {"1": True}) == []  # not a member: ignored, not joined
    assert await tick(chat, "alice", {"1": True}, poll="poll-0") == []  # another poll
    await chat.say("anim", "/cas clore")
    ends = [e for e in chat.last if isinstance(e, PollEnd)]
    assert [e.poll_ref for e in ends] == ["poll-1"]
    assert await tick(chat, "alice", {"1": True}) == []  # the round's poll is gone with it
    await chat.say("anim", "/cercle membres")
    assert "zoe" not in chat.text
    assert all(line.endswith("— 0 voix") for line in await votes(chat))
