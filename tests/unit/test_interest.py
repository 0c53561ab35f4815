""" "Interested" on a séance's platform event, through the core: a yes that an answer given by
command overrides, withdrawn alone, for planned séances and members only, once per event id."""

from __future__ import annotations

from bot.effects import LiveView
from bot.interest import InterestEvent, InterestOutcome, InterestResult
from tests.conversation import Chat, user
from tests.unit.test_between_seances import plan_circle
from tests.unit.test_live_messages import SEANCE_1, until

EVENT = "9001"


async def seance_ids(chat: Chat) -> dict[int, int]:
    """Séance number -> id, in the chat's circle."""
    async with chat.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        found = {s.number: s.id for s in await uow.seances.for_circle(circle.id)}
        await uow.commit()
    return found


async def marked(
    chat: Chat, seance_id: int, name: str, n: int, *, on: bool = True
) -> InterestOutcome:
    change = InterestEvent(seance_id, EVENT, user(name), on, f"test:{n}")
    return await chat.core.native_interest(change)


async def mark(chat: Chat, seance_id: int, name: str, n: int, *, on: bool = True) -> InterestResult:
    return (await marked(chat, seance_id, name, n, on=on)).result


async def test_interest_is_a_yes_and_its_withdrawal_keeps_other_answers(chat: Chat) -> None:
    await plan_circle(chat)
    await chat.say("anim", "/seance planifier 2026-12-17 14:00")
    ids = await seance_ids(chat)
    await chat.core.record_native_event(ids[1], EVENT)
    await chat.say("alice", "/presence non 2")  # an answer for another séance

    assert await mark(chat, ids[1], "alice", 1) is InterestResult.RECORDED
    await chat.say("alice", "/presence")
    assert "oui (« Intéressé·e » sur l'événement Discord)" in chat.private_to("alice")[0]
    await chat.say("anim", "/presence")
    assert "oui : 1 (alice (intéressé·e))" in chat.text

    assert await mark(chat, ids[1], "alice", 2, on=False) is InterestResult.WITHDRAWN
    await chat.say("alice", "/presence")
    assert "pas encore dit" in chat.private_to("alice")[0]
    async with chat.core.uow_factory() as uow:
        kept = await uow.rsvps.for_seance(ids[2])
        await uow.commit()
    assert [(r.user, r.answer.value) for r in kept] == [(user("alice"), "no")]  # séance 2's


async def test_a_command_answer_wins_and_a_replay_does_nothing(chat: Chat) -> None:
    await plan_circle(chat)
    ids = await seance_ids(chat)
    await chat.core.record_native_event(ids[1], EVENT)
    await chat.say("bob", "/presence peut-etre")
    assert await mark(chat, ids[1], "bob", 1) is InterestResult.KEPT
    assert await mark(chat, ids[1], "bob", 2, on=False) is InterestResult.KEPT
    await chat.say("bob", "/presence")
    assert "peut-être" in chat.private_to("bob")[0]

    assert await mark(chat, ids[1], "chloe", 3) is InterestResult.RECORDED
    assert await mark(chat, ids[1], "chloe", 3, on=False) is InterestResult.DUPLICATE
    await chat.say("chloe", "/presence")
    assert "Intéressé·e" in chat.private_to("chloe")[0]  # the replayed id changed nothing


async def test_only_members_and_the_seances_own_planned_event(chat: Chat) -> None:
    await plan_circle(chat)
    ids = await seance_ids(chat)
    await chat.core.record_native_event(ids[1], EVENT)
    assert await mark(chat, ids[1], "zoe", 1) is InterestResult.IGNORED  # not in the circle
    other = InterestEvent(ids[1], "another", user("alice"), True, "test:2")
    assert (await chat.core.native_interest(other)).result is InterestResult.IGNORED
    await chat.say("anim", "/seance annuler 1")
    assert await mark(chat, ids[1], "alice", 3) is InterestResult.IGNORED  # not planned now
    async with chat.core.uow_factory() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        assert circle.member(user("zoe")) is None
        assert await uow.rsvps.for_circle(circle.id) == []
        await uow.commit()


async def test_the_rsvp_message_counts_an_interested_mark(chat: Chat) -> None:
    await plan_circle(chat)
    ids = await seance_ids(chat)
    await chat.core.record_native_event(ids[1], EVENT)
    before = await marked(chat, ids[1], "bob", 1)
    assert (before.result, before.effects) == (InterestResult.RECORDED, [])  # no message yet
    await until(chat, SEANCE_1.replace(day=9))
    [posted] = chat.live("rsvp")
    assert posted.text.endswith("Réponses — oui : 1 (bob) · peut-être : 0 · non : 0")
    await chat.core.live.record("rsvp", posted.seance_id, "msg-1")

    outcome = await marked(chat, ids[1], "alice", 2)
    assert outcome.result is InterestResult.RECORDED
    [view] = outcome.effects
    assert isinstance(view, LiveView)
    assert (view.key, view.message_id) == (posted.key, "msg-1")  # an edit of that message
    assert view.text.endswith("Réponses — oui : 2 (alice, bob) · peut-être : 0 · non : 0")
    assert view.outbox_id is not None  # recorded: an edit lost in an outage is sent again

    withdrawn = await marked(chat, ids[1], "alice", 3, on=False)
    [view] = withdrawn.effects
    assert isinstance(view, LiveView)
    assert view.text.endswith("Réponses — oui : 1 (bob) · peut-être : 0 · non : 0")
    # nothing changed, nothing to send: a mark kept behind a command's answer, a stranger's
    await chat.say("chloe", "/presence non")
    assert (await marked(chat, ids[1], "chloe", 4)).effects == []
    assert (await marked(chat, ids[1], "zoe", 5)).effects == []
