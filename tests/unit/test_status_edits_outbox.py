"""A séance's live status: its first posting and its closing wait in the outbox like any message;
its edits, which only show the séance's state again, do not (one row a floor command fewer), and
after a restart each open séance's status is shown once more, so a lost edit is made good."""

from __future__ import annotations

from bot.app import CercleCore
from bot.effects import StatusView
from tests.conversation import Chat, start_circle


def status_views(chat: Chat) -> list[StatusView]:
    return [e for e in chat.last if isinstance(e, StatusView)]


async def test_status_edits_are_not_kept_but_shown_again_after_a_restart(chat: Chat) -> None:
    await start_circle(chat, "alice", "bob")
    first = status_views(chat)[-1]
    assert first.message_id is None
    assert first.outbox_id is not None  # the first posting is kept until acknowledged
    seance_id = first.seance_id
    await chat.core.record_status_message(seance_id, "$status")

    await chat.say("alice", "/tour")
    (edit,) = status_views(chat)
    assert edit.message_id == "$status"
    assert edit.outbox_id is None  # an edit is not kept...
    assert all(e.outbox_id is not None for e in chat.last if e is not edit)  # ...the rest is

    # A crash before the edit was shown: a new process shows the status once more, at once.
    again = CercleCore(chat.core.uow_factory, chat.clock)
    await again.start()
    recovered = await again.outbox.recover("console")
    shown = [e for e in recovered if isinstance(e, StatusView)]
    assert len(shown) == 1
    assert shown[0].seance_id == seance_id
    assert shown[0].message_id == "$status"
    assert shown[0].text == edit.text
    assert await again.outbox.recover("console") == []  # handed over once

    await chat.say("anim", "/seance fin")
    (closing,) = status_views(chat)
    assert closing.closed
    assert closing.outbox_id is not None  # the closing is kept
