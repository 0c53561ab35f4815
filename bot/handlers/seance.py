"""Steering a séance: open it, move through phases, pause, close with a recap, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.commands.context import Context
from bot.domain.protocol import PhaseMode, PhaseSpec
from bot.domain.refs import UserRef
from bot.domain.seance import Seance, SeanceStatus
from bot.errors import Refusal
from bot.handlers.followup import look_back
from bot.handlers.prepa import reveal as reveal_answers
from bot.handlers.report import note_drift
from bot.handlers.turns import announce
from bot.recaps.posting import draft_for_facilitators, publish
from bot.timing.schedule import sync_prompts
from bot.views.wording import phase_title

STILL_OPENABLE = timedelta(hours=12)  # how long after its planned time a séance may be opened

ADHOC_PHASES = {
    "suivante": None,
    "tour": PhaseSpec(key="tour", mode=PhaseMode.ROUND),
    "libre": PhaseSpec(key="libre", mode=PhaseMode.QUEUE),
    "unique": PhaseSpec(key="parole", mode=PhaseMode.SINGLE),
}


def next_protocol_phase(ctx: Context, seance: Seance) -> PhaseSpec | None:
    protocol = ctx.protocols.get(seance.protocol)
    if protocol is None or seance.next_protocol_phase >= len(protocol.phases):
        return None
    return protocol.phases[seance.next_protocol_phase]


def start_phase(
    ctx: Context,
    seance: Seance,
    spec: PhaseSpec,
    *,
    from_protocol: bool,
    speaker: UserRef | None = None,
) -> None:
    circle = ctx.require_circle()
    change = seance.start_phase(
        spec,
        ctx.now,
        circle.settings.queue_order,
        [m.user for m in circle.roster()],
        from_protocol=from_protocol,
        speaker=speaker,
    )
    phase = seance.phase
    assert phase is not None
    title = phase_title(ctx.tr, ctx.lang, spec.key, spec.title)
    how = ctx.t(f"mode.{spec.mode.value}.how")
    if spec.duration:
        duration = ctx.tr.duration_text(ctx.lang, spec.duration)
        ctx.say("phase.started_timed", title=title, how=how, duration=duration)
    else:
        ctx.say("phase.started", title=title, how=how)
    if spec.mode is PhaseMode.SINGLE and phase.speaker is None:
        ctx.say("phase.single_needs_speaker")
    if spec.mode is PhaseMode.ROUND and not seance.round_order:
        ctx.say("round.waiting_for_people")
    announce(ctx, change)


async def open_seance(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    if ctx.seance is not None and ctx.seance.is_open:
        raise Refusal("seance.already_open", number=ctx.seance.number)
    protocol = ctx.protocols.get(circle.settings.protocol)
    if protocol is None:
        raise Refusal("circle.unknown_protocol", name=circle.settings.protocol)
    # The planned séance of today (or still to come); one planned long ago that never took
    # place is not opened instead of an ad-hoc one.
    planned = [
        s
        for s in await ctx.uow.seances.for_circle(circle.id)
        if s.status is SeanceStatus.PLANNED
        and (s.planned_at is None or s.planned_at >= ctx.now - STILL_OPENABLE)
    ]
    if planned:
        seance = min(planned, key=lambda s: (s.planned_at or ctx.now, s.number))
    else:
        seance = Seance(
            id=0, circle_id=circle.id, number=circle.next_seance_number(), protocol=protocol.name
        )
        await ctx.uow.seances.add(seance)
    await open_given(ctx, seance, present=ctx.author)


async def open_given(ctx: Context, seance: Seance, present: UserRef | None) -> None:
    """Open this séance (planned or just created) and say how it will run."""
    circle = ctx.require_circle()
    used = ctx.protocols.get(seance.protocol) or ctx.protocols.get(circle.settings.protocol)
    if used is None:
        raise Refusal("circle.unknown_protocol", name=seance.protocol)
    seance.protocol = used.name
    seance.open(ctx.now)
    ctx.seance = seance
    if present is not None:
        seance.mark_present(present, circle.settings.queue_order, ctx.now)
    titles = " → ".join(phase_title(ctx.tr, ctx.lang, p.key, p.title) for p in used.phases)
    ctx.say("seance.opened", number=seance.number, circle=circle.name, phases=titles)
    await reveal_answers(ctx, seance)
    await sync_prompts(ctx, seance)


async def phase(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    which: str = args["which"]
    speaker: UserRef | None = args.get("speaker")
    if which == "suivante":
        spec = next_protocol_phase(ctx, seance)
        if spec is None:
            raise Refusal("phase.no_more")
        start_phase(ctx, seance, spec, from_protocol=True, speaker=speaker)
        if len(seance.phases) == 1:
            await look_back(ctx, seance)
        return
    spec = ADHOC_PHASES[which]
    assert spec is not None
    if spec.mode is PhaseMode.SINGLE and speaker is None and seance.case_owner is None:
        raise Refusal("phase.single_needs_speaker")
    if speaker is not None:
        _ensure_member(ctx, speaker)
    start_phase(ctx, seance, spec, from_protocol=False, speaker=speaker)


def _ensure_member(ctx: Context, user: UserRef) -> None:
    circle = ctx.require_circle()
    if user not in circle.members:
        raise Refusal("circle.not_a_member", name=user.id)


async def case_owner(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    user: UserRef = args["member"]
    _ensure_member(ctx, user)
    seance.case_owner = user
    ctx.say("seance.case_owner", name=ctx.name(user), mentions=(user,))
    current = seance.phase
    if current is not None and current.mode is PhaseMode.SINGLE and current.speaker is None:
        current.speaker = user
        announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))


async def pause(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    seance.pause(ctx.now)
    ctx.say("seance.paused")


async def resume(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    seance.resume(ctx.now)
    ctx.say("seance.resumed")
    announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))


async def close(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    await close_given(ctx, seance, "seance.closed")


async def close_given(ctx: Context, seance: Seance, key: str, **args: str) -> None:
    """Close the séance, say so with `key`, and post its recap (or, in approval mode, show the
    draft to the facilitators)."""
    circle = ctx.require_circle()
    seance.close(ctx.now, [m.user for m in circle.expected()])
    ctx.say_text(ctx.t(key, number=seance.number, **args))
    await sync_prompts(ctx, seance)
    if circle.settings.recap_approval:
        ctx.say("recap.awaiting_approval", number=seance.number)
        await draft_for_facilitators(ctx, seance)
    else:
        await publish(ctx, seance)
    await note_drift(ctx, await ctx.uow.seances.for_circle(circle.id))


async def cancel(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    number: int | None = args.get("number")
    if number is None:
        seance = ctx.require_open_seance()
    else:
        found = await ctx.uow.seances.by_number(circle.id, number)
        if found is None:
            raise Refusal("seance.unknown_number", number=number)
        seance = found
    seance.cancel()
    ctx.say("seance.cancelled", number=seance.number)
    await sync_prompts(ctx, seance)
