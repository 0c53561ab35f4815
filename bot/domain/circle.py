"""A circle: its channel, settings and roster."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.refs import ANONYMOUS, ChannelRef, UserRef
from bot.domain.roles import Role
from bot.partition import Partition

LANGUAGES = ("fr", "en")


class QueueOrder(StrEnum):
    """How the open floor's queue is ordered."""

    FAIR = "fair"  # who has spoken less in this séance first, ties by arrival
    ARRIVAL = "arrival"  # strictly by arrival


class RoundOrder(StrEnum):
    """Who speaks when in a round (check-in, closing): the order of the roster or shuffled."""

    ARRIVAL = "arrival"  # in the order people arrived in the séance
    FACILITATORS_LAST = "facilitators_last"  # participants first, the facilitation last
    SHUFFLED = "shuffled"  # a new random order each round


@dataclass(slots=True)
class Member:
    """A person in a circle's roster; `position` is their place in roster order."""

    user: UserRef
    display_name: str
    role: Role
    position: int
    joined_at: datetime
    left_at: datetime | None = None  # left the cycle: history kept, no longer expected
    link_generation: int = 0  # raised by /lien revoquer: older private links stop working
    direct_prompts: bool = True  # /prepa dm non: no preparation question by direct message

    @property
    def active(self) -> bool:
        return self.left_at is None


@dataclass(slots=True)
class CircleSettings:
    """What a facilitator can set for their circle."""

    language: str = "fr"
    timezone: str = "Europe/Paris"
    protocol: str = "meteo"
    queue_order: QueueOrder = QueueOrder.FAIR
    roster_open: bool = True
    round_auto_advance: bool = True  # a round turn that runs out gives the floor to the next
    phase_auto_advance: bool = False  # a phase that runs out moves to the next phase
    prep_days: int = 3  # preparation question this many days before (0: never)
    remind_day_before: bool = True  # reminder the day before
    remind_minutes: int = 15  # reminder this many minutes before (0: never)
    follow_up_days: int = 7  # open actions this many days after (0: never)
    auto_open: bool = False  # at the planned time, open the séance instead of telling
    close_grace_minutes: int = 60  # a séance still open this long after its end is closed
    recap_approval: bool = False  # recaps go to the facilitators first; /recap publier posts them
    retention_days: int = 365  # notes and check-in words are deleted after this (0: kept)
    prep_reminder: bool = False  # the day before, remind who has not answered the preparation
    action_reminder_days: int = 2  # remind an action's owner this many days before it is due
    case_votes: int = 3  # votes each member has to choose the next case
    case_voting_open: bool = True  # a facilitator closes the vote with /cas clore
    topic_minutes: int = 0  # a Lean Coffee topic's time box (0: the protocol's own)
    round_order: RoundOrder = RoundOrder.ARRIVAL
    nudge_minutes: int = 5  # a turn on the open floor this long gets a private nudge (0: never)
    link_days: int = 90  # how long a private link to the circle's page works (/lien)
    voice_channel: str | None = None  # the platform's voice or Stage channel that follows the floor
    voice_strict: bool = False  # in a voice channel: everyone but the speaker is server-muted


@dataclass(slots=True)
class Circle:
    """A peer circle bound to one channel; the aggregate for its roster and settings."""

    id: int
    name: str
    channel: ChannelRef
    created_at: datetime
    settings: CircleSettings = field(default_factory=CircleSettings)
    members: dict[UserRef, Member] = field(default_factory=dict)
    item_counter: int = 0
    seance_counter: int = 0
    anonymous_counter: int = 0  # people who asked to be forgotten become anon:1, anon:2, ...
    # Where the circle is reached from (see bot/partition.py): recorded from its commands.
    home: str | None = None
    shard_key: int | None = None

    def settle(self, home: str | None, shard_key: int | None) -> None:
        """Record the home a command came through, when the platform says it."""
        if home is not None and (home, shard_key) != (self.home, self.shard_key):
            self.home, self.shard_key = home, shard_key

    def owned_by(self, partition: Partition) -> bool:
        return partition.owns(self.home, self.shard_key, self.channel.platform)

    def member(self, user: UserRef) -> Member | None:
        return self.members.get(user)

    def add_member(self, user: UserRef, display_name: str, role: Role, now: datetime) -> Member:
        position = max((m.position for m in self.members.values()), default=0) + 1
        member = Member(user, display_name or user.id, role, position, now)
        self.members[user] = member
        return member

    def roster(self) -> list[Member]:
        return sorted(self.members.values(), key=lambda m: m.position)

    def expected(self) -> list[Member]:
        """The participants a séance expects: not facilitators, not people who left the cycle."""
        return [m for m in self.roster() if m.role is Role.PARTICIPANT and m.active]

    def facilitators(self) -> list[Member]:
        return [m for m in self.roster() if m.role is Role.FACILITATOR]

    def name_of(self, user: UserRef) -> str:
        """The display name of a member; for someone no longer in the roster, their id.

        People who asked to be forgotten are `anon:N`: where the words matter (recaps, the
        cycle report), `bot.views.wording.person_name`
        says "Anonymous N" in the circle's language."""
        member = self.members.get(user)
        return member.display_name if member else user.id

    def next_item_number(self) -> int:
        self.item_counter += 1
        return self.item_counter

    def next_anonymous(self) -> UserRef:
        self.anonymous_counter += 1
        return UserRef(ANONYMOUS, str(self.anonymous_counter))

    def next_seance_number(self) -> int:
        self.seance_counter += 1
        return self.seance_counter
