"""Interest marked on a platform's own event (Discord's "Interested") counts as an RSVP.

People who find a séance in Discord's events list click "Interested" rather than type
`/presence`; a facilitator counting who will come expects them among the "oui". So:

- **Interested records "oui"** (`RsvpAnswer.INTERESTED`, a yes that came from the event), the
  answer Discord's button means ("I plan to go"; Discord also reminds them when it starts).
  "peut-être" would hide them from the facilitator's count of who comes.
- **An answer given by command wins**: someone who said `/presence non` (or oui, peut-être) and
  then clicks Interested keeps their answer; `/presence` after Interested replaces it.
- **Removing Interested withdraws only what Interested gave**: an answer given by command stays.
- **Members only**: the events list is server-wide, so anyone on the server may click; a person
  who is not in the circle (or has left the cycle) is ignored. Joining a circle is done in its
  channel, where the roster's rules apply and the newcomer gets an answer; a click in the events
  list has no answer to carry a refusal or a welcome.
- **Planned séances only**, as `/presence`.
- **Once**: each platform event carries an id, recorded with the change like a command's, so a
  gateway replay changes nothing twice.
- **The RSVP message follows**: when a mark changes an answer, the live RSVP question (the day
  before's "Serez-vous là ?", bot/handlers/live.py) is rebuilt and comes back as an effect,
  through the outbox like a command's, so the count people see includes the click.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.commands.context import Context
from bot.domain.protocol import ProtocolBook
from bot.domain.refs import UserRef
from bot.domain.rsvp import Rsvp, RsvpAnswer
from bot.domain.seance import SeanceStatus
from bot.effects import Effect
from bot.handlers import live
from bot.outbox import record
from bot.ports import Translator, UnitOfWork


class InterestResult(StrEnum):
    """What a mark of interest did."""

    RECORDED = "recorded"  # a new "oui" from the event
    WITHDRAWN = "withdrawn"  # the "oui" it had given is gone
    KEPT = "kept"  # an answer given by command (or nothing to withdraw): unchanged
    IGNORED = "ignored"  # not a member, not a planned séance, not this séance's event
    DUPLICATE = "duplicate"  # this platform event was handled before


@dataclass(frozen=True, slots=True)
class InterestEvent:
    """A person marked (or unmarked) their interest in the platform event of a séance."""

    seance_id: int
    native_event_id: str  # the platform's event, as stored on the séance
    user: UserRef
    interested: bool  # False: they removed their interest
    event_id: str  # the platform's id for this change, handled once


@dataclass(frozen=True, slots=True)
class InterestOutcome:
    """What a mark of interest did, and what to send for it (recorded in the outbox)."""

    result: InterestResult
    effects: list[Effect] = field(default_factory=list)


CHANGED = (InterestResult.RECORDED, InterestResult.WITHDRAWN)


async def interest_effects(
    uow: UnitOfWork, change: InterestEvent, now: datetime, tr: Translator, protocols: ProtocolBook
) -> list[Effect]:
    """After a mark that changed an answer (in `uow`, under the circle's lock): the RSVP
    message rebuilt, if it was posted, recorded in the outbox in the same transaction."""
    seance = await uow.seances.get(change.seance_id)
    channel = await uow.seances.channel_of(change.seance_id)
    circle = await uow.circles.by_channel(channel) if channel is not None else None
    if seance is None or circle is None:
        return []
    ctx = Context.for_system(uow, circle, now, tr, protocols)
    await live.refresh_rsvp(ctx, seance)
    return await record(uow, ctx.effects, circle.home, circle.shard_key, now)


async def apply_interest(uow: UnitOfWork, change: InterestEvent, now: datetime) -> InterestResult:
    """Record `change` in `uow` (the caller holds the circle's lock and commits)."""
    if await uow.handled.seen(change.event_id):
        return InterestResult.DUPLICATE
    await uow.handled.add(change.event_id, now)
    seance = await uow.seances.get(change.seance_id)
    if seance is None or seance.native_event_id != change.native_event_id:
        return InterestResult.IGNORED
    if seance.status is not SeanceStatus.PLANNED:
        return InterestResult.IGNORED
    channel = await uow.seances.channel_of(seance.id)
    circle = await uow.circles.by_channel(channel) if channel is not None else None
    member = circle.member(change.user) if circle is not None else None
    if circle is None or member is None or not member.active:
        return InterestResult.IGNORED
    given = next((r for r in await uow.rsvps.for_seance(seance.id) if r.user == change.user), None)
    if change.interested:
        if given is not None:
            return InterestResult.KEPT
        await uow.rsvps.put(Rsvp(circle.id, seance.id, change.user, RsvpAnswer.INTERESTED, now))
        return InterestResult.RECORDED
    if given is None or given.answer is not RsvpAnswer.INTERESTED:
        return InterestResult.KEPT
    await _withdraw(uow, circle.id, seance.id, change.user)
    return InterestResult.WITHDRAWN


async def _withdraw(uow: UnitOfWork, circle_id: int, seance_id: int, user: UserRef) -> None:
    """Remove `user`'s answer for one séance, keeping their answers for the others (the
    repository deletes a person's answers circle-wide; the rest are put back in the same
    transaction)."""
    kept = [
        r
        for r in await uow.rsvps.for_circle(circle_id)
        if r.user == user and r.seance_id != seance_id
    ]
    await uow.rsvps.delete_for(circle_id, user)
    for rsvp in kept:
        await uow.rsvps.put(rsvp)
