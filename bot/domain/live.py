"""Messages the bot keeps up to date in place, between séances.

The RSVP question of the day before shows the answers so far, the follow-up list after a séance
shows where each action stands: each is one message, posted once and then edited as things
change. A `LiveMessage` row names it within its circle by (séance, kind) and holds the
platform's id of the message once an adapter has posted it, like a séance's status message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LiveKind(StrEnum):
    """What a live message shows."""

    RSVP = "rsvp"  # "will you be there?" with the answers so far
    FOLLOW_UP = "follow_up"  # the actions still open after a séance, with their state
    TOPIC_VOTE = "topic_vote"  # a Lean Coffee topic's time is up: extend it? (the running vote)


@dataclass(slots=True)
class LiveMessage:
    """One live message of a séance; `message_id` is None until an adapter has posted it."""

    circle_id: int
    seance_id: int
    kind: LiveKind
    posted_at: datetime
    message_id: str | None = None
