"""Live messages on SQLite and PostgreSQL: which platform message shows a séance's RSVP question,
the reaction an RSVP came from, and the effects that carry answers, read back as stored."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.domain.live import LiveKind, LiveMessage
from bot.domain.refs import ChannelRef, UserRef
from bot.domain.rsvp import Rsvp, RsvpAnswer
from bot.effects import Answer, Effect, LiveView, Reply
from storage.database import Database
from tests.conversation import START, Chat

ROOM = ChannelRef("matrix", "!room:example.org")
ANA = UserRef("matrix", "@ana:example.org")


async def test_live_messages_and_the_event_an_answer_came_from(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.script(
        "anim: /cercle creer Cercle", "anim: /seance planifier 2026-12-10 14:00 | Déléguer"
    )
    async with any_db() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        [seance] = await uow.seances.summaries(circle.id)
        await uow.live.add(LiveMessage(circle.id, seance.id, LiveKind.RSVP, START))
        later = START + timedelta(days=7)
        await uow.live.add(LiveMessage(circle.id, seance.id, LiveKind.FOLLOW_UP, later))
        await uow.rsvps.put(
            Rsvp(circle.id, seance.id, ANA, RsvpAnswer.MAYBE, START, event_id="matrix:$r")
        )
        await uow.commit()
    async with any_db() as uow:
        assert await uow.live.find(circle.id, "$question") is None
        await uow.live.record(seance.id, LiveKind.RSVP, "$question")
        await uow.commit()
    async with any_db() as uow:
        found = await uow.live.find(circle.id, "$question")
        latest = await uow.live.latest(circle.id, LiveKind.FOLLOW_UP)
        rsvp = await uow.live.get(seance.id, LiveKind.RSVP)
        [answer] = await uow.rsvps.for_seance(seance.id)
        await uow.rsvps.delete(seance.id, ANA)
        left = await uow.rsvps.for_seance(seance.id)
        await uow.commit()
    assert found == LiveMessage(circle.id, seance.id, LiveKind.RSVP, START, "$question")
    assert found == rsvp
    assert latest is not None
    assert (latest.kind, latest.posted_at, latest.message_id) == (LiveKind.FOLLOW_UP, later, None)
    assert answer.event_id == "matrix:$r"
    assert left == []


async def test_effects_with_answers_come_back_from_the_outbox(any_db: Database) -> None:
    effects: list[Effect] = [
        LiveView(
            ROOM,
            "rsvp",
            3,
            1,
            "$question",
            "Serez-vous là ?",
            lang="en",
            answers=("yes", "maybe", "no"),
            mentions=(ANA,),
        ),
        LiveView(ROOM, "topic_vote", 3, 1, None, "Prolonger ?", answers=("yes", "no"), round=7),
        Reply(
            ROOM,
            "Rappel : votre action n° 2",
            to=ANA,
            private=True,
            confidential=True,
            answers=(Answer("action.fait", 2, "✅ Faite"), Answer("action.aide", 2, "🆘")),
        ),
    ]
    async with any_db() as uow:
        ids = await uow.outbox.add(effects, "matrix:@cercle:example.org", None, START)
        await uow.commit()
    async with any_db() as uow:
        waiting = await uow.outbox.waiting()
        await uow.commit()
    assert [w.effect for w in waiting] == [
        dataclasses.replace(e, outbox_id=i) for e, i in zip(effects, ids, strict=True)
    ]


async def test_a_topic_vote_message_starts_again_as_a_new_one(any_db: Database) -> None:
    chat = Chat(any_db)
    await chat.script("anim: /cercle creer Cercle", "anim: /seance")
    async with any_db() as uow:
        circle = await uow.circles.by_channel(chat.channel)
        assert circle is not None
        [seance] = await uow.seances.summaries(circle.id)
        await uow.live.replace(LiveMessage(circle.id, seance.id, LiveKind.TOPIC_VOTE, START))
        await uow.live.record(seance.id, LiveKind.TOPIC_VOTE, "$first")
        await uow.commit()
    later = START + timedelta(minutes=12)
    async with any_db() as uow:  # the next time up: the first vote's message is done with
        await uow.live.replace(LiveMessage(circle.id, seance.id, LiveKind.TOPIC_VOTE, later))
        await uow.commit()
    async with any_db() as uow:
        current = await uow.live.get(seance.id, LiveKind.TOPIC_VOTE)
        first = await uow.live.find(circle.id, "$first")
        await uow.commit()
    assert current == LiveMessage(circle.id, seance.id, LiveKind.TOPIC_VOTE, later)
    assert first is None
